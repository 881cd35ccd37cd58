"""``svitlo demo`` end to end, the embedded demo data, and ``svitlo report-html``."""

from __future__ import annotations

import importlib.util
import json
import math

import numpy as np
import pandas as pd
import pytest

from svitlo.cli.demo_cmd import demo_scenario_path, run_demo
from svitlo.cli.main import main
from svitlo.io.cases import load_grid
from svitlo.io.pandapower_net import from_pandapower
from svitlo.io.scenario_file import load_scenario


@pytest.fixture(scope="module")
def demo_json():
    """One run of ``svitlo demo --no-report --json`` (shared by the read-only checks below)."""
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["demo", "--no-report", "--json"])
    assert code == 0
    return json.loads(buf.getvalue())


def test_demo_json_tells_a_consistent_story(demo_json):
    d = demo_json
    st = d["story"]
    assert d["report"] is None and d["horizon_h"] == 72
    tl = d["timeline"]
    hourly = pd.DataFrame(tl["hourly"])
    assert hourly["hour"].tolist() == list(range(72))
    # what was hit: the town's substation among about ten bombs' worth of assets
    struck = {e["subject"] for e in st["struck"] if e["hour"] == 0}
    assert {"bus:58", "trafo:114"} <= struck and 5 <= len(struck) <= 25
    assert any(e["hour"] == 30 for e in st["struck"])          # the second wave
    # an island stays lit on the synthetic CHP
    isl = st["energised_islands_at_0"]
    assert len(isl) >= 2 and all(abs(i["served_mw"] - i["generation_mw"]) < 1e-6 for i in isl)
    # facilities: some go to backup, some go dark, some backups run out
    states = pd.DataFrame(tl["facility_states"]).T
    assert (states == "backup").any(axis=1).sum() >= 3
    assert (states == "dark").any(axis=1).sum() >= 3
    assert len(st["backup_empty"]) >= 1
    assert {"hosp-town", "water-town"} <= set(st["facilities_on_backup"])
    # refuels and repairs happen, and power comes back after repairs, or after UFLS once operators reconnect
    assert {e["hour"] for e in st["refuels"]} == {18, 36}
    repair_hours = {e["hour"] for e in st["repairs"]}
    back_after_repair = [e for e in st["power_back"] if e["hour"] in repair_hours]
    ufls = [e for e in st["frequency_events"] if "under-frequency load shedding" in e["text"]]
    load_back = {e["hour"] for e in st["frequency_events"] if "reconnect" in e["text"]}
    sep = [e for e in st["frequency_events"] if e["hour"] == 0 and "separated" in e["text"]]
    assert sep  # the town's CHP island separates at hour 0 and its frequency nadir is told
    if ufls:  # when the separation trips UFLS, operators reconnect that load the hour after
        assert ufls[0]["hour"] == 0 and 1 in load_back
    assert len(back_after_repair) >= 3
    early = [e for e in st["power_back"] if e["hour"] < min(repair_hours)]
    assert all(e["hour"] in load_back for e in early)
    for fid in ("hosp-town", "water-town"):
        row = states.loc[fid].tolist()
        first = row.index("backup")
        assert "grid" in row[first:], fid                        # back on grid power later
    # people without power: worst after the strike, much better at the end; telecom coverage dips and recovers
    pwp = np.array(st["people_without_power"])
    assert pwp.max() > 20_000 and pwp[-1] < 0.5 * pwp.max()
    tel = np.array(st["telecom_coverage"])
    # (one south-eastern base station stays dark: the bay of line:70 at the moderately damaged bus:134 is repaired
    # after the horizon, buses coming last in the crews' order)
    assert tel.min() < 0.6 and tel[-1] >= 0.75 and tel[-1] > tel.min()
    # damage states: the substation destroyed, lighter damage elsewhere, each with its repair time
    dmg = pd.DataFrame(tl["damage"])
    assert dmg.loc[dmg["asset"] == "bus:58", "state"].tolist()[0] == "destroyed"
    assert {"light", "moderate"} & set(dmg["state"]) and (dmg["repair_h"] > 0).all()
    # the hourly table agrees with the facility states
    tel_ids = [f for f in states.index if f.startswith("tel")]
    assert (hourly["dark_telecom"].to_numpy() == (states.loc[tel_ids] == "dark").sum(axis=0).to_numpy()).all()


def test_demo_impacts_keep_the_physics_invariants(check):
    res = run_demo()
    assert res.elapsed_s < 60
    assert 0 in res.timeline.impacts
    for imp in res.timeline.impacts.values():
        check(imp)


def test_demo_prints_the_story_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "demo.html"
    assert main(["demo", "--report", str(out)]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for heading in ("What was hit", "Which islands formed", "What went dark and when", "Backups and fuel",
                    "Repairs", "People without power"):
        assert heading in text
    assert "Central District Hospital" in text and str(out) in text
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Fire &amp; rescue station" in html


def test_report_html_command(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["simulate", str(demo_scenario_path()), "--html", str(out), "--title", "Demo <1>"]) == 0
    assert "written to" in " ".join(capsys.readouterr().out.split())
    assert "<title>Demo &lt;1&gt;</title>" in out.read_text(encoding="utf-8")
    assert main(["simulate", str(tmp_path / "missing.yaml")]) == 2
    assert main(["report-html", str(tmp_path / "missing.yaml")]) == 2  # the deprecated alias


def test_shipped_demo_grid_equals_its_rebuild():
    path = demo_scenario_path().with_name("build_grid.py")
    spec = importlib.util.spec_from_file_location("build_grid", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    rebuilt = from_pandapower(mod.build_net(), name="oberrhein_chp")
    shipped = load_grid({"file": str(demo_scenario_path().with_name("oberrhein_chp.json"))})
    for t in ("buses", "branches", "generators", "loads"):
        pd.testing.assert_frame_equal(getattr(rebuilt, t), getattr(shipped, t), check_exact=False, rtol=1e-12)
    chp = shipped.generators.loc["gen:0"]
    assert chp["bus"] == "bus:55" and bool(chp["forms_island"]) and chp["p_max_mw"] == mod.CHP["max_p_mw"]
    assert shipped.buses[["lat", "lon"]].notna().all().all()


def test_demo_scenario_and_facilities():
    from svitlo.io.facilities import load_facilities

    sc = load_scenario(demo_scenario_path())
    bombs = sum(a.n for s in sc.strikes for a in s.geographic.aim)
    assert bombs == 10 and sc.horizon_h == 72 and sc.repairs.crews >= 1 and sc.refuel
    assert {a.weapon for s in sc.strikes for a in s.geographic.aim} <= {"FAB-250", "FAB-500", "FAB-1500"}
    grid = load_grid(sc.grid, base_dir=sc.base_dir)
    fac = load_facilities(demo_scenario_path().with_name("facilities.csv"), grid)
    assert set(fac["kind"]) == {"hospital", "water", "heating", "telecom", "shelter", "emergency"}
    assert fac["id"].is_unique and len(fac) >= 20
    # every facility sits on a bus whose load can hold its demand, close to where it says it is
    bus_load_kw = grid.loads.groupby("bus")["p_mw"].sum() * 1000
    per_bus = fac.groupby("bus")["demand_kw"].sum()
    assert (per_bus <= bus_load_kw.reindex(per_bus.index).fillna(0) + 1e-9).all()
    snapped = fac["snap_m"].dropna()
    assert len(snapped) and (snapped < 150).all()
    # the coordinates are plausible for the grid's region
    assert fac["lat"].between(48.3, 48.5).all() and fac["lon"].between(7.7, 8.0).all()
    assert not any(math.isnan(v) for v in fac["lat"])
