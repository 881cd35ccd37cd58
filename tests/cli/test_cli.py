"""The command line: assess (summary, --json, --out), cases, exit codes and messages."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from svitlo.cli.main import main

SCENARIO = """\
name: two lines down
grid: case30
strikes:
  - assets: [line:0, line:5]
  - random: {k: 2, kinds: [line], seed: 4}
tiers:
  default: standard
  buses: {bus:7: critical}
"""


@pytest.fixture
def scenario(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(SCENARIO)
    return p


def test_assess_json(scenario, capsys, check):
    assert main(["assess", str(scenario), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for k in ("load_mw", "served_mw", "shed_mw", "islands", "energised_islands", "people_without_power"):
        assert k in d["metrics"]
    assert {"id", "buses", "energised", "generation_mw", "load_mw", "served_mw", "shed_mw"} <= set(d["islands"][0])
    assert {"id", "from_bus", "to_bus", "in_service", "flow_mw", "loading_percent"} <= set(d["branches"][0])
    assert {"id", "bus", "island", "p_mw"} <= set(d["generators"][0])
    assert {"id", "bus", "island", "p_mw", "served_mw", "shed_mw"} <= set(d["loads"][0])
    assert len(d["destroyed"]) == 4
    gen = sum(g["p_mw"] for g in d["generators"])
    assert gen == pytest.approx(d["metrics"]["served_mw"], abs=1e-6)


def test_assess_summary_and_parquet(scenario, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["assess", str(scenario), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "people without power" in text and "islands" in text
    for name in ("islands", "branches", "generators", "loads", "buses"):
        df = pd.read_parquet(out / f"{name}.parquet")
        assert len(df) > 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["metrics"]["islands"] >= 1


def test_bad_input_exit_code_2(tmp_path, capsys):
    p = tmp_path / "bad.yaml"
    p.write_text("grid: case30\nstrikes:\n  - assets: [line:5000]\n")
    assert main(["assess", str(p)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err or "line:5000" in err
    assert "unknown asset id" in err


def test_missing_file_exit_code_2(capsys):
    assert main(["assess", "/nonexistent/s.yaml"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_cases_lists_sizes(capsys):
    assert main(["cases", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    for name in ("case9", "case118", "case9241pegase", "GBnetwork", "mv_oberrhein"):
        assert name in d
    g = __import__("svitlo").load_grid("case118")
    # the listed sizes are pandapower's element counts; svitlo's tables hold the same assets
    assert d["case118"]["buses"] == len(g.buses) and d["case118"]["branches"] == len(g.branches)


@pytest.mark.parametrize("name", ["case14", "case300", "iceland", "mv_oberrhein"])
def test_listed_sizes_are_true(name):
    import pandapower.networks as pn

    from svitlo.io.cases import CASES

    net = getattr(pn, name)()
    n_gen = len(net.gen) + len(net.sgen) + len(net.ext_grid)
    assert CASES[name] == (len(net.bus), len(net.line) + len(net.trafo) + len(net.impedance), n_gen, len(net.load))


def test_console_script_runs(scenario):
    r = subprocess.run([sys.executable, "-c", "from svitlo.cli.main import run; run()", "assess", str(scenario),
                        "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["metrics"]["islands"] >= 1
    r = subprocess.run([sys.executable, "-c", "from svitlo.cli.main import run; run()", "assess", "nope.yaml"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "nope.yaml" in r.stderr


def test_example_scenario_runs(capsys):
    from pathlib import Path

    ex = Path(__file__).parents[2] / "examples" / "static_strike.yaml"
    assert main(["assess", str(ex), "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["metrics"]["destroyed_assets"] == 10 and d["metrics"]["islands"] >= 2


def test_bad_option_value_exit_code_2(scenario, tmp_path, capsys):
    assert main(["sweep", str(scenario), "--n", "0", "--out", str(tmp_path / "r")]) == 2
    assert "--n" in capsys.readouterr().err
    assert main(["assess", str(scenario), "--no-such-option"]) == 2


def test_report_hint_reproduces_the_worst_scenario_exactly(tmp_path, capsys):
    """The hint of ``svitlo report`` names the destroyed set; ``assess --strike`` with it gives the stored row,
    also when the random strike carries a seed of its own (which a sweep draws anew)."""
    import re

    from svitlo.analyses.sweep import open_run

    y = tmp_path / "s.yaml"
    y.write_text("grid: case118\nseed: 3\nstrikes:\n  - random: {k: 6, seed: 11}\n")
    run = tmp_path / "run"
    assert main(["sweep", str(y), "--n", "30", "--out", str(run), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["report", str(run)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    ids = re.search(r"--strike (\S+)", out).group(1)
    worst = open_run(run).worst(k=1).iloc[0]
    assert main(["assess", str(y), "--strike", ids, "--json"]) == 0
    imp = json.loads(capsys.readouterr().out)
    assert imp["metrics"]["shed_mw"] == pytest.approx(float(worst["shed_mw"]), abs=1e-6)
    assert sorted(imp["destroyed"]) == sorted(worst["destroyed"])
