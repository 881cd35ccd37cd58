"""The array timeline kernel against the hourly simulator, seed by seed; sampling of random inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from grids import small_grid

import svitlo
from svitlo import simulate
from svitlo.engine.damage import apply_damage
from svitlo.engine.state import evaluate_state
from svitlo.errors import ScenarioError
from svitlo.facilities import backup as bk
from svitlo.model.compiled import compile_grid
from svitlo.scenarios.durations import Lognormal
from svitlo.simulation.fast import HOURLY_METRICS, needs_exact_path, run_timelines, timeline_model
from svitlo.simulation.lean import lean_state
from svitlo.simulation.steps import FACILITY_STATES

DEMO = Path(svitlo.__file__).parent / "data" / "demo" / "izum_like.yaml"
CODES = {name: code for code, name in enumerate(FACILITY_STATES)}

FAC = str(Path(__file__).resolve().parents[1] / "data" / "facilities_small.csv")


def assert_same(tl, b, s):
    for k in HOURLY_METRICS:
        np.testing.assert_allclose(getattr(b, k)[s], tl.hourly[k].to_numpy(float), rtol=1e-12, atol=1e-9,
                                   err_msg=k)
    states = np.vectorize(CODES.get)(tl.facility_states.to_numpy())
    np.testing.assert_array_equal(b.states[s], states)
    f = tl.facilities
    np.testing.assert_allclose(b.hours_dark[s], f["hours_dark"].to_numpy(float), atol=1e-12)
    np.testing.assert_allclose(b.hours_on_backup[s], f["hours_on_backup"].to_numpy(float), atol=1e-12)
    np.testing.assert_allclose(b.hours_until_dark[s], f["hours_until_dark"].to_numpy(float), atol=1e-12)


RANDOM_DEMO = {
    "repairs": {"crews": 2, "start_h": 4, "order": ["line:179", "line"],
                "durations_h": {"line": {"median_h": 8, "spread": 0.6}, "bus": {"median_h": 30, "spread": 0.8},
                                "trafo": 60}},
    "refuel": [{"at_h": 18, "facilities": ["hosp-town", "water-town"], "delay_h": {"median_h": 6, "spread": 1.0}},
               {"at_h": 36, "kinds": ["shelter", "emergency"], "fuel_h": 10}],
    "gen_mttf_h": 40.0,   # far below REopt's 1,100 h, so breakdowns happen within 72 h
}


@pytest.fixture(scope="module")
def demo():
    sc = svitlo.load_scenario(DEMO)
    grid = svitlo.load_grid(sc.grid, base_dir=sc.base_dir)
    return sc, grid


#: Island-viability variants of the demo, each exercising one rule of ``simulation.viability`` over time.
VIABILITY_DEMO = {
    # under-frequency load shedding at separation, the load back the hour after
    "ufls-load-back": ({"viability": {"enabled": True, "units": {"gen:0": {"inertia_h_s": 1.5}}},
                        "ufls": {"stages": [{"hz": 49.99, "percent": 20}, {"hz": 49.98, "percent": 20}]}},
                       ("ufls", "load_back")),
    # the town island collapses and, with no black-start unit, stays dark until reconnected
    "collapse-no-black-start": ({"viability": {"enabled": True,
                                               "units": {"gen:0": {"inertia_h_s": 1.5, "black_start": False}}},
                                 "ufls": {"stages": [{"hz": 49.9, "percent": 5}], "collapse_hz": 49.7}},
                                ("frequency_collapse", "black_start")),
    # a heavier cold-load pickup (2.5x over 3 h): islands picking up cold load in blocks, by tier
    "heavy-pickup": ({"viability": {"enabled": True, "units": {"gen:0": {"inertia_h_s": 1.5}},
                                    "cold_load_pickup": {"factor": 2.5, "decay_h": 3}}},
                     ("cold_load_pickup",)),
}


@pytest.mark.parametrize("variant", ["as-shipped", "random-inputs", *VIABILITY_DEMO])
def test_demo_equals_simulate_seed_by_seed(demo, variant):
    sc, grid = demo
    assert sc.viability.enabled and not needs_exact_path(sc)   # the shipped demo takes the kernel
    if variant == "random-inputs":
        sc = svitlo.parse_scenario({**sc.model_dump(), **RANDOM_DEMO}, base_dir=sc.base_dir)
    events: tuple[str, ...] = ()
    if variant in VIABILITY_DEMO:
        extra, events = VIABILITY_DEMO[variant]
        sc = svitlo.parse_scenario({**sc.model_dump(), **extra}, base_dir=sc.base_dir)
    m = timeline_model(svitlo.prepare(grid, sc))
    seeds = [0, 3, 11]
    b = run_timelines(m, seeds)
    assert b.distinct_states > 0      # evaluated by the kernel, not one by one
    assert sc.viability.cold_load_pickup.factor > 1    # cold-load pickup on (its default with viability)
    too_heavy = 0
    for s, seed in enumerate(seeds):
        tl = simulate(grid, sc, seed=seed, use_strike_seeds=False)
        assert_same(tl, b, s)
        assert set(events) <= set(tl.events["kind"])   # the rules under test do fire
        ev = tl.events
        too_heavy += int(ev.loc[ev["kind"] == "cold_load_pickup", "text"].str.contains("too heavy").sum())
    # the pickup does happen and is rationed in blocks (viability.ration_pickup) in the seeds compared
    assert b.pickup_mw.sum() > 1.0 and too_heavy > 0
    if variant == "random-inputs":   # the random inputs do vary between seeds
        assert len({tuple(np.round(b.ens_mwh[s], 6)) for s in range(len(seeds))}) > 1


def test_small_grid_with_waves_rolling_and_breakdowns():
    sc = {"grid": "small", "facilities": FAC, "horizon_h": 40,
          "strikes": [{"random": {"k": 2, "kinds": ["line"]}}],
          "waves": [{"at_h": 7, "strikes": [{"random": {"k": 1, "kinds": ["line"]}}]}],
          "repairs": {"crews": 1, "start_h": 1, "durations_h": {"line": {"median_h": 5, "spread": 0.7}}},
          "refuel": [{"at_h": 20, "kinds": ["hospital"], "delay_h": {"median_h": 3, "spread": 1.0}}],
          "gen_mttf_h": {"hospital": 15.0, "shelter": 8.0}}
    g = small_grid()
    m = timeline_model(svitlo.prepare(g, sc))
    seeds = list(range(8))
    b = run_timelines(m, seeds)
    for s in seeds:
        assert_same(simulate(g, sc, seed=s, use_strike_seeds=False), b, s)


def test_explicit_repairs_override():
    g = small_grid()
    sc = {"grid": "small", "facilities": FAC, "horizon_h": 20, "strikes": [{"assets": ["line:1", "line:2"]}]}
    m = timeline_model(svitlo.prepare(g, sc))
    rep = svitlo.parse_scenario({**sc, "repairs": {"explicit": [{"asset": "line:1", "done_h": 5}]}}).repairs
    b = run_timelines(m, [0], repairs=rep)
    tl = simulate(g, {**sc, "repairs": {"explicit": [{"asset": "line:1", "done_h": 5}]}}, seed=0)
    assert_same(tl, b, 0)
    assert b.ens_mwh[0, 4] > b.ens_mwh[0, 5]   # load:2 back at hour 5


def test_lean_state_equals_evaluate_state(rng):
    cg = compile_grid(svitlo.load_grid("case118"))
    ids = list(cg.branch_ids) + list(cg.bus_ids)
    for _ in range(30):
        pick = rng.choice(len(ids), size=int(rng.integers(1, 25)), replace=False)
        d = apply_damage(cg, [ids[i] for i in pick])
        a, b = lean_state(cg, d), evaluate_state(cg, d)
        np.testing.assert_array_equal(a.labels, b.labels)
        assert a.n_islands == b.n_islands
        np.testing.assert_array_equal(a.energised, b.energised)
        np.testing.assert_array_equal(a.load_served_mw, b.load_served_mw)


def test_breakdown_stops_generator_and_battery_takes_over():
    import pandas as pd

    fac = pd.DataFrame({"demand_kw": [100.0], "gen_kw": [100.0], "fuel_h": [10.0], "gen_fail_prob": [0.0],
                        "battery_kwh": [150.0]})
    spec = bk.backup_spec(fac)
    spec = bk.BackupSpec(**{k: getattr(spec, k) for k in ("has_gen", "tank_h", "fail_prob", "battery_cap_h",
                                                           "recharge_h_per_h")}, run_fail_prob=np.array([0.5]))
    st = bk.initial_state(spec)
    u = np.ones((1, 5))
    off = np.array([False])
    got = []
    for ru in [0.9, 0.1, 0.0, 0.0, 0.0]:   # breaks down in hour 1
        st, step = bk.step_backup(spec, st, off, u, np.array([ru]))
        got.append((bk.STATES[step.state[0]], round(float(step.covered_h[0]), 3), bool(st.running[0])))
    assert got == [("backup", 1.0, True), ("backup", 1.0, False), ("backup", 1.0, False),
                   ("backup", 0.5, False), ("dark", 0.0, False)]


def test_lognormal_from_hazus_mean_sd_round_trip():
    d = Lognormal.from_mean_sd(mean_h=30 * 24.0, sd_h=15 * 24.0)
    z = np.random.default_rng(0).standard_normal(200_000)
    x = d.at(z)
    assert abs(x.mean() / d.mean_h - 1) < 0.01
    assert abs(x.std() / (15 * 24.0) - 1) < 0.03
    with pytest.raises(ValueError):
        Lognormal(median_h=-1.0)


def test_bad_duration_spec_is_a_scenario_error():
    with pytest.raises(ScenarioError, match="median_h"):
        svitlo.parse_scenario({"grid": "case9", "repairs": {"durations_h": {"line": {"median_h": -3}}}})


def test_strike_resolver_equals_resolve_strikes(demo):
    from svitlo.scenarios.strikes import resolve_strikes
    from svitlo.simulation.strikes_fast import StrikeResolver

    sc, grid = demo
    m = timeline_model(svitlo.prepare(grid, sc))
    res = StrikeResolver(m.cg, sc.weapons)
    for seed in range(60):
        for strikes, wave in ((sc.strikes, 0), (sc.waves[0].strikes, 1)):
            for use in (True, False):
                want = resolve_strikes(m.cg, strikes, seed=seed, weapons=sc.weapons, wave=wave,
                                       use_strike_seeds=use)
                assert res.resolve(strikes, seed=seed, wave=wave, use_strike_seeds=use) == want


def _substation_case(beta):
    """The hand-checked damage case of ``test_damage_timeline`` (a substation, a spare-limited transformer, a
    hospital damaged by the strike); ``beta > 0`` makes the repair times random."""
    import math

    import pandas as pd

    from svitlo.model.grid import make_grid

    m_deg = math.pi / 180 * 6_371_008.8

    def ll(east_m, north_m):
        return 50.0 + north_m / m_deg, 30.0 + east_m / (m_deg * math.cos(math.radians(50.0)))

    pos = [ll(-2000, 500), ll(0, 0), ll(0, 0), ll(0, 0)]
    buses = pd.DataFrame({"lat": [p[0] for p in pos], "lon": [p[1] for p in pos]},
                         index=[f"bus:{i}" for i in range(4)])
    br = pd.DataFrame({"from_bus": ["bus:0", "bus:1", "bus:1"], "to_bus": ["bus:1", "bus:2", "bus:3"],
                       "x_pu": [0.05, 0.1, 0.1], "kind": ["line", "trafo", "trafo"]},
                      index=["line:0", "trafo:0", "trafo:1"])
    grid = make_grid(buses=buses, branches=br,
                     generators=pd.DataFrame({"bus": ["bus:0"], "p_max_mw": [100.0]}, index=["gen:0"]),
                     loads=pd.DataFrame({"bus": ["bus:2", "bus:3"], "p_mw": [10.0, 8.0]},
                                        index=["load:0", "load:1"]), name="substation")
    q_lat, q_lon = ll(0, 600)
    sure = {"distance_m": [0, 1000, 1001], "probability": [1.0, 1.0, 0.0]}
    t_lat, t_lon = ll(5000, 0)
    sc = {
        "name": "hand-checked", "horizon_h": 120,
        "weapons": {"probe": {"explosive_kg": 0.001, "curves": {"line": {"light": sure},
                                                                "trafo": {"destroyed": sure}}}},
        "strikes": [{"geographic": {"points": [{"lat": q_lat, "lon": q_lon, "weapon": "probe"}],
                                    "kinds": ["line", "trafo"]}}],
        "damage": {"states": {"line": {"light": {"kpa": 10, "repair": {"median_h": 6, "beta": beta}}},
                              "trafo": {"destroyed": {"kpa": 68.9, "needs_spare": True,
                                                      "repair": {"median_h": 10, "beta": beta}}}},
                   "spares": {"trafo": 1}, "spare_wait_h": 20, "lead_time_h": 100,
                   "facilities": {"hospital": {"kpa": 20.7, "repair": {"median_h": 40, "beta": beta}}}},
        "repairs": {"crews": 2},
        "facilities": [{"id": "hosp", "kind": "hospital", "name": "Hospital", "bus": "bus:2", "lat": q_lat,
                        "lon": q_lon, "demand_kw": 500, "gen_kw": 500, "fuel_h": 200},
                       {"id": "tower", "kind": "telecom", "name": "Tower", "bus": "bus:3", "lat": t_lat,
                        "lon": t_lon, "demand_kw": 3}],
    }
    return grid, sc


@pytest.mark.parametrize("beta", [0.0, 0.6])
def test_damage_states_spares_and_damaged_facilities_equal_simulate(beta):
    # damage states put assets out, a destroyed transformer waits for a spare (one in stock, then the lead
    # time), crews start after the wait, and the hospital is damaged: out of service, no backup drawn
    grid, sc = _substation_case(beta)
    m = timeline_model(svitlo.prepare(grid, sc))
    seeds = [0, 1, 2, 5]
    b = run_timelines(m, seeds)
    for s, seed in enumerate(seeds):
        assert_same(simulate(grid, sc, seed=seed, use_strike_seeds=False), b, s)
    hosp = list(b.facility_ids).index("hosp")
    assert (b.states[:, hosp, 0] == CODES["damaged"]).all()
    if beta == 0:   # the hand-checked story: load:0 (bus:2) back when trafo:0 is, at hour 30; no fuel burnt
        assert (b.hours_on_backup[:, hosp] == 0).all()
        assert (b.ens_mwh[:, 29] > b.ens_mwh[:, 30]).all()
        assert (b.states[:, hosp, :40] == CODES["damaged"]).all() and (b.states[:, hosp, 40:] == 0).all()


def test_rules_the_kernel_does_not_know_take_the_exact_path(demo):
    from svitlo.simulation.fast import KERNEL_KEYS, exact_path_reason

    sc, _grid = demo
    assert exact_path_reason(sc) is None
    assert sc.viability.cold_load_pickup.factor > 1   # the kernel carries cold-load pickup
    assert exact_path_reason(sc.model_copy(update={"ac_check": True})) == "ac_check"
    # a rule added to the hourly simulation later (here: a key the kernel was not written against) is routed
    # to the exact path as soon as a scenario sets it
    narrower = {**KERNEL_KEYS, "viability": KERNEL_KEYS["viability"] - {"min_inertia_s"}}
    import svitlo.simulation.fast as F

    old = F.KERNEL_KEYS
    try:
        F.KERNEL_KEYS = narrower
        assert exact_path_reason(sc) is None   # at its default: nothing to mirror
        v = sc.viability.model_copy(update={"min_inertia_s": 2.0})
        assert exact_path_reason(sc.model_copy(update={"viability": v})) == "viability.min_inertia_s"
    finally:
        F.KERNEL_KEYS = old
