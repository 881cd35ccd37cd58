"""Harden benchmark: budget B over an N-scenario set (greedy with lazy evaluation), out-of-sample check and
baselines, with the time of each stage; ``--milp`` also solves the exact sample-average MILP (small cases).

Run::

    python benchmarks/bench_harden.py --case case2869pegase --k 10 --n 100000 --budget 10
    python benchmarks/bench_harden.py --case case30 --k 3 --n 300 --budget 3 --milp
    python benchmarks/bench_harden.py --dad case30,case57 --dad-k 2,3 --dad-budget 1,2,3

``--dad`` runs the defender–attacker–defender plan (worst ``k``-attack over every set of branches) on the
listed cases against brute force over every plan and every attack (skipped beyond ``--brute-limit``
plan × attack pairs), with the time to optimum.
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
    ap.add_argument("--dad", default=None, help="cases for the defender-attacker-defender part, comma-separated")
    ap.add_argument("--dad-k", default="2,3")
    ap.add_argument("--dad-budget", default="1,2,3")
    ap.add_argument("--brute-limit", type=float, default=5e8)
    a = ap.parse_args(argv)
    print(f"machine: {machine()}")
    if a.dad:
        return part_dad(a)
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


def part_dad(a) -> int:
    import itertools
    import math

    import numpy as np

    from svitlo.analyses.harden.dad import dad_plan
    from svitlo.analyses.rank.sets import candidates, evaluate_sets

    for case in a.dad.split(","):
        ctx = make_context(svitlo.parse_scenario({"grid": case}))
        cand = candidates(ctx, ["line", "trafo"])
        for k in map(int, a.dad_k.split(",")):
            v = hit = attacks = None
            for b in map(int, a.dad_budget.split(",")):
                r = dad_plan(ctx, cand, k=k, budget=b)
                line = (f"{case} k={k} B={b}: {r.before:,.1f} -> {r.value:,.1f} MW ({r.status}) in {r.seconds:.2f} s "
                        f"({r.iterations} attacks, oracle {r.oracle_seconds:.2f} s), protect "
                        f"{[str(cand.ids[j]) for j in r.chosen]}")
                pairs = math.comb(cand.n, k) * math.comb(cand.n, b)
                if pairs > a.brute_limit:
                    print(line + f"; brute force skipped ({pairs:,.0f} plan x attack pairs)")
                    continue
                t0 = time.perf_counter()
                if v is None:
                    attacks = np.array(list(itertools.combinations(range(cand.n), k)))
                    v = evaluate_sets(ctx, cand, attacks)["shed_mw"]
                    hit = np.zeros((len(attacks), cand.n), bool)
                    hit[np.repeat(np.arange(len(attacks)), k), attacks.ravel()] = True
                best = min(float(v[~hit[:, list(p)].any(axis=1)].max())
                           for p in itertools.combinations(range(cand.n), b))
                print(line + f"; brute force {best:,.1f} MW in {time.perf_counter() - t0:.1f} s "
                      f"({math.comb(cand.n, b):,} plans x {len(attacks):,} attacks): "
                      f"{'equal' if abs(best - r.value) <= 1e-6 else 'DIFFERENT'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
