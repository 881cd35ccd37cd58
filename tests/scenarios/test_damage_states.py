"""Damage states: blast calibration, per-state probabilities, bays lost, correlated sites, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri
from scipy.stats import multivariate_normal

import svitlo
from svitlo.errors import ScenarioError
from svitlo.model.compiled import compile_grid
from svitlo.model.grid import make_grid
from svitlo.scenarios.blast import (
    distance_for_overpressure_m,
    incident_overpressure_kpa,
    kinney_graham_kpa,
    scaled_distance,
)
from svitlo.scenarios.damage_states import DEFAULT_STATES, DamageModel
from svitlo.scenarios.geo import DEFAULT_WEAPONS, GeoStrike, WeaponClass, fragility
from svitlo.scenarios.outcome import exceedance, geographic_damage
from svitlo.scenarios.sites import bus_sites
from svitlo.scenarios.strikes import strike_rng

LAT0, LON0 = 50.0, 30.0
M_PER_DEG_LAT = math.pi / 180 * 6_371_008.8
STATES = ["light", "moderate", "severe", "destroyed"]


def grid_at(north_m, east_m=None, *, lines=True):
    """Buses at the given offsets (m) from (LAT0, LON0), chained by lines, a generator at the first."""
    n = len(north_m)
    east = np.zeros(n) if east_m is None else np.asarray(east_m, float)
    lat = LAT0 + np.asarray(north_m, float) / M_PER_DEG_LAT
    lon = LON0 + east / (M_PER_DEG_LAT * math.cos(math.radians(LAT0)))
    buses = pd.DataFrame({"lat": lat, "lon": lon}, index=[f"bus:{i}" for i in range(n)])
    k = n - 1 if lines else 0
    br = pd.DataFrame({"from_bus": [f"bus:{i}" for i in range(k)], "to_bus": [f"bus:{i}" for i in range(1, k + 1)],
                       "x_pu": [0.1] * k}, index=[f"line:{i}" for i in range(k)])
    gen = pd.DataFrame({"bus": ["bus:0"], "p_max_mw": [50.0]}, index=["gen:0"])
    loads = pd.DataFrame({"bus": [f"bus:{n - 1}"], "p_mw": [5.0]}, index=["load:0"])
    return make_grid(buses=buses, branches=br, generators=gen, loads=loads, name="ray")


def point(weapon="FAB-500"):
    return GeoStrike(points=[{"lat": LAT0, "lon": LON0, "weapon": weapon}], kinds=["bus"])


# --- calibration -------------------------------------------------------------------------------------------------

def test_kingery_bulmash_against_kinney_graham_and_its_inverse():
    z = np.geomspace(1.0, 40.0, 30)
    ratio = incident_overpressure_kpa(z) / kinney_graham_kpa(z)
    assert np.all((ratio > 0.75) & (ratio < 1.3)), ratio          # two independent fits of the same physics
    p = incident_overpressure_kpa(z)
    assert np.all(np.diff(p) < 0) or np.all(np.diff(p)[np.abs(z[1:] - 23.8) > 1] < 0)
    back = scaled_distance(distance_for_overpressure_m(p, 250.0), 250.0)
    far = np.abs(z - 23.8) > 0.5                                     # away from the fit's 0.7 % seam
    np.testing.assert_allclose(back[far], z[far], rtol=2e-3)
    # cube-root scaling: the same pressure at R W^(1/3)
    assert distance_for_overpressure_m(20.7, 8 * 95.0) == pytest.approx(2 * distance_for_overpressure_m(20.7, 95.0))


def test_reviewed_calibration_light_is_the_old_radius_destroyed_is_much_closer():
    # the old FAB-500 "destruction radius" (143.6 m) is ~5 kPa: window level, now the light state of a substation
    assert float(incident_overpressure_kpa(scaled_distance(143.6, 250.0))) == pytest.approx(5.2, abs=0.2)
    w = DEFAULT_WEAPONS["FAB-500"]
    d = [w.d50_for("bus", s) for s in STATES]
    assert d == sorted(d, reverse=True) and 130 < d[0] < 150 and 20 < d[-1] < 30
    # lines: light at ~10 kPa, the old line median (0.6 x substation)
    assert w.d50_for("line", "light") == pytest.approx(0.6 * 143.6, rel=0.05)
    # wooden poles snap at 34.5 kPa (Clancey): the line's severe state
    assert DEFAULT_STATES["line"]["severe"].kpa == 34.5
    # a class by d50_m keeps its old meaning: a substation destroyed with probability 0.5 there
    user = WeaponClass(d50_m=40.0)
    assert user.d50_for("bus", "destroyed") == pytest.approx(40.0, rel=1e-3)
    assert user.d50_for("bus", "light") > 40.0 * 4


# --- per-state probabilities ---------------------------------------------------------------------------------------

def test_state_frequencies_match_their_curves():
    d = np.array([15.0, 25.0, 35.0, 50.0, 70.0, 100.0, 140.0, 200.0, 300.0])
    cg = compile_grid(grid_at(d))
    spec = point()
    n = 1500
    counts = np.zeros((d.size, 4))
    for s in range(n):
        for u in geographic_damage(cg, spec, strike_rng(s, 0)).units:
            counts[int(u.asset.split(":")[1]), : STATES.index(u.state) + 1] += 1
    p = exceedance(d, DEFAULT_WEAPONS["FAB-500"], "bus", DamageModel())
    assert p[0, 3] > 0.6 and p[-1, 0] < 0.05 and p[5, 0] > 0.8 and p[5, 3] < 0.01
    se = np.sqrt(p * (1 - p) / n)
    # 4.5 standard errors over 36 cells: a false alarm below 1e-3
    assert np.all(np.abs(counts / n - p) <= 4.5 * se + 1.0 / n), (counts / n, p)


def test_tabulated_weapon_curve_and_its_checks():
    curve = {"distance_m": [0, 100, 200], "probability": [1.0, 0.5, 0.0]}
    w = WeaponClass(explosive_kg=100.0, curves={"bus": {"destroyed": curve}})
    p = exceedance(np.array([50.0, 150.0, 250.0]), w, "bus", DamageModel())
    np.testing.assert_allclose(p[:, 3], [0.75, 0.25, 0.0])
    assert np.all(p[:, 2] >= p[:, 3])                        # states nest
    with pytest.raises(ValueError, match="must not increase with distance"):
        WeaponClass(explosive_kg=1.0, curves={"bus": {"light": {"distance_m": [0, 10], "probability": [0.2, 0.3]}}})


def test_bays_of_a_damaged_bus_are_lost_with_the_function_share():
    # a bus with 8 lines, a generator and a load; the only state 'moderate' is reached for sure
    n_br = 8
    buses = pd.DataFrame({"lat": [LAT0] + [LAT0 + 0.05] * n_br, "lon": [LON0] + [LON0 + 0.01 * i for i in range(n_br)]},
                         index=[f"bus:{i}" for i in range(n_br + 1)])
    br = pd.DataFrame({"from_bus": ["bus:0"] * n_br, "to_bus": [f"bus:{i}" for i in range(1, n_br + 1)],
                       "x_pu": [0.1] * n_br}, index=[f"line:{i}" for i in range(n_br)])
    g = make_grid(buses=buses, branches=br, generators=pd.DataFrame({"bus": ["bus:0"], "p_max_mw": [5.0]},
                                                                    index=["gen:0"]),
                  loads=pd.DataFrame({"bus": ["bus:0"], "p_mw": [1.0]}, index=["load:0"]))
    model = DamageModel(states={"bus": {"moderate": {"kpa": 0.5, "function_lost": 0.4,
                                                     "repair": {"median_h": 72}}}})
    cg = compile_grid(g)
    out = np.zeros(n_br + 2)
    n = 600
    for s in range(n):
        units = geographic_damage(cg, point(), strike_rng(s, 0), model=model).units
        assert [(u.asset, u.state) for u in units] == [("bus:0", "moderate")]
        assert "bus:0" not in units[0].out
        bays = [f"line:{i}" for i in range(n_br)] + ["gen:0", "load:0"]
        out += [b in units[0].out for b in bays]
    se = math.sqrt(0.4 * 0.6 / n)
    assert np.all(np.abs(out / n - 0.4) <= 4.5 * se)


# --- sites ------------------------------------------------------------------------------------------------------------

def _pair_frequencies(cg, model, n=2000):
    both = first = 0
    for s in range(n):
        hit = {u.asset for u in geographic_damage(cg, point(), strike_rng(s, 0), model=model).units}
        first += "bus:0" in hit
        both += {"bus:0", "bus:1"} <= hit
    return first / n, both / n


@pytest.mark.parametrize("rho", [0.0, 0.8, 1.0])
def test_buses_at_one_site_are_damaged_with_the_stated_correlation(rho):
    # two buses at the same point, where P(>= light) = p; a bus tie (not a target) joins them
    w = DEFAULT_WEAPONS["FAB-500"]
    d = w.d50_for("bus", "light") * 1.1
    cg = compile_grid(grid_at([d, d]))
    model = DamageModel(correlation=rho)
    assert bus_sites(cg, site_radius_m=model.site_radius_m).tolist() == [0, 0]
    p = float(exceedance(np.array([d]), w, "bus", model)[0, 0])
    q = ndtri(p)
    expected = p if rho == 1.0 else float(multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([q, q]))
    n = 2000
    first, both = _pair_frequencies(cg, model, n)
    assert abs(first - p) <= 4.5 * math.sqrt(p * (1 - p) / n)
    assert abs(both - expected) <= 4.5 * math.sqrt(expected * (1 - expected) / n) + 1e-9, (both, expected)


def test_sites_by_radius_and_by_name():
    cg = compile_grid(grid_at([100.0, 130.0, 400.0]))
    assert bus_sites(cg).tolist() == [0, 1, 2]                              # 1 m: three sites
    assert bus_sites(cg, site_radius_m=50.0).tolist() == [0, 0, 1]           # within 50 m: one site
    named = DamageModel(sites=[{"id": "sub", "buses": ["bus:0", "bus:2"]}]).sites
    assert bus_sites(cg, sites=named).tolist() == [0, 1, 0]
    # named buses far apart are drawn together: with rho = 1 both or neither (equal distance needed for equal
    # probabilities, so compare the joint draw with the independent product instead)
    model = DamageModel(sites=[{"id": "pair", "buses": ["bus:0", "bus:1"]}], correlation=1.0)
    cg2 = compile_grid(grid_at([150.0, 150.0], east_m=[0.0, 0.5], lines=False))
    first, both = _pair_frequencies(cg2, model, 400)
    assert both == pytest.approx(first, abs=1e-9)


# --- bad input ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("damage, field, value", [
    ({"states": {"bus": {"smashed": {"kpa": 5, "repair": {"median_h": 1}}}}}, "damage.states.bus.smashed", None),
    ({"states": {"line": {"light": {"kpa": 30, "repair": {"median_h": 1}},
                          "severe": {"kpa": 20, "repair": {"median_h": 9}}}}}, "damage.states", "severe"),
    ({"states": {"trafo": {"light": {"kpa": 5, "repair": {"median_h": -3}}}}},
     "damage.states.trafo.light.repair.median_h", "-3"),
    ({"facilities": {"hospital": {"kpa": 20, "repair": {"median_h": -1}}}},
     "damage.facilities.hospital.repair.median_h", "-1"),
])
def test_bad_damage_input_names_file_field_value(damage, field, value):
    with pytest.raises(ScenarioError) as e:
        svitlo.parse_scenario({"grid": "case9", "damage": damage}, source="s.yaml")
    msg = str(e.value)
    assert msg.startswith("s.yaml: ") and field in msg, msg
    if value is not None:
        assert value in msg, msg


def test_site_with_unknown_bus_and_cli_exit_2(tmp_path, capsys):
    sc = {"damage": {"sites": [{"id": "x", "buses": ["bus:1", "bus:99999"]}]},
          "strikes": [{"geographic": {"points": [{"lat": LAT0, "lon": LON0, "weapon": "FAB-250"}]}}]}
    with pytest.raises(ScenarioError, match=r"damage\.sites\[0\]\.buses = 'bus:99999'"):
        svitlo.assess(grid_at([10.0, 20.0]), sc)
    from svitlo.cli.main import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("grid: case9\ndamage:\n  states:\n    bus:\n      ruined: {kpa: 5, repair: {median_h: 1}}\n")
    assert main(["assess", str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad.yaml" in err[0] and "damage.states.bus.ruined" in err[0]


def test_fragility_helper_unchanged():
    assert float(fragility(np.array([50.0]), d50_m=50.0, beta=0.4)[0]) == pytest.approx(0.5)
