"""Monte Carlo of timelines: N seeds of a scenario's hourly story into a resumable result store.

Each scenario ``i`` takes the seed :func:`~svitlo.analyses.sweep.plan.scenario_seed` ``(root, i)`` and runs the
whole timeline (:mod:`svitlo.simulation.fast`, the numbers of :func:`svitlo.simulate` for that seed with
strike seeds ignored): hour-0 strikes and later waves drawn anew, generator starts and breakdowns, random repair
durations and refuel delays. One row per scenario (:data:`TIMELINE_ROW_SCHEMA`); per-facility values are list
columns aligned with ``facility_table.parquet`` (facility ``j`` is element ``j``). On completion the store gets
``timeline_facilities.parquet`` — one row per facility with P(dark within 24/48/72 h) and Wilson 95 %
intervals — and ``resilience_band.parquet`` — per hour the P10/P50/P90 across scenarios of the share of
critical (tier-1) demand served, by the grid or by facility backup (the resilience curve as a band).

Examples
--------
>>> import tempfile
>>> sc = {"grid": "case9", "horizon_h": 12, "strikes": [{"random": {"k": 1}}],
...       "repairs": {"crews": 1, "durations_h": {"line": {"median_h": 4, "spread": 0.5}}}}
>>> out = sweep_timelines(sc, n=16, out=tempfile.mkdtemp(), chunk_size=8)
>>> out.n, out.computed
(16, 16)
"""

from __future__ import annotations

import io
import json
import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from svitlo.analyses.sweep.aggregate import FACILITY_TABLE
from svitlo.analyses.sweep.plan import make_plan, scenario_seeds
from svitlo.errors import ScenarioError
from svitlo.simulation.fast import (
    TimelineModel,
    exact_path_reason,
    grid_paths,
    run_timelines,
    state_cache,
    timeline_model,
)
from svitlo.store.runstore import PARTS_DIR, RunSpec, RunStore, read_manifest

__all__ = ["TIMELINE_ROW_SCHEMA", "DARK_WITHIN_H", "evaluate_timeline_chunk", "sweep_timelines",
           "TimelineSweepOutcome", "facility_dark_probabilities", "resilience_band", "wilson_interval",
           "is_timeline_run", "parallel_grid_paths", "prepared_model", "TIMELINE_FORMAT"]

#: Horizons (h) of the per-facility probabilities of going dark.
DARK_WITHIN_H = (24, 48, 72)

_LIST32 = pa.list_(pa.float32())

#: One row per scenario of a timeline sweep (units in names).
TIMELINE_ROW_SCHEMA = pa.schema([
    pa.field("scenario", pa.int64()), pa.field("seed", pa.int64()),
    pa.field("ens_mwh", pa.float64()), pa.field("critical_ens_mwh", pa.float64()),
    pa.field("ens_weighted_mwh", pa.float64()), pa.field("people_hours_without_power", pa.float64()),
    pa.field("facilities_dark", pa.int32()),
    pa.field("facility_hours_dark", _LIST32), pa.field("facility_first_dark_h", _LIST32),
    pa.field("critical_served_mw", _LIST32),
])

_ANALYSIS = "timeline"
#: Store format of a timeline run.
TIMELINE_FORMAT = "svitlo-timeline-mc/1"
_FILES = (FACILITY_TABLE, "timeline_facilities.parquet", "resilience_band.parquet", "summary.json")


def prepared_model(scenario: Any, *, grid: Any = None) -> TimelineModel:
    """:func:`svitlo.simulation.fast.timeline_model` of a scenario prepared by :func:`svitlo.prepare`."""
    from svitlo.pipeline import prepare

    return timeline_model(prepare(grid, scenario))


def evaluate_timeline_chunk(model: TimelineModel, *, root_seed: int, start: int, stop: int,
                            cache: Any = None) -> pa.Table:
    """Rows ``start`` … ``stop - 1`` of a timeline sweep (:data:`TIMELINE_ROW_SCHEMA`; pure). ``cache``: a
    :func:`svitlo.simulation.fast.state_cache` of ``model`` shared between chunks (results do not depend on it)."""
    seeds = scenario_seeds(root_seed, start, stop)
    b = run_timelines(model, seeds, cache=cache)
    crit_ens = (b.critical_load_mw - b.critical_served_mw).sum(axis=1)
    dark = np.isfinite(b.hours_until_dark)
    cols = {
        "scenario": np.arange(start, stop, dtype=np.int64), "seed": seeds,
        "ens_mwh": b.ens_mwh.sum(axis=1), "critical_ens_mwh": crit_ens,
        "ens_weighted_mwh": b.ens_weighted_mwh.sum(axis=1),
        "people_hours_without_power": b.people_without_power.sum(axis=1),
        "facilities_dark": dark.sum(axis=1).astype(np.int32),
        "facility_hours_dark": list(b.hours_dark.astype(np.float32)),
        "facility_first_dark_h": list(b.hours_until_dark.astype(np.float32)),
        "critical_served_mw": list(b.critical_served_mw.astype(np.float32)),
    }
    return pa.table(cols, schema=TIMELINE_ROW_SCHEMA)


@dataclass(frozen=True)
class TimelineSweepOutcome:
    """What :func:`sweep_timelines` did: run folder, id, scenarios, computed now, seconds spent computing."""

    path: Path
    run_id: str
    n: int
    computed: int
    seconds: float
    #: Whether this call wrote the run's summary (it computed rows, or found all rows stored in an unfinished run).
    finished: bool = True

    @property
    def timelines_per_second(self) -> float:
        """Throughput of this call (timelines/s; 0 when nothing was computed)."""
        return self.computed / self.seconds if self.seconds > 0 and self.computed else 0.0


_WORKER_MODEL: TimelineModel | None = None
_WORKER_CACHE: Any = None
#: Bytes of grid states a worker keeps between chunks (beyond this the cache starts afresh; bounds memory).
CACHE_MAX_BYTES = 500_000_000


def _init_worker(model: TimelineModel) -> None:
    global _WORKER_MODEL, _WORKER_CACHE
    _WORKER_MODEL = model
    _WORKER_CACHE = None
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def _chunk_cache(model: TimelineModel, cache: Any) -> Any:
    """The state cache to use for the next chunk: ``cache`` while it stays under :data:`CACHE_MAX_BYTES`
    (about 48 bytes per bus, branch, unit and load of each settled state kept, a few hundred bytes per
    recorded state and per island outcome; timelines of one scenario revisit the same grid states and islands,
    so later chunks mostly look them up)."""
    cg = model.cg
    per_state = 48 * (cg.n_bus + cg.n_branch + cg.n_gen + cg.n_load)
    small = 200 + len(model.facilities) + 16 * (cg.n_gen + cg.n_load) // 4
    if cache is None:
        return state_cache(model)
    kept = (len(cache.bases) + len(cache.evals)) * per_state + (len(cache.rows) + len(cache.islands or ())) * small
    return state_cache(model) if kept > CACHE_MAX_BYTES else cache


def _worker_chunk(c: int, root: int, start: int, stop: int) -> tuple[int, pa.Table]:
    global _WORKER_CACHE
    assert _WORKER_MODEL is not None
    _WORKER_CACHE = _chunk_cache(_WORKER_MODEL, _WORKER_CACHE)
    return c, evaluate_timeline_chunk(_WORKER_MODEL, root_seed=root, start=start, stop=stop, cache=_WORKER_CACHE)


def _worker_paths(seeds: np.ndarray) -> np.ndarray:
    global _WORKER_CACHE
    assert _WORKER_MODEL is not None
    _WORKER_CACHE = _chunk_cache(_WORKER_MODEL, _WORKER_CACHE)
    return grid_paths(_WORKER_MODEL, seeds, cache=_WORKER_CACHE)[0]


def parallel_grid_paths(model: TimelineModel, seeds: np.ndarray, *, workers: int | None = None,
                        chunk: int = 250) -> np.ndarray:
    """:func:`svitlo.simulation.fast.grid_paths` (facility grid supply ``(N, F, H)``) over worker processes
    (default: :func:`auto_workers` of the number of seeds)."""
    seeds = np.asarray(seeds, dtype=np.int64)
    if workers is None:
        workers = auto_workers(int(seeds.size))
    if not workers or workers <= 1 or seeds.size <= chunk:
        return grid_paths(model, seeds)[0]
    parts = [seeds[i:i + chunk] for i in range(0, seeds.size, chunk)]
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(model,)) as ex:
        return np.concatenate(list(ex.map(_worker_paths, parts)))


def _results(model: TimelineModel, root: int, todo: list[tuple[int, int, int]],
             workers: int | None) -> Iterator[tuple[int, pa.Table]]:
    if not workers or workers <= 1 or len(todo) <= 1:
        cache = None
        for c, start, stop in todo:
            cache = _chunk_cache(model, cache)
            yield c, evaluate_timeline_chunk(model, root_seed=root, start=start, stop=stop, cache=cache)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(model,)) as ex:
        pending = iter(todo)
        running = set()
        for _ in range(2 * workers):
            nxt = next(pending, None)
            if nxt is None:
                break
            running.add(ex.submit(_worker_chunk, nxt[0], root, nxt[1], nxt[2]))
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for f in done:
                nxt = next(pending, None)
                if nxt is not None:
                    running.add(ex.submit(_worker_chunk, nxt[0], root, nxt[1], nxt[2]))
                yield f.result()


#: Timelines left to compute from which a sweep without ``workers`` uses every available core (below, the
#: worker processes' start and their cold state caches cost more than they save).
AUTO_WORKERS_MIN = 2000


def auto_workers(n_todo: int) -> int:
    """Worker processes for ``n_todo`` timelines when none are asked: one per available core from
    :data:`AUTO_WORKERS_MIN` on, else 1.

    >>> auto_workers(10)
    1
    """
    if n_todo < AUTO_WORKERS_MIN:
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores)


def sweep_timelines(scenario: Any, *, n: int, out: str | os.PathLike, root_seed: int | None = None,
                    chunk_size: int | None = None, workers: int | None = None,
                    progress: Callable[[int, int], None] | None = None, grid: Any = None,
                    model: TimelineModel | None = None) -> TimelineSweepOutcome:
    """Run (or resume) a Monte Carlo of ``n`` timelines into the run folder ``out``.

    Parameters
    ----------
    scenario
        A :class:`~svitlo.scenarios.spec.Scenario`, a dict or a YAML path (its ``horizon_h`` sets the length).
    n
        Number of timelines.
    out
        Run folder (created; must be empty or hold the same run; rerun to resume).
    root_seed
        Root of the per-timeline seeds (default: the scenario's ``seed``).
    chunk_size
        Timelines per part file and task (default 1,000: fewer parts and tasks; 10,000 demo timelines took
        56 s against 60 s with 500); does not change results.
    workers
        Worker processes (default: one per available core when at least :data:`AUTO_WORKERS_MIN` timelines
        remain to compute, else this process only; results do not depend on it).
    progress
        Called with ``(done, total)`` after each stored chunk.
    grid
        Overrides the scenario's grid.
    model
        A prepared :func:`~svitlo.simulation.fast.timeline_model` of the same scenario (skips loading).

    Returns
    -------
    TimelineSweepOutcome
    """
    m = model if model is not None else prepared_model(scenario, grid=grid)
    if workers is not None and int(workers) < 1:
        raise ScenarioError("must be at least 1", field="workers", value=workers)
    plan = make_plan(m.sc, m.cg, n=n, root_seed=root_seed, chunk_size=chunk_size or min(1000, max(1, n)),
                     engine=_ANALYSIS)
    base = plan.run_spec()
    spec = RunSpec(format=TIMELINE_FORMAT, run_id=plan.run_id, n=plan.n, chunk_size=plan.chunk_size,
                   identity=base.identity, key="scenario", files=_FILES)
    info = {"analysis": _ANALYSIS, "scenario_name": m.sc.name, "grid": m.cg.name, "mode": m.sc.mode,
            "engine": "timeline", "horizon_h": m.horizon_h,
            # kernel, or why timelines run one by one on the exact path
            "timeline_path": "kernel" if (why := exact_path_reason(m.sc)) is None else f"exact ({why})"}
    with RunStore.prepare(out, spec, info=info, chunk_size_given=chunk_size is not None) as store:
        buf = io.BytesIO()
        m.facilities[[c for c in ("id", "kind", "name", "bus", "population", "tier", "demand_kw", "gen_kw",
                                  "fuel_h", "battery_kwh") if c in m.facilities]].to_parquet(buf, index=False)
        store.write_file(FACILITY_TABLE, buf.getvalue())
        done = store.done_chunks()
        todo = [(c, *store.chunk_range(c)) for c in range(store.n_chunks) if c not in done]
        stored = sum(store.chunk_range(c)[1] - store.chunk_range(c)[0] for c in done)
        if progress:
            progress(stored, plan.n)
        computed = 0
        t0 = time.perf_counter()
        if workers is None:
            workers = auto_workers(sum(stop - start for _, start, stop in todo))
        for c, table in _results(m, plan.root_seed, todo, workers):
            store.write_part(c, table)
            computed += table.num_rows
            stored += table.num_rows
            if progress:
                progress(stored, plan.n)
        seconds = time.perf_counter() - t0
        finished = bool(computed or not store.manifest.get("complete"))
        if finished:
            _finalize(store, m)
        return TimelineSweepOutcome(path=store.path, run_id=plan.run_id, n=plan.n, computed=computed,
                                    seconds=seconds, finished=finished)


def _read_parts(run_dir: Path, columns: list[str]) -> pa.Table:
    import pyarrow.parquet as pq

    parts = sorted((run_dir / PARTS_DIR).glob("part-*.parquet"))
    if not parts:
        return TIMELINE_ROW_SCHEMA.empty_table().select(columns)
    return pa.concat_tables([pq.read_table(p, columns=columns) for p in parts])


def wilson_interval(k: np.ndarray, n: int, z: float = 1.959963984540054) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion ``k / n`` (default 95 %).

    >>> lo, hi = wilson_interval(np.array([0, 50]), 100)
    >>> [round(float(x), 4) for x in lo], [round(float(x), 4) for x in hi]
    ([0.0, 0.4038], [0.037, 0.5962])
    """
    k = np.asarray(k, dtype=float)
    if n <= 0:
        return np.full(k.shape, np.nan), np.full(k.shape, np.nan)
    p = k / n
    den = 1.0 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return np.maximum(mid - half, 0.0), np.minimum(mid + half, 1.0)


def facility_dark_probabilities(run_dir: str | os.PathLike) -> pd.DataFrame:
    """Per facility: P(dark within 24/48/72 h) with Wilson 95 % bounds, mean hours dark, over stored rows."""
    d = Path(run_dir)
    fac = pd.read_parquet(d / FACILITY_TABLE)
    t = _read_parts(d, ["facility_first_dark_h", "facility_hours_dark"])
    n = t.num_rows
    first = np.asarray(t.column("facility_first_dark_h").to_pylist(), dtype=float).reshape(n, len(fac))
    hours = np.asarray(t.column("facility_hours_dark").to_pylist(), dtype=float).reshape(n, len(fac))
    out = fac.rename(columns={"id": "facility"}).copy()
    out["scenarios"] = n
    for h in DARK_WITHIN_H:
        k = (first <= h).sum(axis=0) if n else np.zeros(len(fac))
        lo, hi = wilson_interval(k, n)
        out[f"p_dark_{h}h"] = k / n if n else np.nan
        out[f"p_dark_{h}h_lo"] = lo
        out[f"p_dark_{h}h_hi"] = hi
    out["mean_hours_dark"] = hours.mean(axis=0) if n else np.nan
    return out.sort_values([f"p_dark_{DARK_WITHIN_H[0]}h", "mean_hours_dark"], ascending=False).reset_index(
        drop=True)


def resilience_band(run_dir: str | os.PathLike) -> pd.DataFrame:
    """Per hour: P10/P50/P90 across scenarios of critical demand served (MW and share of tier-1 demand)."""
    d = Path(run_dir)
    t = _read_parts(d, ["critical_served_mw"])
    h = int(read_manifest(d).get("horizon_h", 0))
    x = np.asarray(t.column("critical_served_mw").to_pylist(), dtype=float).reshape(t.num_rows, h)
    q = np.quantile(x, [0.1, 0.5, 0.9], axis=0) if t.num_rows else np.full((3, h), np.nan)
    return pd.DataFrame({"hour": np.arange(h), "critical_served_mw_p10": q[0], "critical_served_mw_p50": q[1],
                         "critical_served_mw_p90": q[2], "critical_served_mw_mean": x.mean(axis=0)
                         if t.num_rows else np.nan})


def is_timeline_run(run_dir: str | os.PathLike) -> bool:
    """Whether a run folder holds a timeline Monte Carlo (else an hour-0 sweep)."""
    return read_manifest(run_dir, what="sweep run").get("format") == TIMELINE_FORMAT


def _finalize(store: RunStore, m: TimelineModel) -> None:
    rows = _read_parts(store.path, ["scenario", "ens_mwh", "critical_ens_mwh", "ens_weighted_mwh",
                                    "people_hours_without_power", "facilities_dark"]).to_pandas()
    n = int(store.manifest["n"])
    if len(rows) != n or rows["scenario"].nunique() != n:
        from svitlo.errors import StoreError

        raise StoreError(f"{store.path}: holds {len(rows)} rows; expected scenarios 0…{n - 1} once each")

    def parquet(df: pd.DataFrame) -> bytes:
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue()

    store.write_file("timeline_facilities.parquet", parquet(facility_dark_probabilities(store.path)))
    store.write_file("resilience_band.parquet", parquet(resilience_band(store.path)))
    crit_mwh = float(np.sum(m.cg.load_p_mw[(m.cg.load_tier == 1) & m.cg.load_in_service])) * m.horizon_h
    summary = {"run_id": store.manifest["run_id"], "rows": n, "horizon_h": m.horizon_h,
               "critical_demand_mwh": crit_mwh,
               "mean": {c: float(rows[c].mean()) for c in rows.columns if c != "scenario"},
               "p90": {c: float(rows[c].quantile(0.9)) for c in rows.columns if c != "scenario"}}
    store.write_file("summary.json", json.dumps(summary, indent=2, allow_nan=False).encode())
    store.update_manifest(complete=True)
