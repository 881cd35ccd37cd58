"""Timeline Monte Carlo throughput: the array kernel against ``svitlo.simulate``, side by side (prints figures).

Usage::

    python benchmarks/bench_timeline_mc.py --n 10000 --workers 2 --sim-sample 20

On the demo scenario (72 h: ten glide bombs, a second wave, two crews, refuels, rolling outages, island
viability), with random
repair durations and generator breakdowns added (``--random-inputs``, default on). Times

* ``svitlo.simulate`` on ``--sim-sample`` seeds (grid loaded once, as a user's loop would; per-timeline time
  extrapolated to ``--n``), and
* :func:`svitlo.analyses.sweep.timeline_mc.sweep_timelines` on ``--n`` seeds into a fresh result store, with
  ``--workers`` processes (everything after the scenario is compiled: worker start, every timeline, writing
  the parts, the per-facility and band tables),

checks that the kernel's figures equal ``simulate``'s on the sampled seeds, and prints the ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

RANDOM_INPUTS = {
    "repairs": {"crews": 2, "start_h": 4, "order": ["line:179", "line:162", "line", "bus"],
                "durations_h": {"line": {"median_h": 8, "spread": 0.5}, "bus": {"median_h": 30, "spread": 0.6}},
                "explicit": [{"asset": "bus:58", "done_h": 40}, {"asset": "bus:39", "done_h": 40},
                             {"asset": "trafo:114", "done_h": 40}]},
    "refuel": [{"at_h": 18, "facilities": ["hosp-town", "water-town"], "delay_h": {"median_h": 4, "spread": 0.8}},
               {"at_h": 36, "kinds": ["shelter", "emergency"], "delay_h": {"median_h": 4, "spread": 0.8}}],
    "gen_mttf_h": 1100.0,
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=500)
    ap.add_argument("--sim-sample", type=int, default=20)
    ap.add_argument("--no-random-inputs", action="store_true")
    a = ap.parse_args()

    from _common import machine

    import svitlo
    from svitlo import simulate
    from svitlo.analyses.sweep.plan import scenario_seed
    from svitlo.analyses.sweep.timeline_mc import sweep_timelines
    from svitlo.simulation.fast import HOURLY_METRICS, run_timelines, state_cache, timeline_model

    print(machine())
    demo = Path(svitlo.__file__).parent / "data" / "demo" / "izum_like.yaml"
    sc = svitlo.load_scenario(demo)
    if not a.no_random_inputs:
        sc = svitlo.parse_scenario({**sc.model_dump(), **RANDOM_INPUTS}, base_dir=sc.base_dir)
    t = time.perf_counter()
    grid = svitlo.load_grid(sc.grid, base_dir=sc.base_dir)
    m = timeline_model(svitlo.prepare(grid, sc))
    print(f"load + compile: {time.perf_counter() - t:.2f} s")

    seeds = [scenario_seed(sc.seed, i) for i in range(a.sim_sample)]
    simulate(grid, sc, seed=seeds[0], use_strike_seeds=False)  # warm-up (imports)
    t = time.perf_counter()
    tls = [simulate(grid, sc, seed=s, use_strike_seeds=False) for s in seeds]
    per_sim = (time.perf_counter() - t) / len(seeds)
    b = run_timelines(m, seeds)
    worst = max(float(np.abs(getattr(b, k)[i] - tl.hourly[k].to_numpy()).max())
                for i, tl in enumerate(tls) for k in HOURLY_METRICS)
    print(f"svitlo.simulate: {per_sim * 1e3:.0f} ms per 72-h timeline -> {per_sim * a.n:,.0f} s for {a.n:,} "
          f"(extrapolated from {len(seeds)}); kernel vs simulate on those seeds: max diff {worst:.1e}")

    cache = state_cache(m)   # a sweep worker keeps its grid states between chunks: cold, then warm
    k = min(a.n, 500)
    for what, start in (("cold", 10_000), ("warm", 10_000 + k)):
        c0, t0 = time.process_time(), time.perf_counter()
        run_timelines(m, [scenario_seed(sc.seed, i) for i in range(start, start + k)], cache=cache)
        cpu = (time.process_time() - c0) / k
        print(f"kernel in this process ({what} state cache, {k} seeds): {cpu * 1e3:.1f} ms CPU per timeline "
              f"({(time.perf_counter() - t0) / k * 1e3:.1f} ms wall) -> {cpu * a.n / 2:.0f} s for {a.n:,} on 2 "
              f"idle cores; {len(cache.rows):,} grid states so far")

    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        out = sweep_timelines(sc, n=a.n, out=Path(d) / "run", workers=a.workers, chunk_size=a.chunk_size, model=m)
        wall = time.perf_counter() - t
    print(f"timeline Monte Carlo: {a.n:,} timelines in {wall:.1f} s wall ({a.workers} workers; "
          f"{a.n / wall:,.0f}/s; computing {out.seconds:.1f} s)")
    print(f"ratio: {per_sim * a.n / wall:,.0f}x faster than a simulate loop")


if __name__ == "__main__":
    main()
