"""Bad input gets a clear error naming the file, field and value."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import svitlo
from svitlo.errors import GridError, ScenarioError
from svitlo.io.matpower import read_matpower


def _tables():
    buses = pd.DataFrame(index=["bus:1", "bus:2"])
    branches = pd.DataFrame({"from_bus": ["bus:1"], "to_bus": ["bus:2"], "x_pu": [0.1], "rate_mw": [50.0]},
                            index=["line:0"])
    gens = pd.DataFrame({"bus": ["bus:1"], "p_mw": [10.0], "p_max_mw": [50.0]}, index=["gen:0"])
    loads = pd.DataFrame({"bus": ["bus:2"], "p_mw": [10.0]}, index=["load:0"])
    return dict(buses=buses, branches=branches, generators=gens, loads=loads)


def test_malformed_matpower_file(tmp_path):
    p = tmp_path / "broken.m"
    p.write_text("function mpc = broken\nmpc.baseMVA = 100;\nmpc.bus = [\n1 3 0 0;\n2 1 5\n];\n")
    with pytest.raises(GridError) as e:
        read_matpower(p)
    msg = str(e.value)
    assert "broken.m" in msg and "malformed MATPOWER file" in msg


def test_matpower_branch_to_missing_bus(tmp_path):
    src = (svitlo.io.matpower.matpower_case_path("case9").read_text()
           .replace("\t1\t4\t0\t0.0576", "\t1\t44\t0\t0.0576", 1))
    p = tmp_path / "case9bad.m"
    p.write_text(src)
    with pytest.raises(GridError, match=r"case9bad\.m: mpc\.branch\.T_BUS = 44: branch refers to a bus not in mpc\.bus"):
        read_matpower(p)


def test_missing_file():
    with pytest.raises(GridError, match="nope.m: file not found"):
        svitlo.load_grid({"file": "nope.m"})


def test_yaml_unknown_key(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("grid: case9\nstrikes:\n  - random: {k: 2, kind: [line]}\n")
    with pytest.raises(ScenarioError) as e:
        svitlo.load_scenario(p)
    msg = str(e.value)
    assert str(p) in msg and "strikes[0].random.kind" in msg and "unknown key 'kind'" in msg
    assert "'kinds'" in msg  # says what was expected


def test_yaml_top_level_unknown_key(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("grid: case9\nstrike: []\n")
    with pytest.raises(ScenarioError, match=r"strike = \[\]: unknown key 'strike'; expected one of .*'strikes'"):
        svitlo.load_scenario(p)


def test_yaml_impossible_value(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("grid: case9\nstrikes:\n  - random: {k: -1}\n")
    with pytest.raises(ScenarioError, match=r"strikes\[0\]\.random\.k = -1: .*greater than or equal to 1"):
        svitlo.load_scenario(p)


def test_yaml_not_yaml(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("grid: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        svitlo.load_scenario(p)


def test_unknown_asset_id():
    with pytest.raises(ScenarioError) as e:
        svitlo.assess("case9", {"strikes": [{"assets": ["line:999"]}]})
    msg = str(e.value)
    assert "strikes[0].assets = 'line:999'" in msg and "unknown asset id" in msg


def test_unknown_asset_kind():
    with pytest.raises(ScenarioError, match=r"'kind:key'"):
        svitlo.assess("case9", {"strikes": [{"assets": ["line3"]}]})


def test_too_many_random_assets():
    with pytest.raises(ScenarioError, match=r"strikes\[0\]\.random\.k = 100: asks for more assets"):
        svitlo.assess("case9", {"strikes": [{"random": {"k": 100}}]})


def test_negative_rating():
    t = _tables()
    t["branches"]["rate_mw"] = -5.0
    with pytest.raises(GridError, match=r"branches\.rate_mw = -5\.0: expected a number >= 0 .*'line:0'"):
        svitlo.make_grid(**t, name="g.json")


def test_nan_reactance():
    t = _tables()
    t["branches"]["x_pu"] = math.nan
    with pytest.raises(GridError, match=r"branches\.x_pu = nan: expected a finite non-zero number"):
        svitlo.make_grid(**t)


def test_zero_reactance():
    t = _tables()
    t["branches"]["x_pu"] = 0.0
    with pytest.raises(GridError, match=r"branches\.x_pu = 0\.0"):
        svitlo.make_grid(**t)


def test_empty_grid():
    t = _tables()
    t["buses"] = pd.DataFrame(index=pd.Index([], dtype=str))
    with pytest.raises(GridError, match="empty grid"):
        svitlo.make_grid(**t)


def test_reference_to_missing_bus():
    t = _tables()
    t["loads"]["bus"] = "bus:9"
    with pytest.raises(GridError, match=r"loads\.bus = 'bus:9': refers to a bus that does not exist"):
        svitlo.make_grid(**t)


def test_duplicate_id():
    t = _tables()
    t["buses"] = pd.DataFrame(index=["bus:1", "bus:1", "bus:2"])
    with pytest.raises(GridError, match="duplicate asset id"):
        svitlo.make_grid(**t)


def test_wrong_kind_in_table():
    t = _tables()
    t["loads"].index = ["gen:5"]
    with pytest.raises(GridError, match="does not belong in this table"):
        svitlo.make_grid(**t)


def test_unknown_case_name():
    with pytest.raises(GridError, match="unknown case"):
        svitlo.load_grid("case_does_not_exist")


def test_unknown_tier_name():
    with pytest.raises(ScenarioError, match=r"tiers\.default.*unknown tier 'vip'"):
        svitlo.parse_scenario({"grid": "case9", "tiers": {"default": "vip"}})


def test_strike_with_two_kinds():
    with pytest.raises(ScenarioError, match="exactly one of"):
        svitlo.parse_scenario({"grid": "case9", "strikes": [{"assets": ["line:1"], "random": {"k": 1}}]})
