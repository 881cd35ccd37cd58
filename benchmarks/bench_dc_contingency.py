"""DC contingency screening, side by side in one process: a pandapower ``rundcpp`` loop, lightsim2grid's
``ContingencyAnalysisCPP`` in DC, and svitlo's batched engine — on the same scenarios.

Scenarios: k = 1 is the full N-1 of every in-service branch; k > 1 draws ``--n`` sets of k distinct random
branches (seeded). Islands are handled (svitlo solves every island with its own balance dispatch; pandapower
gets the same dispatch and one slack per energised island; lightsim2grid solves the largest component).

Checks: every pandapower-sampled scenario's flows equal svitlo's within 1e-6 MW on every branch pandapower
solves; lightsim2grid's flows equal svitlo's on the scenarios that keep the grid in one piece (where both use
the same injections).

Run::

    python benchmarks/bench_dc_contingency.py --case case2869pegase --k 10 --n 20000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from _common import branch_scenarios, lightsim2grid_contingencies, load_case, machine, pandapower_loop

from svitlo.engine.batch import evaluate_batch, outages_from_indices
from svitlo.engine.batch.factor import branch_rows, factorise

TOL_MW = 1e-6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="case2869pegase")
    ap.add_argument("--k", type=int, default=10, help="branches out per scenario (1 = full N-1)")
    ap.add_argument("--n", type=int, default=20000, help="scenarios for k > 1")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pp-sample", type=int, default=40, help="scenarios run through pandapower (0 = skip)")
    ap.add_argument("--ls-sample", type=int, default=2000, help="scenarios run through lightsim2grid (0 = skip)")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--repeat", type=int, default=3, help="svitlo timing: best of this many runs")
    a = ap.parse_args(argv)

    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    _grid, net, cg = load_case(a.case)
    print(f"{a.case}: {cg.n_bus} buses, {cg.n_branch} branches; loaded in {time.perf_counter() - t0:.2f} s")
    sets, out = branch_scenarios(cg, a.k, a.n, a.seed)
    n = out.n_scenarios
    dtype = np.float32 if a.dtype == "float32" else np.float64

    # ---- svitlo ---------------------------------------------------------------------------------------
    evaluate_batch(cg, outages_from_indices(branches=sets[:4]), dtype=dtype)  # JIT warm-up (cached on disk)
    from svitlo.engine.batch import factor as _f

    _f._CACHE.clear()
    t0 = time.perf_counter()
    fac = factorise(cg, dtype=dtype)
    if out.branch_idx.size > 2 * cg.n_branch:  # evaluate_batch then uses per-branch images: count their cost
        branch_rows(cg, fac)
    t_fac = time.perf_counter() - t0
    best = np.inf
    for _ in range(max(1, a.repeat)):
        t0 = time.perf_counter()
        res = evaluate_batch(cg, out, dtype=dtype)
        best = min(best, time.perf_counter() - t0)
    sv_rate = n / best
    split = float(np.mean(res.islands > 1))
    print(f"scenarios: {n} (k={a.k}), {100 * split:.0f} % split the grid; exact-path scenarios: {int(res.exact.sum())}")
    print(f"svitlo batched ({a.dtype}): factorise (and per-branch images) {t_fac:.2f} s, {n} scenarios in {best:.3f} s -> "
          f"{sv_rate:,.0f} scenarios/s ({n / (best + t_fac):,.0f}/s including factorisation)")

    rng = np.random.default_rng(a.seed + 1)
    # ---- pandapower -------------------------------------------------------------------------------------
    pp_rate = None
    if a.pp_sample > 0:
        sample = np.sort(rng.choice(n, min(a.pp_sample, n), replace=False))
        per, pp_flows = pandapower_loop(net, cg, sets, sample)
        pp_rate = 1.0 / per
        chk = evaluate_batch(cg, outages_from_indices(branches=[sets[s] for s in sample]), return_flows=True,
                             dtype=dtype)
        worst, unsolved = 0.0, 0
        for j, f in enumerate(pp_flows):
            ok = np.isfinite(f)
            worst = max(worst, float(np.max(np.abs(chk.flows_mw[j][ok] - f[ok]), initial=0.0)))
            unsolved += int(np.sum(~ok & (np.abs(chk.flows_mw[j]) > TOL_MW)))
        print(f"pandapower rundcpp loop: {len(sample)} sampled scenarios, {per * 1e3:.1f} ms each -> "
              f"{pp_rate:,.1f} scenarios/s; max |flow difference| vs svitlo {worst:.2e} MW "
              f"({'OK' if worst <= TOL_MW else 'MISMATCH'}); branches pandapower left unsolved with svitlo "
              f"flow != 0: {unsolved}")
    # ---- lightsim2grid ----------------------------------------------------------------------------------
    ls_rate = None
    if a.ls_sample > 0:
        m = min(a.ls_sample, n)
        idx = np.arange(n) if m == n else np.sort(rng.choice(n, m, replace=False))
        sub = [sets[s] for s in idx]
        intact = evaluate_batch(cg, outages_from_indices(branches=[[]]))  # noqa: F841 - warm
        from svitlo.engine.damage import damage_from_indices
        from svitlo.engine.state import evaluate_state

        gen0 = evaluate_state(cg, damage_from_indices(cg)).gen_p_mw
        try:
            el, ls_flows = lightsim2grid_contingencies(net, cg, sub, gen0)
        except Exception as exc:  # noqa: BLE001 - report any failure of the other library, never hide it
            print(f"lightsim2grid: failed ({type(exc).__name__}: {exc})")
        else:
            ls_rate = m / el
            chk = evaluate_batch(cg, outages_from_indices(branches=sub), return_flows=True, dtype=dtype)
            one = chk.islands == 1
            diff = np.abs(chk.flows_mw[one] - np.nan_to_num(ls_flows[one])) if one.any() else np.zeros(1)
            print(f"lightsim2grid ContingencyAnalysisCPP (DC): {m} scenarios in {el:.2f} s -> {ls_rate:,.0f} "
                  f"scenarios/s; max |flow difference| vs svitlo on {int(one.sum())} unsplit scenarios "
                  f"{diff.max():.2e} MW ({'OK' if diff.max() <= TOL_MW else 'MISMATCH'})")
    # ---- summary ------------------------------------------------------------------------------------------
    print("summary (scenarios/s):")
    print(f"  svitlo        {sv_rate:12,.0f}")
    if pp_rate:
        print(f"  pandapower    {pp_rate:12,.1f}   svitlo / pandapower    = {sv_rate / pp_rate:,.0f}x")
    if ls_rate:
        print(f"  lightsim2grid {ls_rate:12,.0f}   svitlo / lightsim2grid = {sv_rate / ls_rate:,.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
