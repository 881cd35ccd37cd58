"""Harden benchmark: budget B over an N-scenario set (greedy with lazy evaluation), out-of-sample check and
baselines, with the time of each stage; ``--milp`` also solves the exact sample-average MILP (small cases).

Run::

    python benchmarks/bench_harden.py --case case2869pegase --k 10 --n 100000 --budget 10
    python benchmarks/bench_harden.py --case case30 --k 3 --n 300 --budget 3 --milp
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _common import machine

import svitlo
from svitlo.analyses.harden.baselines import baseline_scores, pick
from svitlo.analyses.harden.greedy import greedy_plan
from svitlo.analyses.harden.objective import objective
from svitlo.analyses.harden.scenario_set import draw_set, values_with
from svitlo.analyses.sweep.evaluate import make_context


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="case2869pegase")
    ap.add_argument("--k", type=int, default=10, help="random branches per strike")
    ap.add_argument("--n", type=int, default=100_000, help="in-sample scenarios")
    ap.add_argument("--n-oos", type=int, default=None)
    ap.add_argument("--budget", type=float, default=10)
    ap.add_argument("--objective", default="expected", choices=["expected", "cvar95", "worst"])
    ap.add_argument("--milp", action="store_true")
    a = ap.parse_args(argv)
    print(f"machine: {machine()}")
    sc = svitlo.parse_scenario({"grid": a.case, "seed": 1, "strikes": [{"random": {"k": a.k}}]})
    t0 = time.perf_counter()
    ctx = make_context(sc)
    ss = draw_set(ctx, n=a.n, root_seed=1, metric="shed_mw")
    t_draw = time.perf_counter() - t0
    t0 = time.perf_counter()
    g = greedy_plan(ctx, ss, budget=a.budget, objective=a.objective)
    t_greedy = time.perf_counter() - t0
    total_rows = int(ss.member.sum())
    print(f"{a.case}: {a.n:,} scenarios of {a.k} random branches drawn and evaluated in {t_draw:.1f} s; "
          f"greedy B={a.budget:g} ({a.objective}) in {t_greedy:.1f} s, {g.evaluated:,} rows re-evaluated "
          f"(a full greedy step alone re-evaluates {total_rows:,}); in sample {g.before:.3f} -> {g.after:.3f} MW")
    print(f"total {t_draw + t_greedy:.1f} s, peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB")
    n_oos = a.n_oos or min(a.n, 20_000)
    t0 = time.perf_counter()
    oos = draw_set(ctx, n=n_oos, root_seed=1, metric="shed_mw", start=a.n)
    pos = {x: j for j, x in enumerate(oos.assets.ids)}

    def after(ids):
        return objective(values_with(ctx, oos, [pos[x] for x in ids if x in pos]), a.objective)

    plan = [str(ss.assets.ids[j]) for j in g.chosen]
    print(f"out of sample ({n_oos:,} fresh seeds): before {objective(oos.base, a.objective):.3f}, after "
          f"{after(plan):.3f} MW ({time.perf_counter() - t0:.1f} s)")
    for name, s in baseline_scores(ctx, ss).items():
        print(f"  baseline {name:14s} after {after([str(ss.assets.ids[j]) for j in pick(s, budget=a.budget)]):.3f}")
    if a.milp:
        from svitlo.analyses.harden.exact import milp_plan

        t0 = time.perf_counter()
        m = milp_plan(ctx, ss, budget=a.budget, objective=a.objective)
        print(f"exact SAA MILP: {m.value:.3f} MW ({m.status}, {m.outcomes:,} outcomes) in "
              f"{time.perf_counter() - t0:.1f} s; greedy gap {(g.after - m.value) / max(m.value, 1e-9):.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
