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

checks that the kernel's figures equal ``simulate``'s on the sampled seeds, and prints the ratio. In between, the
kernel in one process on ``--kernel-n`` seeds (cold state cache, then as many again warm), CPU per timeline:
solves shared across grid states (the default: demand multipliers only where a load's demand can matter,
states assembled from islands each settled once), every distinct state solved whole (the path before), and
the same scenario with cold-load pickup off; the shared and whole-state figures are compared.
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


def _cpu() -> float:
    """CPU seconds of this process and its finished child processes (the sweep's workers)."""
    import resource

    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--chunk-size", type=int, default=500)
    ap.add_argument("--sim-sample", type=int, default=20)
    ap.add_argument("--kernel-n", type=int, default=500, help="seeds per in-process kernel run (cold, then warm)")
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

    # the kernel in this process, cold then warm state cache (a sweep worker keeps its cache between chunks):
    # solves shared across states (the default), every distinct state solved whole (the path before), and the
    # same scenario with cold-load pickup off (factor 1)
    k = min(a.n, a.kernel_n)
    off = svitlo.parse_scenario({**sc.model_dump(), "viability": {**sc.viability.model_dump(),
                                                                  "cold_load_pickup": {"factor": 1.0}}},
                                base_dir=sc.base_dir)
    m_off = timeline_model(svitlo.prepare(grid, off))
    runs = [("pickup on, shared solves (new)", m, True), ("pickup on, whole states (old)", m, False),
            ("pickup off, shared solves", m_off, True)]
    warm: dict[str, float] = {}
    for name, model, shared in runs:
        cache = state_cache(model, shared=shared)
        got = []
        for what, start in (("cold", 10_000), ("warm", 10_000 + k)):
            seeds_k = [scenario_seed(sc.seed, i) for i in range(start, start + k)]
            c0, t0 = time.process_time(), time.perf_counter()
            got.append(run_timelines(model, seeds_k, cache=cache))
            cpu = (time.process_time() - c0) / k
            warm[name] = cpu
            print(f"kernel, {name}, {what} state cache, {k} seeds: {cpu * 1e3:.1f} ms CPU per timeline "
                  f"({(time.perf_counter() - t0) / k * 1e3:.1f} ms wall) -> {cpu * a.n / 2:.0f} s for {a.n:,} on 2 "
                  f"idle cores; {len(cache.rows):,} grid states, {len(cache.bases):,} solved nodes so far")
        if name.endswith("(old)"):
            ref = got
        elif model is m:
            new = got
    diff = max(float(np.nanmax(np.abs(getattr(x, f) - getattr(y, f)), initial=0.0))
               for x, y in zip(new, ref) for f in HOURLY_METRICS)
    print(f"shared vs whole-state solves on the same {2 * k} seeds: max diff {diff:.1e}; warm speed-up "
          f"{warm[runs[1][0]] / warm[runs[0][0]]:.2f}x; pickup on costs {warm[runs[0][0]] / warm[runs[2][0]]:.2f}x "
          f"pickup off (was {warm[runs[1][0]] / warm[runs[2][0]]:.2f}x)")
    print(machine())

    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        c0 = _cpu()
        out = sweep_timelines(sc, n=a.n, out=Path(d) / "run", workers=a.workers, chunk_size=a.chunk_size, model=m)
        wall, cpu = time.perf_counter() - t, _cpu() - c0
    print(f"timeline Monte Carlo: {a.n:,} timelines in {wall:.1f} s wall ({a.workers} workers; "
          f"{a.n / wall:,.0f}/s; computing {out.seconds:.1f} s); CPU of this process and its workers "
          f"{cpu:.1f} s ({cpu / a.n * 1e3:.1f} ms per timeline -> {cpu / a.n * 10_000 / 2:.0f} s for 10,000 on 2 "
          f"idle cores)")
    print(f"ratio: {per_sim * a.n / wall:,.0f}x faster than a simulate loop")
    print(machine())


if __name__ == "__main__":
    main()
