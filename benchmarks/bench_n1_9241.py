"""Full N-1 DC contingency screening of every in-service branch of case9241pegase (balance mode, islands
handled): svitlo's batched engine, timed from the compiled grid (factorisation included), optionally side by
side with lightsim2grid's ``ContingencyAnalysisCPP`` in DC on the same contingencies and a pandapower sample.

Run::

    python benchmarks/bench_n1_9241.py            # svitlo only
    python benchmarks/bench_n1_9241.py --ls --pp 5
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
from svitlo.engine.batch import factor as _factor
from svitlo.engine.damage import damage_from_indices
from svitlo.engine.state import evaluate_state


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="case9241pegase")
    ap.add_argument("--dtype", choices=["float64", "float32"], default="float64")
    ap.add_argument("--ls", action="store_true", help="also run lightsim2grid's full N-1 (tens of seconds)")
    ap.add_argument("--pp", type=int, default=0, help="pandapower rundcpp on this many sampled contingencies")
    a = ap.parse_args(argv)
    dtype = np.float32 if a.dtype == "float32" else np.float64
    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    _grid, net, cg = load_case(a.case)
    t_load = time.perf_counter() - t0
    sets, out = branch_scenarios(cg, 1, 0, 0)
    evaluate_batch(cg, outages_from_indices(branches=sets[:2]), dtype=dtype)  # JIT warm-up (cached on disk)
    _factor._CACHE.clear()
    t0 = time.perf_counter()
    _factor.factorise(cg, dtype=dtype)
    t_fac = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = evaluate_batch(cg, out, dtype=dtype, return_loads=False)
    t_run = time.perf_counter() - t0
    print(f"{a.case}: {cg.n_bus} buses, {cg.n_branch} branches (case loaded and compiled in {t_load:.2f} s)")
    print(f"svitlo N-1 DC ({a.dtype}): {out.n_scenarios} contingencies, {100 * np.mean(res.islands > 1):.1f} % "
          f"split the grid, exact-path {int(res.exact.sum())}; factorise {t_fac:.2f} s + solve {t_run:.2f} s = "
          f"{t_fac + t_run:.2f} s ({out.n_scenarios / t_run:,.0f} contingencies/s); worst max loading "
          f"{res.max_loading_percent.max():.0f} %, contingencies with overloads "
          f"{int(np.sum(res.overloaded_branches > 0))}")
    if a.pp:
        rng = np.random.default_rng(1)
        sample = np.sort(rng.choice(out.n_scenarios, a.pp, replace=False))
        per, pp_flows = pandapower_loop(net, cg, sets, sample)
        chk = evaluate_batch(cg, outages_from_indices(branches=[sets[s] for s in sample]), return_flows=True)
        worst = max(float(np.max(np.abs(chk.flows_mw[j][np.isfinite(f)] - f[np.isfinite(f)]), initial=0.0))
                    for j, f in enumerate(pp_flows))
        print(f"pandapower rundcpp loop: {per:.3f} s per contingency -> full N-1 ~{per * out.n_scenarios:,.0f} s; "
              f"max |flow difference| vs svitlo {worst:.2e} MW")
    if a.ls:
        gen0 = evaluate_state(cg, damage_from_indices(cg)).gen_p_mw
        el, ls_flows = lightsim2grid_contingencies(net, cg, sets, gen0)
        chk = evaluate_batch(cg, out, return_flows=True, dtype=dtype)
        one = chk.islands == 1
        diff = float(np.max(np.abs(chk.flows_mw[one] - np.nan_to_num(ls_flows[one])), initial=0.0))
        print(f"lightsim2grid ContingencyAnalysisCPP (DC) full N-1: {el:.1f} s; max |flow difference| vs svitlo "
              f"on {int(one.sum())} unsplit contingencies {diff:.2e} MW; svitlo is {el / (t_fac + t_run):.0f}x "
              f"faster (factorisation included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
