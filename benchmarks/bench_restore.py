"""Repair scheduling: the heuristic and recursive restoration refinement (``rrr``) side by side, against the
naive orders and the exact MILP (prints figures).

Usage::

    python benchmarks/bench_restore.py --demo --crews 2 --milp-time-limit 60
    python benchmarks/bench_restore.py --case case300 --k 300 --crews 8 --time-limit 5

``--demo``: the demo scenario (12 damaged assets; the MILP is attempted once, in the ``rrr`` run, and both
methods' gaps are taken against its simulated schedule). ``--case``: a larger synthetic story on a bundled case
(the size argument ``--k``: random branches and buses destroyed at hour 0, everything standard tier except a
tenth of the loads critical) without the MILP (far too large there). Both methods get the same local-search
budget ``--time-limit``; ``--methods`` picks them. Prints the machine load, the wall time of each whole
``restore`` call, the simulated energy not served of every plan (the naive orders once: they are the same in both
runs), each method's stages (constructive order, refined order, after local search) and the MILP gap.
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
    ap.add_argument("--methods", default="heuristic,rrr", help="comma-separated restore methods, in run order")
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
    rows, gaps, milp = [], {}, None
    for method in a.methods.split(","):
        t = time.perf_counter()
        r = restore(sc, crews=a.crews, exact=exact if method == a.methods.split(",")[-1] else "never",
                    time_limit_s=a.time_limit, milp_time_limit_s=a.milp_time_limit, method=method)
        wall = time.perf_counter() - t
        d = r.to_dict()
        print(f"{method}: {len(d['schedule'])} jobs, {a.crews} crews, {r.horizon_h} h: restore took {wall:.1f} s "
              f"(local search budget {a.time_limit:.0f} s)", flush=True)
        rows += [(f"{method}: {k}", f) for k, f in d["stages"].items()]
        rows.append((method, d["objective"]))
        gaps[method] = d["objective"]["weighted_ens_mwh"]
        if "exact_milp" in d["baselines"]:
            milp = (d["optimality"], d["baselines"]["exact_milp"]["weighted_ens_mwh"])
    rows += list(d["baselines"].items())
    print(f"{'plan':<30}{'critical MWh':>14}{'all MWh':>14}{'weighted MWh':>16}")
    for name, f in rows:
        print(f"{name:<30}{f['critical_ens_mwh']:>14,.2f}{f['ens_mwh']:>14,.1f}{f['weighted_ens_mwh']:>16,.1f}")
    if milp is None:
        print("MILP: not run")
        return
    o, ref = milp
    print(f"MILP: {o['status']}, solver gap {o['mip_gap']}; gap of each method to the simulated MILP schedule: "
          + ", ".join(f"{k} {(v - ref) / max(abs(ref), 1e-9):+.2%}" for k, v in gaps.items()))

if __name__ == "__main__":
    main()
