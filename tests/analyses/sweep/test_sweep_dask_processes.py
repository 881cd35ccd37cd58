"""A sweep through a real ``dask scheduler`` process and two ``dask worker`` processes on localhost gives the
same rows as the in-process run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import svitlo
from svitlo.analyses.sweep import open_run, sweep

pytest.importorskip("distributed")

SC = {"name": "dask processes", "grid": "case118", "seed": 4, "strikes": [{"random": {"k": 5}}]}


def _dask_cli() -> str | None:
    return shutil.which("dask", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))


@pytest.mark.timeout(600)
def test_sweep_on_scheduler_and_two_worker_processes(tmp_path):
    exe = _dask_cli()
    if exe is None:
        pytest.skip("the dask command is not installed")
    cli = [exe]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(svitlo.__file__).parents[1]), env.get("PYTHONPATH", "")])
    sfile = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([*cli, "scheduler", "--scheduler-file", str(sfile), "--port", "0",
                               "--no-dashboard", "--host", "127.0.0.1"], env=env, cwd=tmp_path,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        for _ in range(600):
            if sfile.exists() and sfile.stat().st_size:
                break
            time.sleep(0.2)
        address = json.loads(sfile.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen([*cli, "worker", address, "--nthreads", "1", "--no-dashboard",
                                           "--no-nanny"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        from distributed import Client

        with Client(address, timeout=120) as client:
            client.wait_for_workers(2, timeout=300)
            assert len(client.scheduler_info()["workers"]) == 2
        out = sweep(SC, n=240, out=tmp_path / "remote", chunk_size=20, scheduler=address)
        assert out.computed == 240
        ref = open_run(sweep(SC, n=240, out=tmp_path / "local", chunk_size=20).path).scenarios()
        pd.testing.assert_frame_equal(open_run(out.path).scenarios(), ref)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
