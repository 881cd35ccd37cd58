"""One damage, one state: ``assess``, the timeline's hour 0 and a sweep row agree (cascade included), and a
facility is either on grid or off grid, each megawatt of critical load counted once."""

from __future__ import annotations

import pandas as pd
import pytest

import svitlo
from svitlo.analyses.sweep.results import open_run
from svitlo.analyses.sweep.run import sweep
from svitlo.errors import SvitloWarning
from svitlo.model.grid import make_grid
from svitlo.pipeline import simulate

CASCADE = {"grid": {"matpower": "case_ACTIVSg500"}, "strikes": [{"targeted": {"k": 3, "by": "flow"}}],
           "cascade": {"enabled": True}, "horizon_h": 2}


def test_cascade_same_hour0_state_from_assess_timeline_and_sweep(tmp_path, check):
    imp = svitlo.assess(None, CASCADE)
    check(imp)
    assert imp.info["cascade"]["tripped"], "the three highest-flow branches should start a cascade"
    assert imp.metrics["shed_mw"] > 100.0
    tl = simulate(None, CASCADE)
    h0 = tl.impacts[0]
    check(h0)
    assert h0.info["cascade"]["tripped"] == imp.info["cascade"]["tripped"]
    for k in ("shed_mw", "served_mw", "islands", "energised_islands", "overloaded_branches"):
        assert h0.metrics[k] == pytest.approx(imp.metrics[k], abs=1e-6), k
    assert tl.hourly.loc[0, "shed_mw"] == pytest.approx(imp.metrics["shed_mw"], abs=1e-6)
    res = sweep(CASCADE, n=1, out=tmp_path / "run")
    assert res.engine == "exact-cascade"
    row = open_run(res.path).scenarios().iloc[0]
    for k in ("shed_mw", "served_mw", "islands", "energised_islands", "overloaded_branches"):
        assert row[k] == pytest.approx(imp.metrics[k], abs=1e-6), k
    # without the cascade the overloads stay: the key really changes the result
    plain = svitlo.assess(None, {**CASCADE, "cascade": {"enabled": False}})
    assert plain.metrics["overloaded_branches"] > 0 and plain.metrics["shed_mw"] < imp.metrics["shed_mw"]


def test_ac_check_in_a_sweep_warns(tmp_path):
    with pytest.warns(SvitloWarning, match="ac_check is not run in sweeps"):
        sweep({"grid": "case9", "strikes": [{"random": {"k": 1}}], "ac_check": True}, n=2, out=tmp_path / "r")


def test_ac_check_in_the_timeline():
    tl = simulate("case9", {"strikes": [{"assets": ["line:3"]}], "horizon_h": 2, "ac_check": True})
    assert tl.impacts[0].info["ac"]["converged"] is True
    assert "ac_islands" in tl.impacts[0].extras


def hospital_grid():
    """gen:0 (10 MW) feeds bus:1 with 15 MW of tier-1 load; a 5 MW hospital is carved out of it."""
    return make_grid(
        buses=pd.DataFrame(index=["bus:0", "bus:1"]),
        branches=pd.DataFrame({"from_bus": ["bus:0"], "to_bus": ["bus:1"], "x_pu": [0.1]}, index=["line:0"]),
        generators=pd.DataFrame({"bus": ["bus:0"], "p_mw": [10.0], "p_max_mw": [10.0]}, index=["gen:0"]),
        loads=pd.DataFrame({"bus": ["bus:1"], "p_mw": [15.0], "tier": [1], "population": [1000.0]},
                           index=["load:1"]), name="hospital")


HOSPITAL = {"id": "h", "kind": "hospital", "name": "Hospital", "bus": "bus:1", "demand_kw": 5000.0, "tier": 1,
            "gen_kw": 5000.0, "fuel_h": 48.0, "gen_fail_prob": 0.0}


@pytest.mark.parametrize("mode", ["balance", "opf"])
def test_partly_shed_facility_goes_off_grid_and_is_counted_once(mode, check):
    """Hand computation: the island has 10 MW for 15 MW of tier-1 demand. Proportional shedding would give the
    hospital 3.33 MW, which it cannot use; it runs on its own 5 MW generator and the grid re-dispatches the
    3.33 MW to the other 10 MW of tier-1 load. Critical served = 10 MW (grid) + 5 MW (hospital backup) = 15 MW,
    each megawatt once; the grid serves the hospital nothing. (Before: the grid's 10 MW included 3.33 MW sent to
    the hospital, and its 5 MW of backup was added on top.)"""
    sc = {"grid": "hospital", "facilities": [HOSPITAL], "horizon_h": 2, "mode": mode}
    tl = simulate(hospital_grid(), sc)
    check(tl.impacts[0])
    h = tl.hourly.loc[0]
    loads = tl.impacts[0].loads.set_index("id")
    fac_served = float(loads.loc["load:facility:h", "served_mw"])
    others = float(loads.loc["load:1", "served_mw"])
    on_grid = tl.facility_states.loc["h", 0] == "grid"
    # on grid fully, or off grid taking nothing; the grid uses all 10 MW either way
    assert fac_served == pytest.approx(5.0 if on_grid else 0.0, abs=1e-7)
    assert fac_served + others == pytest.approx(10.0)
    assert h["critical_load_mw"] == pytest.approx(15.0)
    assert h["critical_served_mw"] == pytest.approx(others + 5.0)  # the hospital's 5 MW once: grid or backup
    assert h["critical_served_mw"] <= h["critical_load_mw"] + 1e-9
    if mode == "balance":  # proportional within the tier: the hospital would get 3.33 MW, so it is off grid
        assert not on_grid and tl.facility_states.loc["h", 0] == "backup"
        assert h["critical_served_mw"] == pytest.approx(15.0)
    # assess reports the same hour-0 state
    imp = svitlo.assess(hospital_grid(), sc)
    check(imp)
    assert imp.extras["facilities"].set_index("id").loc["h", "state"] == tl.facility_states.loc["h", 0]
    assert imp.loads.set_index("id").loc["load:1", "served_mw"] == pytest.approx(others)


def test_hospital_without_backup_goes_dark_and_counts_nothing():
    """No backup: the hospital is dark; the grid serves the other 10 MW of tier-1 load (10 / 15 critical)."""
    tl = simulate(hospital_grid(), {"grid": "hospital", "facilities": [{**HOSPITAL, "gen_kw": 0.0}],
                                    "horizon_h": 1})
    h = tl.hourly.loc[0]
    assert tl.facility_states.loc["h", 0] == "dark"
    assert h["critical_served_mw"] / h["critical_load_mw"] == pytest.approx(10 / 15)



def test_sweep_rows_take_facilities_off_grid_like_assess(tmp_path):
    """The batched engine does not model the on/off-grid rule: the scenarios where a facility's carved load is
    shed in part go to the exact path, so each row equals ``assess`` (before: the row counted the hospital's
    3.33 MW as served by the grid and 1.67 MW as shed)."""
    from svitlo.analyses.sweep.evaluate import evaluate_chunk, make_context
    from svitlo.pipeline import prepare

    sc = {"grid": "hospital", "facilities": [HOSPITAL], "strikes": [{"random": {"k": 1, "kinds": ["gen"]}}]}
    intact = {**sc, "strikes": []}
    for spec in (intact, sc):
        p = prepare(hospital_grid(), spec)
        rows = evaluate_chunk(make_context(p.scenario, grid=p), root_seed=3, start=0, stop=2).to_pylist()
        for row in rows:
            a = svitlo.assess(p, None, destroyed=row["destroyed"]) if row["destroyed"] else svitlo.assess(p)
            for k in ("served_mw", "shed_mw", "weighted_shed_mw", "generation_mw", "people_without_power"):
                assert row[k] == pytest.approx(a.metrics[k], abs=1e-9), k
            fac = a.extras["facilities"]
            off = sorted(fac.loc[fac["state"] != "grid", "id"].astype(str)) if "state" in fac else None
            if off is not None:
                assert sorted(row["facilities_without_grid"]) == off
    p = prepare(hospital_grid(), intact)
    row = evaluate_chunk(make_context(p.scenario, grid=p), root_seed=3, start=0, stop=1).to_pylist()[0]
    assert row["served_mw"] == pytest.approx(10.0) and row["shed_mw"] == pytest.approx(5.0)  # the hospital: backup
    assert row["facilities_without_grid"] == ["h"]
