"""Refuels in litres convert through the facility's consumption rate (or fail clearly), and a tank holds up to
its capacity ``tank_l`` (default: the initial fuel), in the timeline and its batched form alike."""

from __future__ import annotations

import pandas as pd
import pytest

import svitlo
from svitlo.errors import FacilityError, ScenarioError
from svitlo.model.grid import make_grid
from svitlo.pipeline import prepare
from svitlo.simulation.fast import run_timelines, timeline_model


def dark_grid():
    """bus:1 with 5 MW of load; its only unit gen:0 is struck at hour 0, so the facility runs on backup."""
    return make_grid(
        buses=pd.DataFrame(index=["bus:0", "bus:1"]),
        branches=pd.DataFrame({"from_bus": ["bus:0"], "to_bus": ["bus:1"], "x_pu": [0.1]}, index=["line:0"]),
        generators=pd.DataFrame({"bus": ["bus:0"], "p_mw": [10.0], "p_max_mw": [10.0]}, index=["gen:0"]),
        loads=pd.DataFrame({"bus": ["bus:1"], "p_mw": [15.0], "tier": [1]}, index=["load:1"]), name="dark")


def hospital(**fuel):
    return {"id": "h", "kind": "hospital", "bus": "bus:1", "demand_kw": 1000.0, "tier": 1, "gen_kw": 1000.0,
            "gen_fail_prob": 0.0, **fuel}


def scenario(fac, refuel):
    return {"grid": "dark", "facilities": [fac], "strikes": [{"assets": ["gen:0"]}], "horizon_h": 12,
            "refuel": [{"at_h": 1, "facilities": ["h"], **refuel}]}


def test_litres_to_a_facility_without_consumption_rate_is_an_error():
    """Before: the delivery silently did nothing (litres / NaN l/h became 0 h)."""
    sc = scenario(hospital(fuel_h=2.0), {"fuel_l": 400.0})
    with pytest.raises(ScenarioError, match="fuel_l_per_h") as e:
        svitlo.simulate(dark_grid(), sc)
    assert "refuel[0].fuel_l" in str(e.value) and "'h'" in str(e.value) and "\n" not in str(e.value)
    with pytest.raises(ScenarioError, match="fuel_l_per_h"):
        timeline_model(prepare(dark_grid(), sc))


@pytest.mark.parametrize(("tank", "backup_h"), [(None, 3), (500.0, 10)])
def test_refuel_in_litres_fills_up_to_the_tank(tank, backup_h):
    """100 l at 50 l/h = 2 h of fuel. At hour 1 (1 h burnt) 400 l = 8 h arrive: without ``tank_l`` the tank
    holds its initial 2 h (on backup hours 0-2, dark from hour 3); with a 500 l (10 h) tank 1 + 8 = 9 h more
    (on backup hours 0-9)."""
    fac = hospital(fuel_l=100.0, fuel_l_per_h=50.0, **({} if tank is None else {"tank_l": tank}))
    sc = scenario(fac, {"fuel_l": 400.0})
    tl = svitlo.simulate(dark_grid(), sc)
    f = tl.facilities.set_index("id").loc["h"]
    assert f["hours_on_backup"] == backup_h
    ev = tl.events[tl.events["kind"] == "refuel"]["text"].tolist()
    assert len(ev) == 1 and (("did not fit" in ev[0]) == (tank is None))
    b = run_timelines(timeline_model(prepare(dark_grid(), sc)), [0])
    assert int(b.hours_on_backup[0, 0]) == int(f["hours_on_backup"])


def test_tank_needs_a_rate_and_holds_the_initial_fuel():
    with pytest.raises(FacilityError, match="fuel_l_per_h"):
        prepare(dark_grid(), {"grid": "dark", "facilities": [hospital(fuel_h=2.0, tank_l=100.0)]})
    with pytest.raises(FacilityError, match="exceeds the tank") as e:
        prepare(dark_grid(), {"grid": "dark", "facilities": [hospital(fuel_l=600.0, fuel_l_per_h=50.0,
                                                                      tank_l=500.0)]})
    assert "tank_l" in str(e.value)
