"""Bounded work for the server: a worker pool for requests, and sweeps run as cancellable background jobs.

Requests that compute (``assess``, ``simulate``, a run's tables) run on :class:`WorkerPool`: at most
``workers`` at once and ``queue`` more waiting; beyond that a request is refused at once (HTTP 429) rather than
piling up. Sweeps run one at a time on their own thread (:class:`SweepJobs`), writing into the store folder;
their progress lives on the server, so a page reloaded mid-sweep finds it again, and a cancelled sweep stops
after its current chunk with every stored chunk kept (rerunning it resumes).

Examples
--------
>>> import asyncio
>>> pool = WorkerPool(workers=2, queue=2)
>>> asyncio.run(pool.run(sum, [1, 2, 3]))
6
>>> pool.close()
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from svitlo.errors import SvitloError

__all__ = ["WorkerPool", "Busy", "Conflict", "SweepJobs", "SweepJob"]


class Busy(SvitloError):
    """Every worker is busy and the waiting queue is full (the server answers 429 with ``Retry-After``)."""


class Conflict(SvitloError):
    """A sweep into the same run folder is already queued or running (the server answers 409)."""


class WorkerPool:
    """At most ``workers`` calls at once on threads, ``queue`` more waiting, the rest refused with :class:`Busy`."""

    def __init__(self, *, workers: int, queue: int) -> None:
        self.workers = max(1, int(workers))
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.workers + max(0, int(queue)))

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:  # started on first use, and again after close() (an app's lifespan may restart)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="svitlo-web")
            return self._executor

    async def run(self, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """Run ``fn(*args, **kw)`` on a worker and await its result (:class:`Busy` when full)."""
        if not self._slots.acquire(blocking=False):
            raise Busy("the server is busy: every worker is computing and the queue is full; retry shortly")
        try:
            fut = self._pool().submit(fn, *args, **kw)
            return await asyncio.wrap_future(fut)
        finally:
            self._slots.release()

    def close(self) -> None:
        """Drop queued calls; running calls finish. A later :meth:`run` starts new threads."""
        with self._lock:
            ex, self._executor = self._executor, None
        if ex is not None:
            ex.shutdown(wait=False, cancel_futures=True)


class _Cancelled(Exception):
    pass


JobState = Literal["queued", "running", "done", "cancelled", "failed"]


@dataclass
class SweepJob:
    """A sweep launched from the dashboard: its run folder name, progress and state."""

    id: str
    run: str
    n: int
    state: JobState = "queued"
    done: int = 0
    total: int = 0
    error: str | None = None
    started_unix: float = field(default_factory=time.time)
    finished_unix: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    def public(self) -> dict[str, Any]:
        """The job as JSON."""
        return {"id": self.id, "run": self.run, "n": self.n, "state": self.state, "done": self.done,
                "total": self.total or self.n, "error": self.error, "started_unix": self.started_unix,
                "finished_unix": self.finished_unix}


class SweepJobs:
    """Sweeps run one after another on one background thread; at most ``max_queued`` waiting."""

    def __init__(self, *, max_queued: int = 4) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._jobs: dict[str, SweepJob] = {}
        self._lock = threading.Lock()
        self.max_queued = max_queued

    def submit(self, scenario: Any, *, n: int, out: Path, run: str, grid: Any = None) -> SweepJob:
        """Queue a sweep of ``n`` scenarios of ``scenario`` into ``out`` (a new or resumable run folder);
        ``grid``: the loaded grid, or a function returning it (called on the sweep's thread)."""
        with self._lock:
            active = [j for j in self._jobs.values() if j.state in ("queued", "running")]
            if len(active) > self.max_queued:
                raise Busy("too many sweeps queued; wait for one to finish or cancel one")
            if any(j.run == run for j in active):
                raise Conflict(f"a sweep into run {run!r} is already queued or running")
            job = SweepJob(id=os.urandom(8).hex(), run=run, n=int(n), total=int(n))
            self._jobs[job.id] = job
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="svitlo-sweep")
            self._executor.submit(self._run, job, scenario, out, grid)
        return job

    def _run(self, job: SweepJob, scenario: Any, out: Path, grid: Any) -> None:
        from svitlo.analyses.sweep import sweep

        if job.cancel.is_set():
            job.state, job.finished_unix = "cancelled", time.time()
            return
        job.state = "running"

        def progress(done: int, total: int) -> None:
            job.done, job.total = int(done), int(total)
            if job.cancel.is_set():
                raise _Cancelled

        try:
            g = grid() if callable(grid) else grid
            # small parts: a cancel acts, and the progress bar moves, within a part's time (a second or two)
            sweep(scenario, n=job.n, out=out, progress=progress, grid=g, chunk_size=min(500, max(1, job.n)))
            job.state = "done"
        except _Cancelled:
            # parts already queued are still stored when the writer closes (nothing computed is lost), so the
            # job's count is read back from the run rather than from the last progress call
            try:
                from svitlo.analyses.sweep import open_run

                job.done = int(open_run(out).rows())
            except (SvitloError, OSError):
                pass
            job.state = "cancelled"
        except SvitloError as exc:
            job.state, job.error = "failed", str(exc)
        except Exception as exc:  # a bug: keep the server up and tell the user what happened
            job.state, job.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            job.finished_unix = time.time()

    def get(self, job_id: str) -> SweepJob | None:
        """The job ``job_id`` (``None`` if unknown)."""
        return self._jobs.get(job_id)

    def list(self) -> list[SweepJob]:
        """Every job of this server's life, newest first."""
        return sorted(self._jobs.values(), key=lambda j: -j.started_unix)

    def cancel(self, job_id: str) -> SweepJob | None:
        """Ask a job to stop after its current chunk (a queued job never starts)."""
        job = self._jobs.get(job_id)
        if job is not None and job.state in ("queued", "running"):
            job.cancel.set()
            if job.state == "queued":
                job.state = "cancelled"
        return job

    def close(self) -> None:
        """Cancel every job and stop the thread (does not wait)."""
        with self._lock:
            for j in self._jobs.values():
                j.cancel.set()
            ex, self._executor = self._executor, None
        if ex is not None:
            ex.shutdown(wait=False, cancel_futures=True)
