"""Damage states in the timeline: a hand-checked case (light damage repaired in hours, destroyed transformers
waiting for spares, a damaged hospital), and facility damage frequencies."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

import svitlo
from svitlo.model.compiled import compile_grid
from svitlo.model.grid import make_grid
from svitlo.scenarios.blast import distance_for_overpressure_m
from svitlo.scenarios.damage_states import DamageModel
from svitlo.scenarios.geo import DEFAULT_WEAPONS, GeoStrike, fragility
from svitlo.scenarios.outcome import FacilityTargets, geographic_damage
from svitlo.scenarios.strikes import strike_rng

LAT0, LON0 = 50.0, 30.0
M = math.pi / 180 * 6_371_008.8


def ll(east_m, north_m):
    return LAT0 + north_m / M, LON0 + east_m / (M * math.cos(math.radians(LAT0)))


def substation_grid():
    """A generator 2 km away feeds a substation (bus:1 HV, bus:2 and bus:3 MV, all at one point) by line:0."""
    pos = [ll(-2000, 500), ll(0, 0), ll(0, 0), ll(0, 0)]
    buses = pd.DataFrame({"lat": [p[0] for p in pos], "lon": [p[1] for p in pos]},
                         index=[f"bus:{i}" for i in range(4)])
    br = pd.DataFrame({"from_bus": ["bus:0", "bus:1", "bus:1"], "to_bus": ["bus:1", "bus:2", "bus:3"],
                       "x_pu": [0.05, 0.1, 0.1], "kind": ["line", "trafo", "trafo"]},
                      index=["line:0", "trafo:0", "trafo:1"])
    return make_grid(buses=buses, branches=br,
                     generators=pd.DataFrame({"bus": ["bus:0"], "p_max_mw": [100.0]}, index=["gen:0"]),
                     loads=pd.DataFrame({"bus": ["bus:2", "bus:3"], "p_mw": [10.0, 8.0]},
                                        index=["load:0", "load:1"]), name="substation")


def test_light_damage_repaired_in_hours_destroyed_transformer_waits_for_a_spare(check):
    q_lat, q_lon = ll(0, 600)            # the impact: 600 m north of the substation
    sure = {"distance_m": [0, 1000, 1001], "probability": [1.0, 1.0, 0.0]}
    h_lat, h_lon = q_lat, q_lon          # a hospital at the impact point
    t_lat, t_lon = ll(5000, 0)           # a telecom site far away
    sc = {
        "name": "hand-checked", "horizon_h": 120,
        "weapons": {"probe": {"explosive_kg": 0.001, "curves": {"line": {"light": sure},
                                                                "trafo": {"destroyed": sure}}}},
        "strikes": [{"geographic": {"points": [{"lat": q_lat, "lon": q_lon, "weapon": "probe"}],
                                    "kinds": ["line", "trafo"]}}],
        "damage": {"states": {"line": {"light": {"kpa": 10, "repair": {"median_h": 6, "beta": 0}}},
                              "trafo": {"destroyed": {"kpa": 68.9, "needs_spare": True,
                                                      "repair": {"median_h": 10, "beta": 0}}}},
                   "spares": {"trafo": 1}, "spare_wait_h": 20, "lead_time_h": 100,
                   "facilities": {"hospital": {"kpa": 20.7, "repair": {"median_h": 40, "beta": 0}}}},
        "repairs": {"crews": 2},
        "facilities": [{"id": "hosp", "kind": "hospital", "name": "Hospital", "bus": "bus:2", "lat": h_lat,
                        "lon": h_lon, "demand_kw": 500},
                       {"id": "tower", "kind": "telecom", "name": "Tower", "bus": "bus:3", "lat": t_lat,
                        "lon": t_lon, "demand_kw": 3}],
    }
    tl = svitlo.simulate(substation_grid(), sc)
    for imp in tl.impacts.values():
        check(imp)
    ev = tl.events[["hour", "kind", "subject"]].values.tolist()
    # the line (light damage, 6 h) is back at hour 6; trafo:0 takes the one spare (20 h wait + 10 h of work);
    # trafo:1 has none left and waits the 100 h lead time; the hospital is repaired at hour 40
    assert [e for e in ev if e[1] in ("strike", "repair", "damage")] == [
        [0, "strike", "line:0"], [0, "strike", "trafo:0"], [0, "strike", "trafo:1"], [0, "damage", "hosp"],
        [6, "repair", "line:0"], [30, "repair", "trafo:0"], [40, "repair", "hosp"], [110, "repair", "trafo:1"]]
    text = dict(((h, s), t) for h, k, s, t in tl.events[["hour", "kind", "subject", "text"]].values
                if k in ("strike", "damage"))
    assert text[(0, "line:0")] == "line:0 light damage; repair 6.0 h."
    assert text[(0, "trafo:0")] == "trafo:0 destroyed; waits 20 h for a spare, then repair 10.0 h."
    assert "waits 100 h for a new unit" in text[(0, "trafo:1")] and "damaged" in text[(0, "hosp")]
    br = tl.branch_in_service
    assert br.loc["line:0"].tolist() == [False] * 6 + [True] * 114
    assert br.loc["trafo:0"].tolist() == [False] * 30 + [True] * 90
    assert br.loc["trafo:1"].tolist() == [False] * 110 + [True] * 10
    st = tl.facility_states
    assert st.loc["hosp"].tolist() == ["damaged"] * 40 + ["grid"] * 80   # bus:2 is back at hour 30
    assert tl.hourly["damaged_facilities"].tolist() == [1] * 40 + [0] * 80
    assert "damaged" not in set(st.loc["tower"]) and st.loc["tower", 0] == "backup" and st.loc["tower", 109] == "dark"
    assert st.loc["tower", 110] == "grid"
    f = tl.facilities.set_index("id")
    assert f.at["hosp", "hours_damaged"] == 40 and f.at["hosp", "hours_on_backup"] == 0   # no fuel burnt
    # served load: nothing until the line is back, load:0 from hour 30, load:1 from hour 110
    served = tl.hourly["served_mw"].to_numpy()
    assert served[:30].max() == 0 and served[30] > 9 and served[109] < served[110]
    assert tl.damage[["hour", "asset", "state", "wait_h", "repair_h"]].values.tolist() == [
        [0, "line:0", "light", 0.0, 6.0], [0, "trafo:0", "destroyed", 20.0, 10.0],
        [0, "trafo:1", "destroyed", 100.0, 10.0], [0, "hosp", "damaged", 0.0, 40.0]]
    # the story and the report say so
    from svitlo.report.html import render_report
    from svitlo.report.story import tell

    story = tell(tl)
    assert story.sections["hit"][0] == ("Hour 0: 2 assets destroyed — trafo:0, trafo:1; "
                                        "1 asset light damage — line:0.")
    assert "Hospital damaged by the strike" in story.sections["hit"][1]
    assert story.facts["facilities_damaged"] == ["hosp"]
    html = render_report(substation_grid(), tl)
    assert "facilities damaged by strikes" in html and "st-x" in html


def test_facility_damage_frequency_matches_its_curve():
    # one bus far away (a target is needed), facilities on a ray north of the impact
    buses = pd.DataFrame({"lat": [LAT0 + 0.1], "lon": [LON0]}, index=["bus:0"])
    g = make_grid(buses=buses, branches=pd.DataFrame(columns=["from_bus", "to_bus", "x_pu"]),
                  generators=pd.DataFrame({"bus": ["bus:0"], "p_max_mw": [5.0]}, index=["gen:0"]),
                  loads=pd.DataFrame({"bus": ["bus:0"], "p_mw": [1.0]}, index=["load:0"]))
    cg = compile_grid(g)
    d = np.array([20.0, 40.0, 60.0, 90.0, 140.0])
    kinds = np.array(["hospital", "telecom", "hospital", "telecom", "telecom"], dtype=object)
    fac = FacilityTargets(np.array([f"f{i}" for i in range(5)], dtype=object), LAT0 + d / M, np.full(5, LON0), kinds)
    spec = GeoStrike(points=[{"lat": LAT0, "lon": LON0, "weapon": "FAB-500"}], kinds=["bus"])
    n = 1500
    hits = np.zeros(5)
    for s in range(n):
        for f in geographic_damage(cg, spec, strike_rng(s, 0), facilities=fac).facilities:
            hits[int(f.facility[1:])] += 1
            assert f.repair_h > 0
    model, w = DamageModel(), DEFAULT_WEAPONS["FAB-500"]
    d50 = np.array([float(distance_for_overpressure_m(model.facility(k).kpa, 250.0)) for k in kinds])
    p = fragility(d, d50_m=d50, beta=w.beta)
    assert p.max() > 0.8 and p.min() < 0.05
    assert np.all(np.abs(hits / n - p) <= 4.5 * np.sqrt(p * (1 - p) / n) + 1.0 / n), (hits / n, p)
    # the grid outcome of a seed does not depend on the facilities given
    a = geographic_damage(cg, spec, strike_rng(3, 0)).units
    b = geographic_damage(cg, spec, strike_rng(3, 0), facilities=fac).units
    assert a == b
