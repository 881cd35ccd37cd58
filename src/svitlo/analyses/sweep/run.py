"""Drive a sweep: plan, open the store, compute the missing chunks in-process or on Dask, aggregate.

Chunks are independent tasks ``(root seed, start, stop) -> rows``. Only this driver writes the store, chunk by
chunk as results arrive, with a bounded number of chunks in flight, so memory stays bounded whatever ``n``.
Parts are written by a background thread (:class:`svitlo.store.writer.PartWriter`, a queue of two chunks), so
computing the next chunk overlaps compressing and syncing the last one.
A Dask worker lost mid-sweep costs nothing: the scheduler reruns its chunks elsewhere and each chunk is written
once (atomically) when its result arrives.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from svitlo.analyses.sweep.aggregate import FACILITY_TABLE
from svitlo.analyses.sweep.evaluate import SweepContext, branch_images_pay_off, evaluate_chunk, make_context
from svitlo.analyses.sweep.plan import check_resumable, make_plan
from svitlo.errors import InputError, MissingDependencyError, ScenarioError
from svitlo.io.scenario_file import names_scenario_file
from svitlo.store import RunStore
from svitlo.store.runstore import json_bytes
from svitlo.store.writer import PartWriter

__all__ = ["sweep", "SweepOutcome", "Progress"]

#: ``progress(done_scenarios, total_scenarios)``, called after every stored chunk.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SweepOutcome:
    """What a call to :func:`sweep` did.

    Attributes
    ----------
    path
        The run folder.
    run_id
        The run id (hash of scenario, grid, n, root seed and engine version).
    n
        Scenarios in the run.
    computed
        Scenarios computed by this call (the rest were already stored).
    seconds
        Wall time spent computing and storing chunks in this call (s; a local cluster's start-up excluded).
    engine
        ``"batch"`` or ``"loop"``.
    finished
        Whether this call completed the run (wrote its aggregates), even if every scenario was already stored
        (a run interrupted after its last chunk); False when the run was complete before the call.
    """

    path: Path
    run_id: str
    n: int
    computed: int
    seconds: float
    engine: str
    finished: bool = True

    @property
    def scenarios_per_second(self) -> float:
        """Throughput of this call (scenarios/s; 0 when nothing was computed)."""
        return self.computed / self.seconds if self.seconds > 0 and self.computed else 0.0


def _local_results(ctx: SweepContext, root: int, todo: list[tuple[int, int, int]]) -> Iterator[tuple[int, Any]]:
    for c, start, stop in todo:
        yield c, evaluate_chunk(ctx, root_seed=root, start=start, stop=stop)


def _dask_results(ctx: SweepContext, root: int, todo: list[tuple[int, int, int]], *, client: Any,
                  run_id: str, in_flight: int | None, max_tries: int = 4) -> Iterator[tuple[int, Any]]:
    """Chunks computed on a Dask cluster, at most ``in_flight`` at a time. A chunk whose task is lost with a
    worker (killed, or its scattered inputs gone) is submitted again, up to ``max_tries`` times."""
    from distributed import as_completed

    cancelled: tuple[type, ...] = (asyncio.CancelledError,)
    try:
        from distributed.client import FutureCancelledError

        cancelled += (FutureCancelledError,)
    except ImportError:  # pragma: no cover - older distributed
        pass
    try:
        from distributed.scheduler import KilledWorker

        cancelled += (KilledWorker,)
    except ImportError:  # pragma: no cover
        pass
    nthreads = sum(client.nthreads().values()) or 1
    window = max(2, in_flight or 2 * nthreads)
    shared = {"ctx": client.scatter(ctx, broadcast=True, hash=False)}
    pending = iter(todo)
    chunk_of: dict[str, tuple[int, int, int]] = {}
    tries: dict[int, int] = {}

    def submit(item: tuple[int, int, int] | None = None) -> Any:
        c, start, stop = next(pending) if item is None else item
        tries[c] = tries.get(c, 0) + 1
        f = client.submit(evaluate_chunk, shared["ctx"], root_seed=root, start=start, stop=stop,
                          key=f"svitlo-sweep-{run_id}-{c}-{os.getpid()}-{tries[c]}", pure=False)
        chunk_of[f.key] = (c, start, stop)
        return f

    first = []
    for _ in range(min(window, len(todo))):
        first.append(submit())
    ac = as_completed(first)
    try:
        for fut in ac:
            item = chunk_of.pop(fut.key)
            try:
                table = fut.result()
            except cancelled:
                if tries[item[0]] >= max_tries:
                    raise
                if shared["ctx"].status != "finished":  # the scattered context went with the worker
                    shared["ctx"] = client.scatter(ctx, broadcast=True, hash=False)
                fut.release()
                ac.add(submit(item))
                continue
            fut.release()
            try:
                ac.add(submit())
            except StopIteration:
                pass
            yield item[0], table
    finally:
        for f in list(getattr(ac, "futures", ())):
            f.cancel()
        shared["ctx"].release()


def _client(scheduler: str | None, workers: int | None, processes: bool) -> tuple[Any, Any]:
    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("sweeps on Dask (--workers, --scheduler) need Dask", extra="sweep") from None
    if scheduler is not None:
        try:
            return Client(scheduler, timeout="20s"), None
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach a Dask scheduler there ({type(exc).__name__}: {exc})",
                             field="scheduler", value=scheduler) from None
    k = int(workers or 1)
    extra: dict[str, Any] = {}
    if processes:  # share the cores among workers: no oversubscribed (spinning) numba/OpenMP thread pools
        per = str(max(1, (os.cpu_count() or 1) // k))
        extra["env"] = {"NUMBA_NUM_THREADS": per, "OMP_NUM_THREADS": per}
    cluster = LocalCluster(n_workers=k, threads_per_worker=1, processes=processes, dashboard_address=None,
                           **extra)
    return Client(cluster), cluster


def _finalize(store: RunStore, *, risk_points: int = 41) -> None:
    import pandas as pd

    from svitlo.analyses.sweep.aggregate import (
        RISK_METRICS,
        asset_risk,
        facility_risk,
        metric_summary,
        risk_curve,
        verify_rows,
    )

    counts = verify_rows(store.path)

    def parquet(df: pd.DataFrame) -> bytes:
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue()

    summary = metric_summary(store.path)
    store.write_file("metrics.parquet", parquet(summary))
    curves = pd.concat([risk_curve(store.path, metric=m, points=risk_points) for m in RISK_METRICS],
                       ignore_index=True)
    store.write_file("risk_curve.parquet", parquet(curves))
    store.write_file("assets.parquet", parquet(asset_risk(store.path)))
    if (store.path / FACILITY_TABLE).is_file():
        store.write_file("facilities.parquet", parquet(facility_risk(store.path)))
    means = {r.metric: r.mean for r in summary.itertuples()}
    store.write_file("summary.json", json_bytes({"run_id": store.manifest["run_id"], "rows": counts["rows"],
                                                 "mean": means}))
    store.update_manifest(complete=True)


@names_scenario_file(0)
def sweep(scenario: Any, *, n: int, out: str | os.PathLike, root_seed: int | None = None,
          chunk_size: int | None = None, workers: int | None = None, scheduler: str | None = None,
          client: Any = None, processes: bool = True, in_flight: int | None = None,
          progress: Progress | None = None, grid: Any = None) -> SweepOutcome:
    """Run (or resume) a Monte Carlo sweep of ``n`` scenarios into the run folder ``out``.

    Each scenario draws the scenario file's random strikes anew from its own seed (fixed strikes stay fixed),
    is evaluated in the scenario's mode and stored as one row. Rerunning with the same arguments resumes: only
    missing chunks are computed, and the folder ends with exactly ``n`` rows.

    Parameters
    ----------
    scenario
        A :class:`~svitlo.scenarios.spec.Scenario`, a dict, a YAML path, or a :class:`svitlo.Prepared`.
    n
        Number of scenarios.
    out
        Run folder (created; must be empty or hold the same run).
    root_seed
        Root of the per-scenario seeds (default: the scenario's ``seed``).
    chunk_size
        Scenarios per part file and per task (default: about 200 parts); does not change results.
    workers
        Run on a local Dask cluster with this many single-threaded workers (default: in this process).
    scheduler
        Address of an existing Dask scheduler (e.g. ``tcp://10.0.0.5:8786``); workers need svitlo installed.
    client
        An existing ``distributed.Client`` to use (Python API).
    processes
        Local cluster workers as processes (default) or threads.
    in_flight
        Chunks submitted ahead of results (default: twice the Dask threads).
    progress
        Called with ``(done, total)`` scenarios after each stored chunk.
    grid
        Overrides the scenario's grid.

    Returns
    -------
    SweepOutcome

    Examples
    --------
    >>> import tempfile
    >>> sc = {"grid": "case9", "seed": 3, "strikes": [{"random": {"k": 2}}]}
    >>> out = sweep(sc, n=20, out=tempfile.mkdtemp(), chunk_size=8)
    >>> out.n, out.computed
    (20, 20)
    """
    from svitlo.pipeline import Prepared, as_scenario

    if isinstance(scenario, Prepared):
        scenario, grid = scenario.scenario, scenario
    sc = as_scenario(scenario, grid)
    if workers is not None and int(workers) < 1:
        raise ScenarioError("must be at least 1", field="workers", value=workers)
    check_resumable(out)  # an older run format is refused before any work
    ctx = make_context(sc, grid=grid)
    engine = ctx.engine
    plan = make_plan(sc, ctx.cg, n=n, root_seed=root_seed, chunk_size=chunk_size, engine=engine)
    from svitlo.engine.batch.draws import draw_chunk, draw_plan, scenario_keys

    # one choice per run: per-branch images, and the strikes' draw plan (a strike the grid cannot satisfy
    # fails here, before a run folder exists; so does the first scenario's geographic draw)
    ctx = dataclasses.replace(ctx, branch_images=branch_images_pay_off(ctx, plan.n),
                              draws=draw_plan(ctx.cg, ctx.strikes, protected=ctx.protected))
    if engine == "batch" and sc.mode == "balance":  # a grid even the sparse path cannot hold fails here
        from svitlo.engine.batch.memory import plan_path

        plan_path(ctx.cg, threads=os.cpu_count() or 1)
    draw_chunk(ctx.draws, scenario_keys(plan.root_seed, 0, 1), cg=ctx.cg, weapons=ctx.weapons, damage=ctx.damage)
    info = {"scenario_name": sc.name, "grid": ctx.cg.name, "mode": sc.mode, "engine": engine}
    own_client = own_cluster = None
    if client is None and scheduler is not None:  # an unreachable scheduler fails before a run folder exists
        own_client, own_cluster = _client(scheduler, workers, processes)
    try:
        return _run(ctx, plan, out, info, chunk_size_given=chunk_size is not None, client=client,
                    own=(own_client, own_cluster), workers=workers, processes=processes, progress=progress,
                    in_flight=in_flight)
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()


def _run(ctx: SweepContext, plan: Any, out: Any, info: dict[str, Any], *, chunk_size_given: bool, client: Any,
         own: tuple[Any, Any], workers: int | None, processes: bool, progress: Any, in_flight: Any) -> SweepOutcome:
    engine = ctx.engine
    with RunStore.prepare(out, plan, info=info, chunk_size_given=chunk_size_given) as store:
        if ctx.facilities is not None:
            buf = io.BytesIO()
            ctx.facilities.table.to_parquet(buf, index=False)
            store.write_file(FACILITY_TABLE, buf.getvalue())
        done = store.done_chunks()
        todo = [(c, *store.chunk_range(c)) for c in range(store.n_chunks) if c not in done]
        total = plan.n
        stored = sum(store.chunk_range(c)[1] - store.chunk_range(c)[0] for c in done)
        if progress:
            progress(stored, total)
        computed = 0
        own_client, own_cluster = own
        local_client = local_cluster = None
        t0 = time.perf_counter()
        try:
            if client is None and own_client is None and workers is not None and todo:
                local_client, local_cluster = own_client, own_cluster = _client(None, workers, processes)
            t0 = time.perf_counter()
            use = client if client is not None else own_client
            results = (_dask_results(ctx, plan.root_seed, todo, client=use, run_id=plan.run_id,
                                     in_flight=in_flight) if use is not None
                       else _local_results(ctx, plan.root_seed, todo))
            base = stored
            with PartWriter(store, depth=2) as writer:
                for c, table in results:
                    writer.put(c, table)
                    if progress:
                        progress(base + writer.rows_written, total)
            computed = writer.rows_written
            stored = base + computed
            if progress:
                progress(stored, total)
            seconds = time.perf_counter() - t0
        finally:
            if own_client is not None:
                own_client.close()
            if own_cluster is not None:
                own_cluster.close()
        finished = bool(computed or not store.manifest.get("complete"))
        if finished:
            _finalize(store)
        return SweepOutcome(path=store.path, run_id=plan.run_id, n=plan.n, computed=computed, seconds=seconds,
                            engine=engine, finished=finished)
