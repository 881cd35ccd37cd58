"""The timeline on a hand-built grid where every facility's hours until dark are known exactly."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from grids import small_grid

import svitlo
from svitlo.errors import ScenarioError
from svitlo.model.grid import make_grid
from svitlo.pipeline import simulate
from svitlo.simulation.timeline import EVENT_KINDS

DATA = Path(__file__).parents[1] / "data"
FAC = str(DATA / "facilities_small.csv")


def scenario(**kw):
    base = {"grid": "small", "facilities": FAC, "horizon_h": 60, "strikes": [{"assets": ["line:1", "line:2"]}]}
    base.update(kw)
    return base


def check_all(tl, check):
    assert 0 in tl.impacts
    for imp in tl.impacts.values():
        check(imp)


def hours(tl):
    return tl.facilities.set_index("id")


def test_hours_until_dark_known_exactly(check):
    # hospital: 48 h of fuel; tower: 12 kWh / 3 kW = 4 h of battery; shelter: 200 l / 20 l/h = 10 h;
    # clinic (hosp2): generator fails to start (p = 1), no battery -> dark at once; fire station snaps to bus:4,
    # which stays connected -> never dark.
    tl = simulate(small_grid(), scenario())
    check_all(tl, check)
    f = hours(tl)
    assert f.loc["hosp", "hours_until_dark"] == 48.0
    assert f.loc["tower", "hours_until_dark"] == 4.0
    assert f.loc["shelter", "hours_until_dark"] == 10.0
    assert f.loc["hosp2", "hours_until_dark"] == 0.0
    assert math.isnan(f.loc["fire", "hours_until_dark"]) and f.loc["fire", "bus"] == "bus:4"
    assert f.loc["hosp", "hours_on_backup"] == 48.0 and f.loc["hosp", "hours_dark"] == 12.0
    assert f.loc["tower", "hours_on_backup"] == 4.0 and f.loc["tower", "hours_dark"] == 56.0
    st = tl.facility_states
    assert (st.loc["hosp", :47] == "backup").all() and (st.loc["hosp", 48:] == "dark").all()
    assert (st.loc["tower", :3] == "backup").all() and (st.loc["tower", 4:] == "dark").all()
    assert (st.loc["fire"] == "grid").all()
    # backup left at the end of each hour runs down by one hour per hour
    np.testing.assert_allclose(tl.backup_left_h.loc["hosp", :47].to_numpy(float), 47 - np.arange(48))
    # hourly metrics agree with the facility states
    h = tl.hourly
    assert h.loc[4, "dark_telecom"] == 1 and h.loc[3, "dark_telecom"] == 0
    assert h.loc[3, "telecom_coverage"] == 1.0 and h.loc[4, "telecom_coverage"] == 0.0
    assert (h["dark_hospital"] == (st.loc[["hosp", "hosp2"]] == "dark").sum().to_numpy()).all()
    # facility demand is part of its bus's load: the total load is the grid's 25 MW
    np.testing.assert_allclose(h["load_mw"], 25.0)
    np.testing.assert_allclose(h["shed_mw"], 10.0)  # buses 2 and 3 cut off all along
    np.testing.assert_allclose(h["ens_cum_mwh"], h["ens_mwh"].cumsum())
    # the critical curve: tier-1 facilities (hosp 0.5, hosp2 0.2, fire 0.05 MW), hosp on its generator to 48 h
    np.testing.assert_allclose(h["critical_load_mw"], 0.75)
    np.testing.assert_allclose(h.loc[:47, "critical_served_mw"], 0.55)
    np.testing.assert_allclose(h.loc[48:, "critical_served_mw"], 0.05)


def test_contract_shapes_and_events():
    tl = simulate(small_grid(), scenario(horizon_h=12))
    H = 12
    assert list(tl.hourly["hour"]) == list(range(H))
    for c in ("hour", "load_mw", "served_mw", "shed_mw", "ens_mwh", "ens_weighted_mwh", "people_without_power",
              "critical_load_mw", "critical_served_mw", "telecom_coverage", "islands", "energised_islands",
              "dark_hospital", "dark_water", "dark_heating", "dark_telecom", "dark_shelter", "dark_emergency"):
        assert c in tl.hourly.columns, c
    for c in ("id", "kind", "name", "bus", "lat", "lon", "population", "tier", "demand_kw", "hours_until_dark",
              "hours_dark", "hours_on_backup"):
        assert c in tl.facilities.columns, c
    for m in (tl.facility_states, tl.backup_left_h, tl.bus_energised, tl.bus_island, tl.branch_in_service):
        assert list(m.columns) == list(range(H))
    assert set(tl.facility_states.to_numpy().ravel()) <= {"grid", "backup", "dark"}
    assert tl.bus_island.loc["bus:2", 0] >= 0 and not tl.bus_energised.loc["bus:2", 0]
    assert not tl.branch_in_service.loc["line:1", 0] and tl.branch_in_service.loc["line:0", 0]
    assert list(tl.events.columns) == ["hour", "kind", "subject", "text"]
    assert set(tl.events["kind"]) <= set(EVENT_KINDS)
    d = json.loads(json.dumps(tl.to_dict(), allow_nan=False))
    assert len(d["hourly"]) == H and d["facility_states"]["hosp"][0] == "backup"
    assert "0" in d["impacts"]


def test_repairs_restore_power(check):
    # one crew, lines take 8 h: line:1 (to the hospital) is repaired first (same duration, id order), line:2 next
    tl = simulate(small_grid(), scenario(repairs={"crews": 1, "durations_h": {"line": 8}}))
    check_all(tl, check)
    ev = tl.events
    rep = ev[ev["kind"] == "repair"]
    assert rep[["hour", "subject"]].values.tolist() == [[8, "line:1"], [16, "line:2"]]
    f = hours(tl)
    assert math.isnan(f.loc["hosp", "hours_until_dark"]) and f.loc["hosp", "hours_on_backup"] == 8.0
    assert f.loc["tower", "hours_until_dark"] == 4.0 and f.loc["tower", "hours_dark"] == 4.0
    assert f.loc["shelter", "hours_until_dark"] == 10.0 and f.loc["shelter", "hours_dark"] == 6.0
    assert (tl.facility_states.loc["hosp", 8:] == "grid").all()
    assert set(tl.impacts) == {0, 8, 16}
    assert tl.hourly.loc[16, "shed_mw"] == pytest.approx(0.0) and tl.hourly.loc[16, "islands"] == 1
    back = ev[(ev["kind"] == "power_back")]
    assert set(back["subject"]) == {"hosp", "tower", "shelter", "hosp2"}
    # the crew order can be stated: line:2 first
    tl2 = simulate(small_grid(), scenario(repairs={"crews": 1, "order": ["line:2"], "durations_h": {"line": 8}}))
    rep2 = tl2.events[tl2.events["kind"] == "repair"]
    assert rep2["subject"].tolist() == ["line:2", "line:1"]
    # two crews finish both at hour 8; a battery recharges once the grid is back
    tl3 = simulate(small_grid(), scenario(repairs={"crews": 2, "durations_h": {"line": 8}}))
    assert (tl3.events[tl3.events["kind"] == "repair"]["hour"] == 8).all()
    assert tl3.backup_left_h.loc["tower", 8] == pytest.approx(0.4)   # 4 h battery, 10 h to recharge from empty
    assert tl3.backup_left_h.loc["tower", 30] == pytest.approx(4.0)


def test_refuel_extends_hospital(check):
    # at hour 30 the hospital has 18 h left; +24 h -> 42 h -> dark at 72, beyond the 60 h horizon
    tl = simulate(small_grid(), scenario(refuel=[{"at_h": 30, "facilities": ["hosp"], "fuel_h": 24}]))
    check_all(tl, check)
    f = hours(tl)
    assert math.isnan(f.loc["hosp", "hours_until_dark"]) and f.loc["hosp", "hours_on_backup"] == 60.0
    assert tl.backup_left_h.loc["hosp", 30] == pytest.approx(41.0)
    ev = tl.events[tl.events["kind"] == "refuel"]
    assert ev["subject"].tolist() == ["hosp"] and ev["hour"].tolist() == [30]
    # a refuel cannot overfill: +100 h at hour 10 caps at the 48 h tank -> dark at 58
    tl2 = simulate(small_grid(), scenario(refuel=[{"at_h": 10, "kinds": ["hospital"], "fuel_h": 100}]))
    assert hours(tl2).loc["hosp", "hours_until_dark"] == 58.0
    # refuelling a dark shelter (in litres) restarts its generator
    tl3 = simulate(small_grid(), scenario(refuel=[{"at_h": 15, "facilities": ["shelter"], "fuel_l": 100}]))
    s = tl3.facility_states.loc["shelter"]
    assert (s[10:15] == "dark").all() and (s[15:20] == "backup").all() and (s[20:] == "dark").all()
    assert hours(tl3).loc["shelter", "hours_on_backup"] == 15.0
    with pytest.raises(ScenarioError, match="unknown facility id"):
        simulate(small_grid(), scenario(refuel=[{"at_h": 1, "facilities": ["nope"]}]))


def test_second_wave(check):
    # line:3 falls at hour 30: the fire station (5 h of fuel, bus:4) goes dark at 35; line:2 repaired at 20
    tl = simulate(small_grid(), scenario(waves=[{"at_h": 30, "strikes": [{"assets": ["line:3"]}]}],
                                         repairs={"explicit": [{"asset": "line:2", "done_h": 20}]}))
    check_all(tl, check)
    f = hours(tl)
    assert f.loc["fire", "hours_until_dark"] == 35.0 and f.loc["fire", "hours_on_backup"] == 5.0
    assert f.loc["shelter", "hours_until_dark"] == 10.0 and f.loc["shelter", "hours_dark"] == 10.0
    assert f.loc["hosp2", "hours_dark"] == 20.0
    assert set(tl.impacts) == {0, 20, 30}
    h = tl.hourly
    assert h.loc[29, "shed_mw"] == pytest.approx(5.0) and h.loc[30, "shed_mw"] == pytest.approx(10.0)
    strikes = tl.events[tl.events["kind"] == "strike"]
    assert strikes[["hour", "subject"]].values.tolist() == [[0, "line:1"], [0, "line:2"], [30, "line:3"]]
    # a wave striking an asset under repair sends it back to the queue
    tl2 = simulate(small_grid(), scenario(waves=[{"at_h": 4, "strikes": [{"assets": ["line:1"]}]}],
                                          repairs={"crews": 1, "durations_h": {"line": 8}}))
    rep = tl2.events[tl2.events["kind"] == "repair"]
    assert rep[["hour", "subject"]].values.tolist() == [[12, "line:1"], [20, "line:2"]]


def test_generator_start_is_seeded():
    fac = [{"id": f"h{i}", "kind": "hospital", "bus": "bus:2", "gen_fail_prob": 0.5, "fuel_h": 10}
           for i in range(40)]
    runs = [simulate(small_grid(), scenario(facilities=fac, horizon_h=3), seed=s).facilities for s in (1, 1, 2)]
    a, b, c = (r["generator_failed_to_start"].to_numpy() for r in runs)
    assert (a == b).all() and not (a == c).all()
    assert 8 <= a.sum() <= 32   # 40 draws at p = 0.5
    # a failed start means dark from hour 0, a good one means 10 h on backup
    hud = runs[0]["hours_until_dark"].to_numpy()
    assert (hud[a] == 0).all() and np.isnan(hud[~a]).all()


def test_rolling_outages_take_turns(check):
    # 6 loads of 5 MW (tier 3) on one island with 22 MW of generation: 8 MW short -> 2 queues of 5 MW off per
    # 4 h block, in turn: (1, 2), (3, 4), (5, 6), (1, 2) ...
    n = 6
    buses = pd.DataFrame(index=[f"bus:{i}" for i in range(n + 1)])
    br = pd.DataFrame({"from_bus": ["bus:0"] * n, "to_bus": [f"bus:{i + 1}" for i in range(n)], "x_pu": [0.1] * n},
                      index=[f"line:{i}" for i in range(n)])
    gen = pd.DataFrame({"bus": ["bus:0"], "p_mw": [20.0], "p_max_mw": [22.0]}, index=["gen:0"])
    loads = pd.DataFrame({"bus": [f"bus:{i + 1}" for i in range(n)], "p_mw": [5.0] * n, "population": [100.0] * n},
                         index=[f"load:{i}" for i in range(n)])
    g = make_grid(buses=buses, branches=br, generators=gen, loads=loads, name="ring")
    tl = simulate(g, {"grid": "ring", "horizon_h": 16, "rolling_outages": {"queues": 6, "block_h": 4}})
    check_all(tl, check)
    h = tl.hourly
    np.testing.assert_allclose(h["shed_mw"], 10.0)
    np.testing.assert_allclose(h["served_mw"], 20.0)
    assert tl.bus_energised.to_numpy().all()  # rotation switches loads off, not buses
    served = np.array([[imp.loads.set_index("id").loc[f"load:{i}", "served_mw"] for i in range(n)]
                       for _, imp in sorted(tl.impacts.items())])
    assert sorted(tl.impacts) == [0, 4, 8, 12]
    expected_off = [{0, 1}, {2, 3}, {4, 5}, {0, 1}]
    for row, exp in zip(served, expected_off):
        assert {i for i in range(n) if row[i] == 0} == exp
    ro = tl.events[tl.events["kind"] == "rolling_outage"]
    assert ro["hour"].tolist() == [0, 4, 8, 12] and "queues 1, 2 off" in ro["text"].iloc[0]
    # without queues the balance rule sheds every load proportionally instead
    tl0 = simulate(g, {"grid": "ring", "horizon_h": 2})
    assert set(np.round(tl0.impacts[0].loads["served_mw"], 6)) == {round(22.0 / 6, 6)}


def test_rolling_outage_drains_tower_battery():
    # a tower (tier 2, not exempt) on a rotating queue runs on its battery while its queue is off
    n = 6
    buses = pd.DataFrame(index=[f"bus:{i}" for i in range(n + 1)])
    br = pd.DataFrame({"from_bus": ["bus:0"] * n, "to_bus": [f"bus:{i + 1}" for i in range(n)], "x_pu": [0.1] * n},
                      index=[f"line:{i}" for i in range(n)])
    gen = pd.DataFrame({"bus": ["bus:0"], "p_mw": [20.0], "p_max_mw": [22.0]}, index=["gen:0"])
    loads = pd.DataFrame({"bus": [f"bus:{i + 1}" for i in range(n)], "p_mw": [5.0] * n},
                         index=[f"load:{i}" for i in range(n)])
    g = make_grid(buses=buses, branches=br, generators=gen, loads=loads, name="ring")
    fac = [{"id": "t", "kind": "telecom", "bus": "bus:1", "battery_kwh": 6, "demand_kw": 3}]  # 2 h battery
    tl = simulate(g, {"grid": "ring", "horizon_h": 24, "facilities": fac,
                      "rolling_outages": {"queues": 7, "block_h": 4}})
    st = tl.facility_states.loc["t"].to_numpy()
    assert "grid" in st and "dark" in st and "backup" in st
    assert tl.hourly["telecom_coverage"].min() == 0.0


def test_write_parquet_and_assess_facilities(tmp_path, check):
    tl = simulate(small_grid(), scenario(horizon_h=5))
    files = tl.write_parquet(tmp_path)
    assert (tmp_path / "hourly.parquet").exists() and (tmp_path / "impacts" / "hour_0" / "buses.parquet").exists()
    st = pd.read_parquet(tmp_path / "facility_states.parquet")
    assert st.columns[0] == "id" and list(st.columns[1:]) == [str(h) for h in range(5)]
    assert len(files) > 10
    imp = svitlo.assess(small_grid(), scenario())
    check(imp)
    fs = imp.extras["facilities"].set_index("id")
    assert fs.loc["hosp", "state"] == "backup" and fs.loc["hosp2", "state"] == "dark"
    assert fs.loc["fire", "state"] == "grid" and fs.loc["hosp", "backup_left_h"] == pytest.approx(47.0)


def test_bad_timeline_input():
    with pytest.raises(ScenarioError, match="horizon_h"):
        simulate(small_grid(), scenario(horizon_h=0))
    with pytest.raises(ScenarioError, match=r"repairs\.explicit\[0\]\.asset = 'line:99'"):
        simulate(small_grid(), scenario(repairs={"explicit": [{"asset": "line:99", "done_h": 3}]}))
    with pytest.raises(ScenarioError, match="unknown key 'crew'"):
        simulate(small_grid(), scenario(repairs={"crew": 3}))
    with pytest.raises(ScenarioError, match="fuel_h"):
        simulate(small_grid(), scenario(refuel=[{"at_h": 3, "kinds": ["hospital"], "fuel_h": -2}]))


def test_repeat_random_strike_aims_at_what_still_works():
    """A wave's random strike chooses among assets still in service, never one lying destroyed."""
    sc = svitlo.parse_scenario({
        "grid": "case14", "horizon_h": 6, "seed": 3,
        "strikes": [{"random": {"k": 13, "kinds": ["line"]}}],
        "waves": [{"at_h": 2, "strikes": [{"random": {"k": 2, "kinds": ["line"]}}]}],
    })
    tl = svitlo.simulate(None, sc)
    first = set(tl.events.loc[(tl.events["kind"] == "strike") & (tl.events["hour"] == 0), "subject"])
    second = set(tl.events.loc[(tl.events["kind"] == "strike") & (tl.events["hour"] == 2), "subject"])
    lines = {b for b in tl.branch_in_service.index if b.startswith("line:")}
    assert len(first) == 13 and len(second) == 2 and second <= lines - first
