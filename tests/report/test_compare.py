"""Two plans side by side: the measures match a hand computation, the page shows both, the CLI compares two
scenario files (``svitlo simulate A.yaml --compare B.yaml``)."""

from __future__ import annotations

import json
import re

import pytest
import yaml

import svitlo
from svitlo.cli.main import main
from svitlo.report.compare import compare_timelines, render_compare

FACILITIES = [
    {"id": "h", "kind": "hospital", "name": "Hospital", "bus": "bus:4", "demand_kw": 5000.0, "tier": 1,
     "gen_kw": 5000.0, "fuel_h": 6.0, "gen_fail_prob": 0.0},
    {"id": "w", "kind": "water", "name": "Pump", "bus": "bus:4", "demand_kw": 2000.0, "tier": 2, "gen_kw": 0.0},
]
#: bus:4 (90 MW, the hospital and a pump) cut off for the whole horizon (no crews) ...
PLAN_A = {"name": "no crews", "grid": "case9", "horizon_h": 12, "strikes": [{"assets": ["line:1", "line:2"]}],
          "facilities": FACILITIES}
#: ... or back after 3 h (two crews, 3 h per line).
PLAN_B = {**PLAN_A, "name": "two crews", "repairs": {"crews": 2, "durations_h": {"line": 3}}}


def test_measures_by_hand():
    """Plan A: the hospital (5 MW, tier 1) runs 6 h on fuel then is dark: tier-1 energy not served by the grid
    5 MW x 12 h = 60 MWh, not supplied at all 5 x 6 = 30 MWh; the pump (no backup) is dark 12 h; 90 MW x 12 h =
    1080 MWh not served. Plan B: both lines back at hour 3: 15 MWh, 0 MWh, pump dark 3 h, 270 MWh."""
    a, b = svitlo.simulate("case9", PLAN_A), svitlo.simulate("case9", PLAN_B)
    c = compare_timelines(a, b)
    assert c["labels"] == ["no crews", "two crews"] and c["format"] == "svitlo-compare/1"
    got = {r["key"]: (r["a"], r["b"], r["better"]) for r in c["summary"]}
    assert got["ens_mwh"][:2] == pytest.approx((1080.0, 270.0)) and got["ens_mwh"][2] == "B"
    assert got["critical_grid_gap_mwh"][:2] == pytest.approx((60.0, 15.0))
    assert got["critical_supplied_gap_mwh"][:2] == pytest.approx((30.0, 0.0))
    assert got["critical_grid_back_h"] == (None, 3.0, "B")         # A: never within the horizon
    assert got["facility_hours_dark"][:2] == pytest.approx((18.0, 3.0))
    assert got["facilities_ever_dark"][:2] == (2.0, 1.0)
    assert got["lowest_telecom_pct"] == (None, None, "")           # no towers: no measure, no winner
    diff = {r["key"]: r["diff"] for r in c["summary"]}
    assert diff["ens_mwh"] == pytest.approx(270.0 - 1080.0)
    fac = {r["id"]: (r["hours_dark_a"], r["hours_dark_b"]) for r in c["facilities"]}
    assert fac == {"h": (6.0, 0.0), "w": (12.0, 3.0)}
    assert c["a"]["hourly"]["critical_grid_mw"][:4] == pytest.approx([0.0] * 4)
    assert c["b"]["hourly"]["critical_grid_mw"][3] == pytest.approx(c["b"]["hourly"]["critical_load_mw"][3])
    assert c["a"]["hourly"]["facilities_dark"][:7] == [1.0] * 6 + [2.0]
    json.dumps(c, allow_nan=False)                                  # JSON-ready
    html = render_compare(a, b, data=c)
    assert html.count('<svg class="chart"') == 5 and "<script" not in html
    row = re.search(r'<tr data-k="critical_grid_back_h">(.*?)</tr>', html).group(1)
    assert "not within the horizon" in row and "two crews" in row
    assert re.search(r"<td>Pump</td><td>12</td><td>3</td><td>-9</td>", html)


def test_cli_compare(tmp_path, capsys):
    pa, pb = tmp_path / "a.yaml", tmp_path / "b.yaml"
    pa.write_text(yaml.safe_dump(PLAN_A))
    pb.write_text(yaml.safe_dump(PLAN_B))
    out = tmp_path / "cmp" / "c.html"
    assert main(["simulate", str(pa), "--compare", str(pb), "--html", str(out)]) in (0, None)
    text = capsys.readouterr().out
    assert "A: a vs B: b" in text and "energy not served" in text and "1,080.0" in text
    assert "A: a vs B: b" in out.read_text()
    assert main(["simulate", str(pa), "--compare", str(pb), "--json"]) in (0, None)
    c = json.loads(capsys.readouterr().out)
    assert next(r for r in c["summary"] if r["key"] == "ens_mwh")["b"] == pytest.approx(270.0)


def test_cli_compare_refuses_out_and_a_missing_file(tmp_path, capsys):
    pa = tmp_path / "a.yaml"
    pa.write_text(yaml.safe_dump(PLAN_A))
    assert main(["simulate", str(pa), "--compare", str(pa), "--out", str(tmp_path / "t")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--out" in err[0] and "--compare" in err[0]
    assert main(["simulate", str(pa), "--compare", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err
