"""A real sweep process killed with SIGKILL mid-run resumes to exactly N scenarios, none lost or duplicated."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from svitlo.analyses.sweep import open_run, verify_rows
from svitlo.analyses.sweep.evaluate import evaluate_chunk, make_context
from svitlo.engine.batch.draws import scenario_keys
from svitlo.io.scenario_file import load_scenario

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")

YAML = """name: killed sweep
grid: case14
seed: 21
strikes:
  - random: {k: 2, kinds: [line, trafo]}
  - random: {k: 1, kinds: [bus, gen]}
"""


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from svitlo.cli.main import run; run()", *args]


def test_sigkill_mid_run_then_resume(tmp_path):
    y = tmp_path / "s.yaml"
    y.write_text(YAML)
    out = tmp_path / "run"
    n, cs = 6000, 20
    args = ["sweep", str(y), "--n", str(n), "--out", str(out), "--chunk-size", str(cs), "--quiet"]
    proc = subprocess.Popen(_cli(*args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    parts = out / "parts"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if parts.is_dir() and len(list(parts.glob("part-*.parquet"))) >= 3:
                break
            time.sleep(0.005)
        assert proc.poll() is None, "the sweep ended before it could be killed: " + proc.stderr.read().decode()
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    stored = sorted(parts.glob("part-*.parquet"))
    assert 3 <= len(stored) < n // cs
    assert not open_run(out).complete

    res = subprocess.run(_cli(*args, "--json"), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    run = open_run(out)
    assert run.complete
    assert verify_rows(out) == {"rows": n, "distinct": n}
    df = run.scenarios(columns=["scenario", "seed", "shed_mw", "people_without_power", "destroyed"])
    assert df["scenario"].tolist() == list(range(n))
    assert df["seed"].tolist() == scenario_keys(21, 0, n).tolist()
    assert not list(parts.glob(".tmp-*"))

    # rows from before and after the kill equal a fresh in-process evaluation (sampled chunks)
    ctx = make_context(load_scenario(y))
    rng = np.random.default_rng(0)
    for c in rng.choice(n // cs, size=4, replace=False):
        start = int(c) * cs
        fresh = evaluate_chunk(ctx, root_seed=21, start=start, stop=start + cs).to_pandas()
        got = df.iloc[start:start + cs].reset_index(drop=True)
        pd.testing.assert_series_equal(got["shed_mw"], fresh["shed_mw"])
        assert got["destroyed"].map(list).tolist() == fresh["destroyed"].map(list).tolist()


def test_old_run_format_is_readable_but_not_resumed(tmp_path, capsys):
    """A run folder of format svitlo-sweep/1 (strikes drawn one SeedSequence per scenario) is still reported,
    but resuming it is refused before any work, with a message naming both formats."""
    import json

    from svitlo.analyses.sweep import sweep
    from svitlo.cli.main import main

    y = tmp_path / "s.yaml"
    y.write_text("grid: case9\nseed: 2\nstrikes:\n  - random: {k: 1}\n")
    out = tmp_path / "old"
    sweep(str(y), n=12, out=out, chunk_size=5)
    man = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**man, "format": "svitlo-sweep/1"}))
    assert open_run(out).complete and verify_rows(out)["rows"] == 12
    before = sorted(p.stat().st_mtime_ns for p in (out / "parts").iterdir())
    assert main(["sweep", str(y), "--n", "12", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "svitlo-sweep/1" in err and "svitlo-sweep/2" in err and "new folder" in err
    assert sorted(p.stat().st_mtime_ns for p in (out / "parts").iterdir()) == before
