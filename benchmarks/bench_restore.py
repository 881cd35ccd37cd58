"""Repair scheduling: heuristic against the naive orders and the exact MILP (prints figures).

Usage::

    python benchmarks/bench_restore.py --demo --crews 2 --milp-time-limit 60
    python benchmarks/bench_restore.py --case case300 --k 150 --crews 6 --time-limit 10

``--demo``: the demo scenario (12 damaged assets; the MILP is attempted). ``--case``: a larger synthetic story on
a bundled case — ``--k`` random branches and buses destroyed at hour 0, everything standard tier except a
tenth of the loads critical — with the heuristic only (the MILP is far too large there). Prints the wall time of
the whole ``restore`` call, the simulated energy not served of every plan and the MILP gap.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--demo", action="store_true")
    ap.add_argument("--case", default="case300")
    ap.add_argument("--k", type=int, default=150)
    ap.add_argument("--crews", type=int, default=4)
    ap.add_argument("--horizon", type=int, default=72)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--milp-time-limit", type=float, default=60.0)
    ap.add_argument("--no-milp", action="store_true")
    a = ap.parse_args()

    from _common import machine

    import svitlo
    from svitlo.analyses.restore import restore

    print(machine())
    if a.demo:
        sc = Path(svitlo.__file__).parent / "data" / "demo" / "izum_like.yaml"
        exact = "never" if a.no_milp else "always"
    else:
        from svitlo.model.compiled import compile_grid

        cg = compile_grid(svitlo.load_grid(a.case))
        crit = {str(x): "critical" for x in cg.load_ids[::10]}
        sc = {"name": f"{a.case}: {a.k} assets destroyed", "grid": a.case, "horizon_h": a.horizon, "seed": 1,
              "tiers": {"loads": crit},
              "strikes": [{"random": {"k": a.k * 4 // 5, "kinds": ["line", "trafo", "branch"]}},
                          {"random": {"k": a.k // 5, "kinds": ["bus"]}}],
              "repairs": {"durations_h": {"line": {"median_h": 8, "spread": 0.5}, "trafo": 48, "branch": 8,
                                          "bus": {"median_h": 30, "spread": 0.5}}}}
        exact = "never"
    t = time.perf_counter()
    r = restore(sc, crews=a.crews, exact=exact, time_limit_s=a.time_limit, milp_time_limit_s=a.milp_time_limit)
    wall = time.perf_counter() - t
    d = r.to_dict()
    print(f"{len(d['schedule'])} jobs, {a.crews} crews, {r.horizon_h} h: restore took {wall:.1f} s "
          f"(local search budget {a.time_limit:.0f} s)")
    print(f"{'plan':<22}{'critical MWh':>14}{'all MWh':>12}{'weighted MWh':>14}")
    for name, f in [("heuristic", d["objective"]), *d["baselines"].items()]:
        print(f"{name:<22}{f['critical_ens_mwh']:>14,.2f}{f['ens_mwh']:>12,.1f}{f['weighted_ens_mwh']:>14,.1f}")
    o = d["optimality"]
    print(f"MILP: {o['status']}; heuristic gap to the MILP schedule {o['gap']}, solver gap {o['mip_gap']}")


if __name__ == "__main__":
    main()
