"""A cancelled sweep job reports the rows its run holds, not the count of its last progress call."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("fastapi")

from svitlo.web import jobs as jobs_mod  # noqa: E402


def test_cancelled_job_counts_the_rows_stored_after_its_last_progress_call(tmp_path, monkeypatch):
    """Parts queued when the cancel came are still written as the writer closes, after the last progress
    call: the job read 500 done against 1,000 stored (seen once in CI as a race; here made certain)."""
    import svitlo.analyses.sweep as sweep_mod

    real = sweep_mod.sweep
    sc = {"name": "nine", "grid": "case9", "strikes": [{"random": {"k": 1}}]}

    held = []

    def sweep_then_late_progress(scenario, *, n, out, progress, grid=None, chunk_size=None):
        real(scenario, n=1000, out=out, chunk_size=500)   # 1,000 rows stored ...
        held[0].cancel.set()                              # ... the user cancels ...
        progress(500, 1000)                               # ... and the last progress call says 500 (raises)

    monkeypatch.setattr(sweep_mod, "sweep", sweep_then_late_progress)
    pool = jobs_mod.SweepJobs()
    try:
        held.append(pool.submit(sc, n=1000, out=tmp_path / "run", run="run"))
        job = held[0]
        for _ in range(600):
            if job.state not in ("queued", "running"):
                break
            time.sleep(0.1)
    finally:
        pool.close()
    assert job.state == "cancelled"
    assert job.done == 1000
