"""Facility tables: readers, per-kind defaults, snapping, carving into loads, and clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from grids import small_grid

import svitlo
from svitlo.errors import FacilityError, ScenarioError
from svitlo.facilities.attach import carve_facility_loads
from svitlo.facilities.defaults import FACILITY_KINDS, KIND_DEFAULTS
from svitlo.io.facilities import load_facilities, parse_geojson

DATA = Path(__file__).parents[1] / "data"


def test_csv_defaults_and_fuel_in_litres():
    f = load_facilities(DATA / "facilities_small.csv", small_grid()).set_index("id")
    assert list(f.index) == ["hosp", "tower", "shelter", "hosp2", "fire"]
    assert f.loc["shelter", "fuel_h"] == 10.0                      # 200 l at 20 l/h
    assert f.loc["tower", "tier"] == KIND_DEFAULTS["telecom"]["tier"]   # empty cell -> kind default
    assert f.loc["shelter", "battery_kwh"] == 0.0
    assert f.loc["fire", "bus"] == "bus:4" and 0 < f.loc["fire", "snap_m"] < 100   # snapped by lat/lon
    assert f.loc["hosp", "lat"] == 50.0 and f.loc["hosp", "lon"] == 30.02          # from its bus
    assert np.isnan(f.loc["hosp", "snap_m"])


def test_geojson_and_inline_agree():
    g = small_grid()
    a = load_facilities(DATA / "facilities_small.geojson", g).set_index("id")
    assert a.loc["h1", "bus"] == "bus:2" and a.loc["t1", "bus"] == "bus:3"
    assert a.loc["h1", "fuel_h"] == 24.0 and a.loc["t1", "tier"] == 1
    assert a.loc["t1", "battery_kwh"] == 4.0 * KIND_DEFAULTS["telecom"]["demand_kw"]
    assert a.loc["t1", "gen_kw"] == 0.0 and a.loc["h1", "gen_kw"] == a.loc["h1", "demand_kw"]
    raw = json.loads((DATA / "facilities_small.geojson").read_text())
    inline = [{**ft["properties"], "lon": ft["geometry"]["coordinates"][0], "lat": ft["geometry"]["coordinates"][1]}
              for ft in raw["features"]]
    b = load_facilities(inline, g).set_index("id")
    pd.testing.assert_frame_equal(a, b)


def test_every_kind_has_defaults():
    rows = [{"id": k, "kind": k, "bus": "bus:1"} for k in FACILITY_KINDS]
    f = load_facilities(rows, small_grid())
    assert (f["demand_kw"] > 0).all() and (f["tier"] >= 1).all()
    backup = f["gen_kw"] * f["fuel_h"] / f["demand_kw"] + f["battery_kwh"] / f["demand_kw"]
    assert (backup > 0).all()   # every kind has some backup by default
    assert f.set_index("id").loc["hospital", "fuel_h"] >= 120   # Ministry of Health: >= 5 days of fuel


def test_carving_keeps_bus_load():
    g = small_grid()
    f = load_facilities(DATA / "facilities_small.csv", g)
    g2, f2 = carve_facility_loads(g, f)
    assert g2.loads["p_mw"].sum() == pytest.approx(g.loads["p_mw"].sum())
    per_bus = g2.loads.groupby("bus")["p_mw"].sum()
    pd.testing.assert_series_equal(per_bus, g.loads.groupby("bus")["p_mw"].sum())
    carved = g2.loads.loc["load:facility:hosp"]
    assert carved["p_mw"] == pytest.approx(0.5) and carved["tier"] == 1 and carved["bus"] == "bus:2"
    assert g2.loads.loc["load:2", "p_mw"] == pytest.approx(5.0 - 0.5 - 0.003)
    assert g is not g2 and "load:facility:hosp" not in g.loads.index   # the input grid is untouched


def test_critical_facility_spared_by_shedding(check):
    # an island short of generation sheds the standard load first; the hospital's carved load stays served
    g = small_grid().with_tables(generators=pd.DataFrame({"bus": ["bus:0"], "p_mw": [10.0], "p_max_mw": [12.0]},
                                                         index=["gen:0"]))
    imp = svitlo.assess(g, {"grid": "small", "facilities": [{"id": "h", "kind": "hospital", "bus": "bus:2"}]})
    check(imp)
    ld = imp.loads.set_index("id")
    assert ld.loc["load:facility:h", "shed_mw"] == 0 and ld.loc["load:2", "shed_mw"] > 0
    assert imp.extras["facilities"].set_index("id").loc["h", "state"] == "grid"


@pytest.mark.parametrize("rows, field, message", [
    ([{"id": "h", "kind": "hospital", "bus": "bus:99"}], "bus = 'bus:99'", "refers to a bus that does not exist"),
    ([{"id": "h", "kind": "hospital", "bus": "bus:1", "fuel_h": -3}], "fuel_h = -3.0", "expected a finite number >= 0"),
    ([{"id": "h", "kind": "hospital", "lat": 48.0, "lon": 30.0}], "lat/lon = (48.0, 30.0)",
     "km outside the area of the grid's buses"),
    ([{"id": "h", "kind": "hopsital", "bus": "bus:1"}], "kind = 'hopsital'", "unknown kind"),
    ([{"id": "h", "kind": "hospital", "bus": "bus:1"}, {"id": "h", "kind": "water", "bus": "bus:1"}],
     "id = 'h'", "duplicate facility id"),
    ([{"id": "h", "kind": "hospital", "bus": "bus:1", "fuel_l": 100}], "fuel_l_per_h", "needs fuel_l_per_h"),
    ([{"id": "h", "kind": "hospital", "bus": "bus:1", "fuel_l": 100, "fuel_l_per_h": 5, "fuel_h": 3}], "fuel_l",
     "not both"),
    ([{"id": "h", "kind": "hospital", "bus": "bus:1", "gen_fail_prob": 1.5}], "gen_fail_prob = 1.5",
     "a probability"),
    ([{"id": "h", "kind": "hospital", "bus": "bus:1", "demand_kw": 0}], "demand_kw = 0.0", "> 0"),
    ([{"id": "h", "kind": "hospital", "load": "load:77"}], "load = 'load:77'", "refers to a load"),
    ([{"id": "h", "kind": "hospital"}], "bus", "needs a bus, a load or lat/lon"),
    ([{"id": "h", "kind": "hospital", "bus": "bus:1", "colour": "red"}], "colour", "unknown column"),
    ([{"id": "h", "kind": "hospital", "bus": "bus:1", "tier": "vital"}], "tier = 'vital'", "unknown tier"),
])
def test_bad_facilities_are_clear(rows, field, message):
    with pytest.raises(FacilityError) as e:
        load_facilities(rows, small_grid(), source="fac.csv")
    text = str(e.value)
    assert text.startswith("fac.csv: ") and field in text and message in text
    assert "facility 'h'" in text or "id" in field or field in ("colour",)


def test_bad_files(tmp_path):
    g = small_grid()
    with pytest.raises(FacilityError, match="file not found"):
        load_facilities(tmp_path / "nope.csv", g)
    p = tmp_path / "f.csv"
    p.write_text("id,kind,bus,fuel_h\nh,hospital,bus:1,-5\n")
    with pytest.raises(FacilityError, match=r"f\.csv: fuel_h = -5\.0: .*\(facility 'h', row 1\)"):
        load_facilities(p, g)
    with pytest.raises(FacilityError, match=r"features\[0\]\.geometry\.type = 'LineString'"):
        parse_geojson({"type": "FeatureCollection", "features": [{"geometry": {"type": "LineString"}}]})
    # a scenario points at a facility file relative to its folder; errors name that file
    (tmp_path / "s.yaml").write_text("grid: case9\nfacilities: f.csv\n")
    with pytest.raises(FacilityError, match=r"f\.csv: fuel_h = -5\.0"):
        svitlo.assess(None, svitlo.load_scenario(tmp_path / "s.yaml"))
    with pytest.raises(ScenarioError, match="facilities"):
        svitlo.load_scenario(_yaml(tmp_path, "grid: case9\nfacilities: 3\n"))


def _yaml(tmp_path, text):
    p = tmp_path / "t.yaml"
    p.write_text(text)
    return p
