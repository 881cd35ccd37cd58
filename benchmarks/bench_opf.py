"""Time per scenario of ``opf`` vs ``balance`` on case2869pegase, k random branch outages per scenario.

Each scenario is evaluated in both modes on the same compiled grid (islands → dispatch/shedding → DC flows);
``opf`` is also timed without its cost stage (stage 1 only: minimum priority-weighted shed). Prints a table and
the ratio. Run::

    python benchmarks/bench_opf.py --case case2869pegase --k 10 --n 40
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import svitlo
from svitlo.engine.damage import apply_damage
from svitlo.engine.state import evaluate_state
from svitlo.model.tiers import default_tier_weights


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", default="case2869pegase")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seed", type=int, default=2869)
    a = ap.parse_args()
    cg = svitlo.compile_grid(svitlo.load_grid(a.case))
    rng = np.random.default_rng(a.seed)
    pool = cg.branch_ids[cg.br_in_service]
    scen = [apply_damage(cg, [str(b) for b in rng.choice(pool, a.k, replace=False)]) for _ in range(a.n)]
    w = default_tier_weights()
    evaluate_state(cg, scen[0], mode="opf", options={"tier_weights": w})  # warm-up (imports)
    runs = {
        "balance": lambda d: evaluate_state(cg, d, mode="balance"),
        "opf": lambda d: evaluate_state(cg, d, mode="opf", options={"tier_weights": w}),
        "opf (stage 1 only)": lambda d: evaluate_state(cg, d, mode="opf",
                                                       options={"tier_weights": w, "cost_stage": False}),
    }
    times: dict[str, np.ndarray] = {}
    shed: dict[str, np.ndarray] = {}
    for name, f in runs.items():
        t = np.empty(a.n)
        s = np.empty(a.n)
        for i, d in enumerate(scen):
            t0 = time.perf_counter()
            r = f(d)
            t[i] = time.perf_counter() - t0
            s[i] = float(np.where(d.load_alive, cg.load_p_mw - r.load_served_mw, cg.load_p_mw).clip(0).sum())
        times[name], shed[name] = t, s
    split = np.mean([evaluate_state(cg, d).n_islands > 1 for d in scen])
    print(f"{a.case}: {a.n} scenarios of {a.k} random branch outages ({split:.0%} split the grid)")
    print(f"{'mode':<20} {'median ms':>10} {'mean ms':>9} {'p95 ms':>8} {'scen/s':>8} {'mean shed MW':>13}")
    for name, t in times.items():
        print(f"{name:<20} {1e3 * np.median(t):10.1f} {1e3 * t.mean():9.1f} {1e3 * np.percentile(t, 95):8.1f} "
              f"{1 / t.mean():8.1f} {shed[name].mean():13.1f}")
    print(f"opf / balance time ratio (mean): {times['opf'].mean() / times['balance'].mean():.0f}x")


if __name__ == "__main__":
    main()
