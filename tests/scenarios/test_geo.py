"""Geographic strikes: fragility and CEP checked statistically, segment distances, weapons, seeds, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import svitlo
from svitlo.errors import ScenarioError
from svitlo.model.compiled import compile_grid
from svitlo.model.grid import make_grid
from svitlo.scenarios.geo import (
    DEFAULT_WEAPONS,
    GeoStrike,
    WeaponClass,
    fragility,
    haversine_m,
    scatter_impacts,
    segment_distance_m,
)
from svitlo.scenarios.outcome import geographic_strike
from svitlo.scenarios.spec import Strike
from svitlo.scenarios.strikes import resolve_strikes, strike_rng

LAT0, LON0 = 50.0, 30.0
M_PER_DEG_LAT = math.pi / 180 * 6_371_008.8


def ray_grid(distances_m):
    """Buses due north of (LAT0, LON0) at the given distances (m), chained by lines, a generator at the first."""
    n = len(distances_m)
    lat = LAT0 + np.asarray(distances_m, float) / M_PER_DEG_LAT
    buses = pd.DataFrame({"lat": lat, "lon": [LON0] * n}, index=[f"bus:{i}" for i in range(n)])
    br = pd.DataFrame({"from_bus": [f"bus:{i}" for i in range(n - 1)], "to_bus": [f"bus:{i}" for i in range(1, n)],
                       "x_pu": [0.1] * (n - 1)}, index=[f"line:{i}" for i in range(n - 1)])
    gen = pd.DataFrame({"bus": ["bus:0"], "p_max_mw": [50.0]}, index=["gen:0"])
    loads = pd.DataFrame({"bus": [f"bus:{n - 1}"], "p_mw": [5.0]}, index=["load:0"])
    return make_grid(buses=buses, branches=br, generators=gen, loads=loads, name="ray")


def test_destruction_frequency_matches_fragility_curve():
    # a bus is out of service itself only when destroyed (lighter states take some of its bays)
    d = np.array([8.0, 12.0, 18.0, 25.0, 35.0, 50.0, 70.0, 100.0])
    cg = compile_grid(ray_grid(d))
    np.testing.assert_allclose(haversine_m(LAT0, LON0, cg.bus_lat, cg.bus_lon), d, rtol=1e-6)
    w = DEFAULT_WEAPONS["FAB-500"]
    spec = GeoStrike(points=[{"lat": LAT0, "lon": LON0, "weapon": "FAB-500"}], kinds=["bus"])
    n = 1500
    hits = np.zeros(d.size)
    for s in range(n):
        for a in geographic_strike(cg, spec, strike_rng(s, 0)):
            if a.startswith("bus:"):
                hits[int(a.split(":")[1])] += 1
    p = fragility(d, d50_m=w.d50_for("bus"), beta=w.beta)
    assert p[0] > 0.99 and p[-1] < 0.02 and abs(p[3] - 0.5) < 0.2
    # binomial standard error of a frequency over n draws; 4.5 SE makes a false alarm over 8 distances < 1e-4
    se = np.sqrt(p * (1 - p) / n)
    assert np.all(np.abs(hits / n - p) <= 4.5 * se + 1.0 / n), (hits / n, p)


def test_scatter_matches_cep():
    rng = np.random.default_rng(2024)
    n = 20_000
    cep = 45.0
    lat, lon = scatter_impacts(LAT0, LON0, cep_m=cep, n=n, rng=rng)
    r = haversine_m(LAT0, LON0, lat, lon)
    inside = float(np.mean(r <= cep))
    se = math.sqrt(0.25 / n)          # binomial standard error at p = 0.5
    assert abs(inside - 0.5) <= 4.5 * se
    # the whole radial law is Rayleigh: P(r <= k CEP) = 1 - 2^(-k^2)
    for k in (0.5, 2.0):
        p = 1 - 2.0 ** (-k * k)
        assert abs(float(np.mean(r <= k * cep)) - p) <= 4.5 * math.sqrt(p * (1 - p) / n)
    # no bias in either direction (mean offset within 4.5 standard errors of zero)
    sigma = cep / math.sqrt(2 * math.log(2))
    north = (lat - LAT0) * M_PER_DEG_LAT
    assert abs(north.mean()) <= 4.5 * sigma / math.sqrt(n)


def test_line_hit_at_nearest_point_of_segment():
    # a 4 km line passes 20 m from the impact point; its end buses are 2 km away
    y = 20.0 / M_PER_DEG_LAT
    dlon = 2000.0 / (M_PER_DEG_LAT * math.cos(math.radians(LAT0)))
    a = np.array([[LAT0 + y, LON0 - dlon]])
    b = np.array([[LAT0 + y, LON0 + dlon]])
    assert segment_distance_m(LAT0, LON0, a, b)[0] == pytest.approx(20.0, abs=0.05)
    buses = pd.DataFrame({"lat": [LAT0 + y, LAT0 + y], "lon": [LON0 - dlon, LON0 + dlon]}, index=["bus:0", "bus:1"])
    g = make_grid(buses=buses, branches=pd.DataFrame({"from_bus": ["bus:0"], "to_bus": ["bus:1"], "x_pu": [0.1]},
                                                     index=["line:0"]),
                  generators=pd.DataFrame({"bus": ["bus:0"], "p_max_mw": [9.0]}, index=["gen:0"]),
                  loads=pd.DataFrame({"bus": ["bus:1"], "p_mw": [5.0]}, index=["load:0"]))
    spec = GeoStrike(points=[{"lat": LAT0, "lon": LON0, "weapon": "FAB-1500"}])
    hit = [geographic_strike(compile_grid(g), spec, strike_rng(s, 0)) for s in range(50)]
    assert all(h == ["line:0"] for h in hit)   # P(line) ~ 1 at 20 m, P(bus) ~ 0 at 2 km


def test_weapon_classes_and_cube_root_scaling():
    # the press-reported "destruction radius" (DESIGN §8) is the light state of a substation (~5 kPa)
    r = {k: w.d50_for("bus", "light") for k, w in DEFAULT_WEAPONS.items()}
    assert r["FAB-1500"] == pytest.approx(200.0, rel=0.02)
    assert 95 <= r["FAB-250"] <= 110 and 130 <= r["FAB-500"] <= 145   # DESIGN §8
    assert r["FAB-250"] / r["FAB-1500"] == pytest.approx((95 / 675) ** (1 / 3))   # cube-root scaling
    assert DEFAULT_WEAPONS["FAB-500"].d50_for("line") < r["FAB-500"]
    user = WeaponClass(d50_m=10.0, cep_m=5.0, beta=0.3)
    assert user.d50_for("bus") == pytest.approx(10.0)
    with pytest.raises(ValueError, match="explosive_kg"):
        WeaponClass(cep_m=5.0)


def test_yaml_geographic_strike_seeded_and_checked(check):
    g = svitlo.load_grid("mv_oberrhein")
    sc = {"grid": "mv_oberrhein", "seed": 3,
          "weapons": {"glide": {"explosive_kg": 250, "cep_m": 60}},
          "strikes": [{"geographic": {"aim": [{"lat": 48.41, "lon": 7.78, "weapon": "glide", "n": 6},
                                              {"lat": 48.45, "lon": 7.88, "weapon": "FAB-1500"}]}}]}
    a = svitlo.assess(g, sc)
    b = svitlo.assess(g, sc)
    c = svitlo.assess(g, sc, seed=4)
    check(a)
    assert a.destroyed == b.destroyed and len(a.destroyed) > 0 and a.destroyed != c.destroyed
    # a timeline wave with the same strike draws from its own stream
    tl = svitlo.simulate(g, {**sc, "horizon_h": 3, "waves": [{"at_h": 2, "strikes": sc["strikes"]}]})
    for imp in tl.impacts.values():
        check(imp)
    assert set(a.destroyed) <= set(tl.impacts[2].destroyed)


def test_unknown_weapon_and_missing_coordinates():
    with pytest.raises(ScenarioError) as e:
        svitlo.parse_scenario({"grid": "case9", "strikes": [
            {"geographic": {"aim": [{"lat": 48.4, "lon": 7.8, "weapon": "FAB-9000"}]}}]}, source="s.yaml")
    assert "s.yaml" in str(e.value) and "unknown weapon class 'FAB-9000'" in str(e.value)
    assert "strikes[0].geographic.aim[0].weapon" in str(e.value)
    with pytest.raises(ScenarioError, match="unknown weapon class 'X'"):
        svitlo.parse_scenario({"grid": "case9", "waves": [{"at_h": 3, "strikes": [
            {"geographic": {"points": [{"lat": 48.4, "lon": 7.8, "weapon": "X"}]}}]}]})
    # at resolve time too (a Strike built in Python)
    cg = compile_grid(svitlo.load_grid("mv_oberrhein"))
    s = Strike(geographic={"points": [{"lat": 48.4, "lon": 7.8, "weapon": "nope"}]})
    with pytest.raises(ScenarioError, match=r"strikes\[0\]\.geographic\.points\[0\]\.weapon = 'nope'"):
        resolve_strikes(cg, [s])
    # a grid without bus coordinates cannot be hit geographically
    g = ray_grid([10.0, 20.0]).with_tables(buses=pd.DataFrame(index=["bus:0", "bus:1"]))
    with pytest.raises(ScenarioError, match="no assets with coordinates"):
        svitlo.assess(g, {"strikes": [{"geographic": {"points": [{"lat": 1, "lon": 2, "weapon": "FAB-250"}]}}]})
    with pytest.raises(ScenarioError, match="needs at least one"):
        svitlo.parse_scenario({"grid": "case9", "strikes": [{"geographic": {"seed": 1}}]})
    with pytest.raises(ScenarioError, match="cep_m"):
        svitlo.parse_scenario({"grid": "case9", "weapons": {"w": {"explosive_kg": 10, "cep_m": -1}}})


def test_cached_grid_tables_follow_coordinates_and_damage_model():
    # geographic strikes cache per-grid tables (targets, sites, medians): a grid with the same arrays but moved
    # buses, or another damage model, must not reuse them
    from svitlo.scenarios.damage_states import DamageModel
    from svitlo.scenarios.outcome import geographic_damage

    near = compile_grid(ray_grid([0.0, 5.0, 10.0]))
    far = compile_grid(ray_grid([0.0, 5000.0, 10000.0]))
    assert near.fingerprint == far.fingerprint          # coordinates are not part of the fingerprint
    spec = GeoStrike(points=[{"lat": LAT0, "lon": LON0, "weapon": "FAB-500"}], kinds=["bus"])
    hit_near = geographic_damage(near, spec, np.random.default_rng(0)).out_ids
    hit_far = geographic_damage(far, spec, np.random.default_rng(0)).out_ids
    assert set(hit_near) == {"bus:0", "bus:1", "bus:2"} and hit_far == ["bus:0"]
    hard = DamageModel(states={"bus": {"destroyed": {"kpa": 5000.0, "function_lost": 1.0,
                                                     "repair": {"median_h": 9}}}})
    assert geographic_damage(near, spec, np.random.default_rng(0), model=hard).out_ids == ["bus:0"]
