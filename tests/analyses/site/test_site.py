"""Backup siting: unit specs, the per-facility evaluation equals a full timeline with the backup written into
the facility table, greedy against the exact allocation, out-of-sample figures and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from grids import small_grid

import svitlo
from svitlo.analyses import site as S
from svitlo.analyses.site.units import NEW_GEN_FAIL_PROB, Unit, parse_add
from svitlo.analyses.sweep.plan import scenario_seeds
from svitlo.cli.main import main
from svitlo.errors import ScenarioError
from svitlo.simulation.fast import run_timelines, timeline_model


@pytest.mark.parametrize("spec,want", [
    ("generator:500kW x 5", (Unit("generator", 500.0, None, 24.0), 5)),
    ("Generator: 0.5 MW / 48h x2", (Unit("generator", 500.0, None, 48.0), 2)),
    ("battery:200kWh x 3", (Unit("battery", None, 200.0, None), 3)),
    ("battery:50kW/0.2MWh", (Unit("battery", 50.0, 200.0, None), 1)),
])
def test_parse_add(spec, want):
    assert parse_add(spec) == want


@pytest.mark.parametrize("spec", ["generator", "generator:500", "generator:500kWh", "battery:50kW", "solar:5kW",
                                  "generator:500kW x 0", "battery:0kWh", "generator:500kW/2kWh"])
def test_parse_add_rejects(spec):
    with pytest.raises(ScenarioError, match=r"--add = "):
        parse_add(spec)

FAC = str(Path(__file__).resolve().parents[2] / "data" / "facilities_small.csv")


def story():
    return {"grid": "small", "facilities": FAC, "horizon_h": 36, "strikes": [{"random": {"k": 2, "kinds": ["line"]}}],
            "repairs": {"crews": 1, "durations_h": {"line": {"median_h": 12, "spread": 0.8}}},
            "refuel": [{"at_h": 20, "kinds": ["hospital"], "delay_h": {"median_h": 3, "spread": 1.0}}],
            "gen_mttf_h": 30.0}


@pytest.mark.parametrize("unit,k", [(Unit("generator", 30.0, None, 6.0), 2), (Unit("battery", None, 40.0, None), 3)])
def test_facility_evaluation_equals_full_timeline_with_backup_in_the_table(unit, k):
    g = small_grid()
    m = timeline_model(svitlo.prepare(g, story()))
    seeds = scenario_seeds(3, 0, 40)
    smp = S._sample(m, seeds)
    fac = pd.read_csv(FAC)
    for f in range(len(fac)):
        got = S._hours_dark(m, smp, f, unit, k)
        row = fac.iloc[f].copy()
        demand = float(row["demand_kw"])
        if unit.what == "battery":
            row["battery_kwh"] = (0.0 if pd.isna(row["battery_kwh"]) else row["battery_kwh"]) + k * unit.kwh
        else:
            had = float(row["gen_kw"]) > 0
            spec = m.spec
            row["fuel_h"] = (float(spec.tank_h[f]) if had else 0.0) + k * unit.fuel_h
            row["fuel_l"], row["fuel_l_per_h"] = np.nan, np.nan
            row["gen_fail_prob"] = (float(spec.fail_prob[f]) if had else 1.0) * NEW_GEN_FAIL_PROB ** k
            row["gen_kw"] = float(row["gen_kw"]) if had else unit.kw
        assert demand > 0
        table = fac.copy()
        table.iloc[f] = row
        recs = json.loads(table.to_json(orient="records"))
        recs = [{c: v for c, v in r.items() if v is not None and v == v} for r in recs]
        m2 = timeline_model(svitlo.prepare(g, {**story(), "facilities": recs}))
        want = run_timelines(m2, seeds).hours_dark[:, f]
        np.testing.assert_allclose(got, want, atol=1e-12, err_msg=f"facility {fac.id[f]}")


def test_greedy_matches_exact_and_out_of_sample_is_paired():
    g = small_grid()
    r = S.site(story(), add="battery:30kWh x 3", n=60, n_out=40, grid=g, exact=True)
    d = r.to_dict()
    assert d["exact"]["status"] == "optimal"
    assert d["in_sample"]["after"] <= d["in_sample"]["before"] + 1e-9
    assert d["in_sample"]["after"] == pytest.approx(d["exact"]["in_sample_after"], rel=1e-9)
    o = d["out_of_sample"]
    assert o["n"] == 40 and o["ci95"][0] <= o["after"] <= o["ci95"][1]
    assert o["improvement"] == pytest.approx(o["before"] - o["after"], rel=1e-9, abs=1e-9)
    assert set(d["baselines"]) == {"largest_population_first", "most_often_dark_first"}
    assert sum(s["count"] for s in d["sites"]) == 3


def test_candidates_outside_are_rejected(tmp_path):
    with pytest.raises(ScenarioError, match=r"candidates\[1\] = 'bus:9'"):
        S.site(story(), add="battery:30kWh", n=5, n_out=5, grid=small_grid(), candidates=["hosp", "bus:9"])
    y = tmp_path / "s.yaml"
    y.write_text("grid: case9\nfacilities: [{id: h, kind: hospital, bus: bus:5}]\nstrikes: [{assets: [line:3]}]\n")
    c = tmp_path / "c.txt"
    c.write_text("id\nnope\n")
    assert main(["site", str(y), "--add", "battery:10kWh", "--candidates", str(c), "--n", "3", "--n-out", "3"]) == 2
    assert main(["site", str(y), "--add", "battery:ten", "--n", "3"]) == 2
    assert main(["site", str(y), "--add", "battery:10kWh", "--n", "0"]) == 2


CASE9_HOSPITAL = {"grid": "case9", "horizon_h": 12, "strikes": [{"assets": ["bus:4"]}],
                  "facilities": [{"id": "h", "kind": "hospital", "bus": "bus:4", "fuel_h": 2, "gen_fail_prob": 0},
                                 {"id": "w", "kind": "water", "bus": "bus:1"}]}


def test_hub_supply_by_priority_rating_and_fuel():
    from svitlo.analyses.site.hubs import bus_groups, hub_supply

    on = np.zeros((2, 3, 3), bool)
    on[1, 0, :] = True                            # timeline 1: the first facility keeps the grid
    got = hub_supply(on, demand_kw=np.array([60.0, 50.0, 30.0]), order=np.array([0, 1, 2]), kw=100.0, kwh=200.0)
    # timeline 0: 60 kW first, 50 kW does not fit the 40 kW left, 30 kW does; 90 kWh an hour: 20 kWh are left
    # for the third hour, enough for neither
    np.testing.assert_array_equal(got[0], [[True, True, False], [False, False, False], [True, True, False]])
    # timeline 1: the hub carries the other two (80 kW) for 2 h, then 40 kWh are left for the 30 kW one
    np.testing.assert_array_equal(got[1], [[False] * 3, [True, True, False], [True, True, True]])
    g = bus_groups(np.array(["b:1", "b:2", "b:1"]), np.array([2, 1, 1]), np.array([10.0, 5.0, 1.0]))
    assert g["b:1"].tolist() == [2, 0] and g["b:2"].tolist() == [1]


def test_hub_at_a_bus_carries_its_facility_before_its_own_fuel():
    # the hospital's bus is destroyed at hour 0: 2 h of its own fuel, then dark for 10 of 12 h (50,000 people).
    # A 600 kW hub with 5 h of fuel at rated load (3,000 kWh) carries its 500 kW for 6 h; its own 2 h come
    # after: dark 4 h.
    r = S.site(CASE9_HOSPITAL, add="generator:600kW/5h", n=3, n_out=3, at="buses")
    d = r.to_dict()
    assert d["at"] == "buses" and d["sites"] == [{"where": "bus:4", "what": "generator", "count": 1, "kw": 600.0,
                                                 "fuel_h": 5.0}]
    assert d["out_of_sample"]["before"] == pytest.approx(50_000 * 10)
    assert d["out_of_sample"]["after"] == pytest.approx(50_000 * 4)
    # too small a hub (below the hospital's 500 kW) carries nothing
    small = S.site(CASE9_HOSPITAL, add="generator:400kW/5h", n=3, n_out=3, at="buses").to_dict()
    assert small["out_of_sample"]["after"] == pytest.approx(50_000 * 10)


def test_bus_siting_bad_input(tmp_path):
    with pytest.raises(ScenarioError, match=r"candidates\[0\] = 'h'"):
        S.site(CASE9_HOSPITAL, add="generator:600kW", n=2, n_out=2, at="buses", candidates=["h"])
    with pytest.raises(ScenarioError, match="--add"):
        S.site(CASE9_HOSPITAL, add="battery:100kWh", n=2, n_out=2, at="buses")
    y = tmp_path / "s.yaml"
    y.write_text("grid: case9\nfacilities: [{id: h, kind: hospital, bus: bus:5}]\nstrikes: [{assets: [line:3]}]\n")
    assert main(["site", str(y), "--add", "generator:10kW", "--at", "towers", "--n", "2", "--n-out", "2"]) == 2


def test_quick_mode_is_the_hour0_strike_held_over_the_horizon():
    # no waves, repairs or rolling outages: the quick answer is the timeline answer
    full = S.site(CASE9_HOSPITAL, add="battery:1000kWh", n=4, n_out=4).to_dict()
    quick = S.site(CASE9_HOSPITAL, add="battery:1000kWh", n=4, n_out=4, quick=True).to_dict()
    assert quick["scenario_set"] == "hour0" and full["scenario_set"] == "timelines"
    assert quick["out_of_sample"] == full["out_of_sample"] and quick["sites"] == full["sites"]
    # a repair at hour 4 brings the hospital back in the timelines; the hour-0 sweep holds the strike
    rep = {**CASE9_HOSPITAL, "repairs": {"explicit": [{"asset": "bus:4", "done_h": 4}]}}
    full = S.site(rep, add="battery:1000kWh", n=4, n_out=4).to_dict()
    quick = S.site(rep, add="battery:1000kWh", n=4, n_out=4, quick=True).to_dict()
    assert full["out_of_sample"]["before"] == pytest.approx(50_000 * 2)      # dark hours 2-3
    assert quick["out_of_sample"]["before"] == pytest.approx(50_000 * 10)


def test_cli_site_at_buses_quick_json(tmp_path, capsys):
    y = tmp_path / "s.yaml"
    y.write_text("grid: case9\nhorizon_h: 12\nstrikes: [{assets: [bus:4]}]\nfacilities: [{id: h, kind: hospital, "
                 "bus: bus:4, fuel_h: 2, gen_fail_prob: 0}]\n")
    assert main(["site", str(y), "--add", "generator:600kW/5h", "--at", "buses", "--quick", "--n", "2",
                 "--n-out", "2", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["at"] == "buses" and d["scenario_set"] == "hour0" and d["sites"][0]["where"] == "bus:4"
    assert set(d) >= {"sites", "in_sample", "out_of_sample", "baselines"}
