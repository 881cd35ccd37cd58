"""Sweeps on Dask: identical metrics for any number of workers; a worker killed mid-sweep loses nothing."""

from __future__ import annotations

import os
import signal
import threading

import pandas as pd
import pytest

from svitlo.analyses.sweep import open_run, sweep, verify_rows

distributed = pytest.importorskip("distributed")

SC = {"name": "dask sweep", "grid": "case14", "seed": 8,
      "strikes": [{"random": {"k": 2}}, {"random": {"k": 1, "kinds": ["gen", "bus"]}}]}


def test_same_rows_in_process_and_on_1_or_2_workers(tmp_path):
    ref = open_run(sweep(SC, n=60, out=tmp_path / "local", chunk_size=7).path).scenarios()
    for k in (1, 2):
        out = sweep(SC, n=60, out=tmp_path / f"w{k}", chunk_size=7, workers=k, processes=False)
        assert out.computed == 60
        pd.testing.assert_frame_equal(open_run(out.path).scenarios(), ref)


def test_scheduler_address(tmp_path):
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        out = sweep(SC, n=30, out=tmp_path / "r", chunk_size=10, scheduler=cluster.scheduler_address)
    assert out.computed == 30 and verify_rows(out.path)["rows"] == 30


def test_unreachable_scheduler_leaves_no_run_folder(tmp_path, monkeypatch):
    from svitlo.errors import InputError

    monkeypatch.setattr(distributed, "Client", _refuse)
    with pytest.raises(InputError, match="cannot reach a Dask scheduler"):
        sweep(SC, n=10, out=tmp_path / "r", scheduler="tcp://127.0.0.1:9")
    assert not (tmp_path / "r").exists()


def _refuse(address, **kw):
    raise OSError(f"Timed out trying to connect to {address}")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_worker_killed_mid_sweep_loses_no_scenario(tmp_path):
    sc = {**SC, "grid": "case118", "strikes": [{"random": {"k": 6}}]}
    n, cs = 1200, 20
    ref = open_run(sweep(sc, n=n, out=tmp_path / "ref", chunk_size=cs).path).scenarios()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        seen: dict[str, object] = {}
        lock = threading.Lock()

        def on_progress(done: int, total: int) -> None:
            with lock:
                if done < 2 * cs or "killed" in seen:
                    return
                busy = {w: ks for w, ks in client.processing().items() if ks and w in pids}
                if busy:  # kill a worker while it holds tasks; the nanny restarts it and they are rerun
                    victim = sorted(busy)[0]
                    seen["busy"] = list(busy[victim])
                    os.kill(pids[victim], signal.SIGKILL)
                    seen["killed"] = done

        out = sweep(sc, n=n, out=tmp_path / "dask", chunk_size=cs, client=client, in_flight=6,
                    progress=on_progress)
    assert seen.get("killed", n) < n, "no worker was killed while it held tasks"
    assert out.computed == n
    assert verify_rows(out.path) == {"rows": n, "distinct": n}
    pd.testing.assert_frame_equal(open_run(out.path).scenarios(), ref)
