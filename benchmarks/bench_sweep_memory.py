"""Peak memory of a batched sweep on case9241pegase: the compiled grid, the factorisation (dense inverse of
the reduced susceptance matrix, images) and metric evaluation of many k-branch strikes in chunks.

Each dtype runs in a fresh subprocess so that its peak resident set size is its own.

Run::

    python benchmarks/bench_sweep_memory.py --n 200000 --k 10
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path


def _child(case: str, n: int, k: int, chunk: int, dtype_name: str) -> dict:
    import numpy as np

    sys.path.insert(0, str(Path(__file__).parent))
    from _common import branch_scenarios, load_case

    from svitlo.engine.batch import evaluate_batch, outages_from_indices
    from svitlo.engine.batch.factor import branch_rows, factorise

    def rss_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0

    dtype = np.float32 if dtype_name == "float32" else np.float64
    out = {"dtype": dtype_name, "start_mb": rss_mb()}
    _grid, _net, cg = load_case(case)
    out["grid_mb"] = rss_mb()
    t0 = time.perf_counter()
    fac = factorise(cg, dtype=dtype)
    out["factorise_s"] = time.perf_counter() - t0
    out["factor_mb"] = rss_mb()
    out["dense_inverse_mb"] = fac.Z.nbytes / 2**20
    t0 = time.perf_counter()
    done, shed = 0, 0.0
    rng_seed = 0
    while done < n:
        m = min(chunk, n - done)
        sets, _ = branch_scenarios(cg, k, m, rng_seed)
        rng_seed += 1
        r = evaluate_batch(cg, outages_from_indices(branches=sets), dtype=dtype)
        shed += float(r.shed_mw.sum())
        done += m
    out["sweep_s"] = time.perf_counter() - t0
    rows = branch_rows(cg, fac)  # built (and cached) by the first large chunk
    out["branch_images_mb"] = 0.0 if rows is None else rows.nbytes / 2**20
    out["scenarios"] = n
    out["peak_mb"] = rss_mb()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="case9241pegase")
    ap.add_argument("--n", type=int, default=200000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--chunk", type=int, default=20000)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child:
        print(json.dumps(_child(a.case, a.n, a.k, a.chunk, a.child)))
        return 0
    for dt in ("float64", "float32"):
        p = subprocess.run([sys.executable, __file__, "--case", a.case, "--n", str(a.n), "--k", str(a.k),
                            "--chunk", str(a.chunk), "--child", dt], capture_output=True, text=True, check=True)
        r = json.loads(p.stdout.strip().splitlines()[-1])
        print(f"{a.case} {dt}: peak RSS {r['peak_mb']:,.0f} MB (grid loaded {r['grid_mb']:,.0f} MB, after "
              f"factorisation {r['factor_mb']:,.0f} MB: dense inverse {r['dense_inverse_mb']:,.0f} MB, branch "
              f"images {r['branch_images_mb']:,.0f} MB); factorise {r['factorise_s']:.2f} s; {r['scenarios']:,} "
              f"k={a.k} scenarios in {r['sweep_s']:.1f} s ({r['scenarios'] / r['sweep_s']:,.0f}/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
