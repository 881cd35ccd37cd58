"""Scenarios per second of ``opf`` mode, the reference path against the fast path, on one grid with k random
branch outages per scenario, in one run (with the machine's load average).

* reference: :func:`svitlo.engine.batch.exact.exact_scenario` (``evaluate_state(mode="opf")`` →
  :func:`svitlo.engine.opf.opf_dispatch`, the path every opf scenario took before the fast path);
* fast: :func:`svitlo.engine.batch.opf_batch.opf_scenario` (:mod:`svitlo.engine.opf_fast`, reference where it
  does not apply), as ``evaluate_batch(mode="opf")`` and so ``svitlo sweep`` with ``mode: opf`` run it, with its
  time split by how each state was solved (balance bound, shed stages, reference);
* balance: the same scenarios on the exact ``balance`` path, for scale.

Both opf paths get the same scenarios; shed per scenario is compared. BLAS runs one thread per process unless
``--blas-threads=N`` (set before numpy loads: a sweep runs one single-threaded process per core; OpenBLAS
threads that spin between the small products of the fast path take the core HiGHS needs). Run::

    python benchmarks/bench_opf.py --case case2869pegase --k 10 --n 60 --n-ref 15
"""

from __future__ import annotations

import os
import sys

_BLAS = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--blas-threads=")), "1")
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, _BLAS)

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import svitlo  # noqa: E402
from svitlo.engine.batch import outages_from_ids  # noqa: E402
from svitlo.engine.batch.exact import exact_scenario  # noqa: E402
from svitlo.engine.batch.opf_batch import opf_scenario  # noqa: E402
from svitlo.engine.opf_fast import fast_opf  # noqa: E402
from svitlo.model.tiers import default_tier_weights  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="case2869pegase")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--n-ref", type=int, default=None, help="scenarios for the reference path (default n)")
    ap.add_argument("--seed", type=int, default=2869)
    ap.add_argument("--tiers", action="store_true", help="random tiers 1-4 on the loads")
    ap.add_argument("--blas-threads", default="1", help="BLAS threads (give as --blas-threads=N; default 1)")
    a = ap.parse_args()
    cg = svitlo.compile_grid(svitlo.load_grid(a.case))
    rng = np.random.default_rng(a.seed)
    if a.tiers:
        import dataclasses

        cg = dataclasses.replace(cg, load_tier=rng.integers(1, 5, cg.n_load))
    pool = cg.branch_ids[cg.br_in_service]
    out = outages_from_ids(cg, [[str(b) for b in rng.choice(pool, a.k, replace=False)] for _ in range(a.n)])
    opts = {"tier_weights": default_tier_weights()}
    n_ref = min(a.n, a.n_ref or a.n)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    fo = fast_opf(cg, opts)  # built once per grid and thread (the intact state seeds the monitored set)
    t_build = time.perf_counter() - t0
    exact_scenario(cg, out, 0, mode="opf", options=opts)  # warm-up (imports)
    times: dict[str, float] = {}
    shed: dict[str, np.ndarray] = {}
    kinds: dict[str, list[float]] = {}

    def fast(s: int):
        t = time.perf_counter()
        r = opf_scenario(cg, out, s, options=opts)
        kinds.setdefault(fo.last or "reference", []).append(time.perf_counter() - t)
        return r

    runs = {
        "opf reference": (n_ref, lambda s: exact_scenario(cg, out, s, mode="opf", options=opts)),
        "opf fast": (a.n, fast),
        "balance (exact path)": (a.n, lambda s: exact_scenario(cg, out, s)),
    }
    for name, (n, f) in runs.items():
        sh = np.empty(n)
        t = time.perf_counter()
        for s in range(n):
            sh[s] = f(s)["shed_mw"]
        times[name] = (time.perf_counter() - t) / n
        shed[name] = sh
    load1 = os.getloadavg()[0]
    print(f"{a.case}: {a.n} scenarios of {a.k} random branch outages; load average {load0:.1f} -> {load1:.1f} "
          f"on {os.cpu_count()} cores; BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"fast path set-up (once per grid and thread): {t_build:.2f} s; monitored branches now "
          f"{int(fo.watch.sum())}; rounds {fo.rounds}")
    print(f"{'path':<22} {'scenarios':>9} {'ms/scen':>9} {'scen/s':>8} {'mean shed MW':>13}")
    for name, t in times.items():
        print(f"{name:<22} {shed[name].size:9d} {1e3 * t:9.1f} {1 / t:8.1f} {shed[name].mean():13.2f}")
    for kind, ts in kinds.items():
        v = 1e3 * np.asarray(ts)
        print(f"  fast, {kind:<14} {v.size:9d} {v.mean():9.1f} {1e3 / v.mean():8.1f}   (median {np.median(v):.1f} ms, "
              f"max {v.max():.1f} ms, {v.sum() / 1e3:.2f} s of {times['opf fast'] * a.n:.2f} s)")
    d = np.abs(shed["opf fast"][:n_ref] - shed["opf reference"])
    print(f"fast / reference speed-up: {times['opf reference'] / times['opf fast']:.1f}x; "
          f"max |shed fast - shed reference| = {d.max():.2e} MW over {n_ref} scenarios")


if __name__ == "__main__":
    main()
