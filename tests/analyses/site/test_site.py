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
