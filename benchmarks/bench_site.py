"""Backup siting over a timeline Monte Carlo of the demo (prints figures).

Usage::

    python benchmarks/bench_site.py --add "generator:50kW/24h x 5" --n 10000 --n-out 2000 --workers 2
    python benchmarks/bench_site.py --add "generator:500kW/24h x 5" --at buses --quick --n 2000 --n-out 500

Times the whole ``site`` call (the grid stories of ``n + n_out`` timelines, the lazy greedy, the exact
allocation, out-of-sample evaluation and baselines) and prints the plan against the baselines.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--add", default="generator:50kW/24h x 5")
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--n-out", type=int, default=2_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--at", choices=["facilities", "buses"], default="facilities")
    ap.add_argument("--quick", action="store_true", help="hour-0 sweeps instead of timelines")
    a = ap.parse_args()

    from _common import machine

    import svitlo
    from svitlo.analyses.site import site
    from svitlo.simulation.fast import timeline_model

    print(machine())
    m = timeline_model(svitlo.prepare(None, Path(svitlo.__file__).parent / "data" / "demo" / "izum_like.yaml"))
    t, c = time.perf_counter(), time.process_time()
    r = site(None, add=a.add, n=a.n, n_out=a.n_out, workers=a.workers, model=m, at=a.at, quick=a.quick)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    d = r.to_dict()
    print(f"site {a.add!r} at {a.at}{' (hour-0 sweeps)' if a.quick else ''}: {a.n:,} in-sample + {a.n_out:,} out-of-sample timelines in {wall:.1f} s "
          f"({a.workers} workers; CPU of this process {cpu:.1f} s)")
    print("sites:", {s["where"]: s["count"] for s in d["sites"]})
    o = d["out_of_sample"]
    print(f"people-hours without facility service per timeline, out of sample: {o['before']:,.0f} -> "
          f"{o['after']:,.0f} (95 % CI {o['ci95'][0]:,.0f}-{o['ci95'][1]:,.0f})")
    for k, v in d["baselines"].items():
        print(f"baseline {k}: {v:,.0f}")
    print("exact:", d["exact"].get("status"), "greedy gap", d["exact"].get("gap"))


if __name__ == "__main__":
    main()
