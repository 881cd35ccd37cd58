"""Island viability: hand-computed cases, invariants under hypothesis, and the batched kernel held equal."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svitlo
from svitlo.engine.batch import evaluate_batch, outages_from_indices
from svitlo.engine.damage import apply_damage, damage_from_indices
from svitlo.engine.frequency import SfrParams, UflsSchedule, sfr_nadir_pu, sfr_response_pu, ufls_response
from svitlo.engine.impact import build_impact
from svitlo.engine.invariants import check_impact
from svitlo.engine.state import evaluate_state
from svitlo.engine.viability import REASONS, ViabilityOptions, effective_p_min
from svitlo.errors import ScenarioError
from svitlo.model.grid import make_grid

ON = ViabilityOptions(enabled=True)
TOL = 1e-6


def _grid(pv_mw=20.2, sync_mw=0.1, sync_pmin=0.0, h=4.0, load_mw=20.3, tie=True):
    """Two buses: a 100 MW unit behind a tie line, and a small synchronous unit with PV at the load bus."""
    buses = {"bus:0": {}, "bus:1": {}}
    import pandas as pd

    b = pd.DataFrame(index=list(buses))
    br = pd.DataFrame({"from_bus": ["bus:0"], "to_bus": ["bus:1"], "x_pu": [0.1],
                       "in_service": [tie]}, index=["line:0"])
    gens = pd.DataFrame({"bus": ["bus:0", "bus:1", "bus:1"], "kind": ["gen", "gen", "sgen"],
                         "p_mw": [0.0, sync_mw, pv_mw], "p_max_mw": [100.0, sync_mw, pv_mw],
                         "p_min_mw": [0.0, sync_pmin, 0.0], "forms_island": [True, True, False],
                         "inertia_h_s": [h, h, np.nan]}, index=["gen:0", "gen:1", "sgen:0"])
    loads = pd.DataFrame({"bus": ["bus:1"], "p_mw": [load_mw]}, index=["load:0"])
    return make_grid(buses=b, branches=br, generators=gens, loads=loads, name="two-bus")


def _state(g, ids, opts=ON, mode="balance"):
    cg = svitlo.compile_grid(g)
    r = evaluate_state(cg, apply_damage(cg, ids), viability=opts, mode=mode)
    return cg, r, build_impact(cg, r)


def test_small_unit_does_not_form_a_pv_island():
    """The reviewer's case: 0.1 MW synchronous unit 'forming' a 20.3 MW island served from PV."""
    _, _, plain = _state(_grid(), ["line:0"], opts=None)
    assert plain.islands["energised"].tolist() == [True, True]
    _, _, imp = _state(_grid(), ["line:0"])
    isl = imp.islands.set_index("id")
    assert not isl.loc[1, "energised"]
    assert isl.loc[1, "reason"] == "grid-forming share below minimum"
    assert imp.metrics["islands_collapsed"] == 1
    check_impact(imp)


def test_condenser_never_forms():
    g = _grid(sync_mw=0.0)
    _, _, imp = _state(g, ["line:0"], opts=None)  # always on, viability or not
    assert imp.islands.set_index("id").loc[1, "reason"] == "no grid-forming unit"
    assert not imp.islands.set_index("id").loc[1, "energised"]


def test_inertia_below_minimum():
    g = _grid(pv_mw=0.0, sync_mw=30.0, h=0.5)  # 15 MW s for 20.3 MW of load
    _, _, imp = _state(g, ["line:0"])
    assert imp.islands.set_index("id").loc[1, "reason"] == "inertia below minimum"
    _, _, ok = _state(g, ["line:0"], opts=ViabilityOptions(enabled=True, min_inertia_s=0.5, frequency=False))
    assert ok.islands.set_index("id").loc[1, "energised"]


def test_load_below_minimum_output_decommits_then_darkens():
    """A lit 9-bus-like island whose units' smallest minimum exceeds its load goes dark, with the reason."""
    g = _grid(pv_mw=0.0, sync_mw=80.0, sync_pmin=59.7, load_mw=32.9)
    _, _, imp = _state(g, ["line:0"], opts=ViabilityOptions(enabled=True, frequency=False))
    isl = imp.islands.set_index("id")
    assert isl.loc[1, "reason"] == "load below minimum output" and not isl.loc[1, "energised"]
    assert imp.metrics["units_decommitted"] >= 1


def test_decommit_largest_first_keeps_island_lit():
    """case9 minus the external grid: 100 MW load, two units with 60 and 50 MW minimums -> one decommitted."""
    g = svitlo.load_grid("case9")
    gens = g.generators.copy()
    gens["p_min_mw"] = [60.0, 50.0, 10.0]
    g = g.with_tables(generators=gens)
    cg, r, imp = _state(g, ["ext_grid:0", "load:0", "load:2"], opts=ViabilityOptions(enabled=True, frequency=False))
    gen = imp.generators.set_index("id")
    assert imp.metrics["units_decommitted"] == 1
    assert not gen.loc["gen:0", "online"] and gen.loc["gen:1", "online"]  # largest minimum (60 MW) goes
    assert gen.loc["gen:1", "p_mw"] == pytest.approx(100.0)
    merit = ViabilityOptions(enabled=True, frequency=False, decommit="merit_order")
    cg2 = svitlo.compile_grid(g.with_tables(generators=gens.assign(cost_per_mwh=[10.0, 30.0, 0.0])))
    r2 = evaluate_state(cg2, apply_damage(cg2, ["ext_grid:0", "load:0", "load:2"]), viability=merit)
    assert r2.gen_p_mw[0] == pytest.approx(100.0) and r2.gen_p_mw[1] == 0.0  # most expensive goes


def test_ufls_then_priority():
    """case9: gen:0 lost and the external grid cut off -> five UFLS stages shed 37.5 % of the load."""
    cg, r, imp = _state(svitlo.load_grid("case9"), ["gen:0", "line:0"])
    isl = imp.islands.set_index("id")
    assert isl.loc[1, "ufls_stages"] == 5
    assert isl.loc[1, "ufls_shed_mw"] == pytest.approx(315 * 0.375)
    assert 48.0 < isl.loc[1, "nadir_hz"] < 48.2
    check_impact(imp)


def test_ufls_exempt_tier_keeps_critical_feeders():
    sc = {"strikes": [{"assets": ["gen:0", "line:0"]}], "viability": {"enabled": True},
          "ufls": {"exempt_tiers": [1]}, "tiers": {"loads": {"load:1": "critical"}}}
    imp = svitlo.assess("case9", sc)
    loads = imp.loads.set_index("id")
    assert loads.loc["load:1", "shed_mw"] == 0.0
    assert imp.metrics["ufls_shed_mw"] == pytest.approx((90 + 125) * 0.45)  # less to shed: all six stages trip


def test_frequency_collapse():
    g = _grid(pv_mw=0.0, sync_mw=60.0, load_mw=55.0)  # 30 MW imported over the tie, then lost at once
    g = g.with_tables(generators=g.generators.assign(p_mw=[30.0, 25.0, 0.0]))
    _, _, imp = _state(g, ["line:0"], opts=ViabilityOptions(enabled=True, ufls=None))
    assert imp.islands.set_index("id").loc[1, "reason"] == "frequency collapse"
    _, _, withufls = _state(g, ["line:0"])
    assert withufls.islands.set_index("id").loc[1, "energised"]  # UFLS saves it
    assert withufls.metrics["ufls_shed_mw"] > 0


def test_closed_form_nadir_equals_time_response():
    p = SfrParams()
    t = np.linspace(0, 40, 400_001)
    for h, step, fh, tr in ((4.0, 0.1, 0.3, 8.0), (1.0, 0.3, 0.3, 8.0), (6.0, 0.05, 1.0, 0.5), (0.3, 0.2, 1.0, 0.1)):
        q = SfrParams(fh=fh, tr_s=tr)
        drop, _ = sfr_nadir_pu(step, h_s=h, r_pu=q.r_pu, d_pu=q.d_pu, km=q.km, fh=fh, tr_s=tr)
        ref = -sfr_response_pu(t, step, h_s=h, params=q).min()
        assert drop == pytest.approx(ref, rel=1e-6)
    assert sfr_nadir_pu(0.0, h_s=4, r_pu=p.r_pu, d_pu=p.d_pu, km=p.km, fh=p.fh, tr_s=p.tr_s)[0] == 0.0


@settings(max_examples=40, deadline=None)
@given(step=st.floats(0.0, 2.0), h=st.floats(0.2, 10.0), share=st.floats(0.0, 1.0))
def test_ufls_never_exceeds_schedule(step, h, share):
    s = UflsSchedule.nc_er()
    u = ufls_response(step, h_s=h, params=SfrParams(), schedule=s, sheddable_pu=share)
    assert 0.0 <= u.shed_fraction <= s.total + 1e-12
    assert u.stages <= len(s.hz)


def _random_grid(seed):
    g = svitlo.load_grid("case118")
    rng = np.random.default_rng(seed)
    gens = g.generators.copy()
    pmax = gens["p_max_mw"].to_numpy()
    gens["p_min_mw"] = np.where(rng.random(len(gens)) < 0.6, rng.uniform(0, 0.5, len(gens)) * pmax, 0.0)
    gens.iloc[1::5, gens.columns.get_loc("forms_island")] = False
    gens["inertia_h_s"] = rng.uniform(0.5, 8, len(gens))
    loads = g.loads.copy()
    loads["tier"] = rng.integers(1, 4, len(loads))
    return g.with_tables(generators=gens, loads=loads)


@pytest.fixture(scope="module")
def cgv():
    return svitlo.compile_grid(_random_grid(3))


def _check_state(cg, r):
    imp = build_impact(cg, r)
    check_impact(imp)
    gen = imp.generators
    on = gen["online"].to_numpy()
    p = gen["p_mw"].to_numpy()
    pmin = effective_p_min(cg)
    assert np.all(p[on] >= pmin[on] - TOL), "online unit below p_min"
    assert np.all(p <= np.maximum(cg.gen_p_max_mw, 0) + TOL), "unit above p_max"
    assert np.all(p[~on] == 0.0)
    isl = imp.islands
    dark = ~isl["energised"].to_numpy() & (isl["load_mw"].to_numpy() > 0)
    assert all(isl["reason"].to_numpy()[dark] != ""), "dark island without a reason"
    assert set(isl["reason"]) <= set(REASONS)
    v = r.viability
    load = isl["load_mw"].to_numpy()
    assert np.all(v.ufls_shed_mw <= ON.ufls.total * np.maximum(load, 0) + TOL)
    return imp


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_invariants_hold_in_every_state(cgv, data):
    br = data.draw(st.lists(st.integers(0, cgv.n_branch - 1), max_size=25))
    gens = data.draw(st.lists(st.integers(0, cgv.n_gen - 1), max_size=6))
    dmg = damage_from_indices(cgv, branches=br, gens=gens)
    for mode in ("balance", "opf") if data.draw(st.booleans()) else ("balance",):
        _check_state(cgv, evaluate_state(cgv, dmg, viability=ON, mode=mode))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_batch_equals_per_state_with_viability(cgv, data):
    n = 6
    lists = {"branches": [], "gens": [], "buses": [], "loads": []}
    for _ in range(n):
        lists["branches"].append(data.draw(st.lists(st.integers(0, cgv.n_branch - 1), max_size=20)))
        lists["gens"].append(data.draw(st.lists(st.integers(0, cgv.n_gen - 1), max_size=3)))
        lists["buses"].append(data.draw(st.lists(st.integers(0, cgv.n_bus - 1), max_size=2)))
        lists["loads"].append([])
    # UFLS with a drawn set of exempt tiers and relay delay (islands it saves settle in the kernel)
    ufls = UflsSchedule.nc_er(exempt_tiers=tuple(data.draw(st.sets(st.integers(1, 3), max_size=2))),
                              delay_s=data.draw(st.sampled_from([0.1, 0.3])))
    opts = ViabilityOptions(enabled=True, ufls=ufls)
    out = outages_from_indices(**lists)
    res = evaluate_batch(cgv, out, return_flows=True, return_loads=True, viability=opts,
                         bound=data.draw(st.sampled_from([2, 16])))
    for s in range(n):
        sc = out.scenario(s)
        dmg = damage_from_indices(cgv, buses=sc["bus"], branches=sc["branch"], gens=sc["gen"], loads=sc["load"])
        r = evaluate_state(cgv, dmg, viability=opts)
        imp = build_impact(cgv, r)
        m = imp.metrics
        for k in ("served_mw", "shed_mw", "generation_mw", "weighted_shed_mw", "ufls_shed_mw",
                  "people_without_power"):
            assert abs(getattr(res, k)[s] - m[k]) <= TOL, (s, k)
        for k in ("islands", "energised_islands", "islands_collapsed", "units_decommitted"):
            assert getattr(res, k)[s] == m[k], (s, k)
        assert np.max(np.abs(res.flows_mw[s] - r.flow_mw), initial=0.0) <= TOL
        assert np.max(np.abs(res.load_shed_mw[s] - imp.loads["shed_mw"].to_numpy()), initial=0.0) <= TOL
        assert res.ufls_shed_mw[s] <= ufls.total * max(res.load_mw[s], 0.0) + TOL


def test_batch_fast_path_carries_viability(cgv):
    """Most mild strikes need no rule: they stay on the fast path with p_min-aware dispatch."""
    pytest.importorskip("numba")
    rng = np.random.default_rng(0)
    out = outages_from_indices(branches=[list(rng.choice(cgv.n_branch, 2, replace=False)) for _ in range(60)])
    res = evaluate_batch(cgv, out, return_flows=True, viability=ON)
    assert (~res.exact).sum() > 30
    for s in np.flatnonzero(~res.exact)[:10]:
        sc = out.scenario(int(s))
        r = evaluate_state(cgv, damage_from_indices(cgv, branches=sc["branch"]), viability=ON)
        assert np.max(np.abs(res.flows_mw[s] - r.flow_mw)) <= TOL


def test_scenario_keys_and_errors():
    imp = svitlo.assess("case9", {"strikes": [{"assets": ["line:0"]}],
                                  "viability": {"enabled": True, "units": {"gen:1": {"inertia_h_s": 2.0}}}})
    assert "reason" in imp.islands
    with pytest.raises(ScenarioError, match="viability.units"):
        svitlo.assess("case9", {"viability": {"enabled": True, "units": {"gen:99": {"inertia_h_s": 2.0}}}})
    with pytest.raises(ScenarioError):
        svitlo.parse_scenario({"grid": "case9", "ufls": {"stages": [{"hz": 48.0, "percent": 10},
                                                                     {"hz": 49.0, "percent": 10}]}})
    with pytest.raises(ScenarioError):
        svitlo.parse_scenario({"grid": "case9", "viability": {"min_grid_forming_share": 2}})


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_commitment_milp_equals_enumeration(data):
    """The opf-mode MILP finds the least shed over all 2^n commitments (one load; brute force)."""
    import itertools

    from svitlo.engine.commitment import commit_island

    n = data.draw(st.integers(1, 5))
    pmax = np.array(data.draw(st.lists(st.floats(1, 100), min_size=n, max_size=n)))
    pmin = pmax * np.array(data.draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    forms = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    load = data.draw(st.floats(0, 300))
    online, ok = commit_island(p_min=pmin, p_max=pmax, forms=forms, cost=np.zeros(n), load_mw=np.array([load]),
                               weights=np.array([1.0]))
    best = None
    for u in itertools.product([False, True], repeat=n):
        u = np.array(u)
        if not (u & forms).any() or pmin[u].sum() > load + 1e-9:
            continue
        shed = max(0.0, load - pmax[u].sum())
        best = shed if best is None else min(best, shed)
    assert ok == (best is not None)
    if ok:
        assert (online & forms).any() and pmin[online].sum() <= load + 1e-6
        assert max(0.0, load - pmax[online].sum()) == pytest.approx(best, abs=1e-6)


def test_opf_mode_commits_by_milp():
    g = svitlo.load_grid("case9")
    g = g.with_tables(generators=g.generators.assign(p_min_mw=[60.0, 50.0, 10.0]))
    cg, r, imp = _state(g, ["ext_grid:0", "load:0", "load:2"], opts=ViabilityOptions(enabled=True, frequency=False),
                        mode="opf")
    assert imp.metrics["units_decommitted"] == 1 and imp.metrics["served_mw"] == pytest.approx(100.0, abs=1e-6)
    _check_state(cg, r)


def _three_bus(black_start: bool):
    import pandas as pd

    b = pd.DataFrame(index=["bus:0", "bus:1", "bus:2"])
    br = pd.DataFrame({"from_bus": ["bus:0", "bus:0"], "to_bus": ["bus:1", "bus:2"], "x_pu": [0.1, 0.1]},
                      index=["line:0", "line:1"])
    gens = pd.DataFrame({"bus": ["bus:0", "bus:1"], "p_mw": [40.0, 25.0], "p_max_mw": [200.0, 60.0],
                         "black_start": [False, black_start]}, index=["gen:0", "gen:1"])
    loads = pd.DataFrame({"bus": ["bus:1", "bus:2"], "p_mw": [55.0, 10.0]}, index=["load:1", "load:2"])
    return make_grid(buses=b, branches=br, generators=gens, loads=loads, name="three-bus")


@pytest.mark.parametrize("black_start", [False, True])
def test_timeline_black_start_and_reconnection(black_start):
    """Hour 0: both lines struck; bus 1 loses a 30 MW import on a 60 MW unit and collapses (no UFLS). Hour 3: a
    repair elsewhere; bus 1 comes back only through a black-start unit. Hour 6: its own line back: reconnected."""
    sc = {"strikes": [{"assets": ["line:0", "line:1"]}], "horizon_h": 8, "viability": {"enabled": True},
          "ufls": {"enabled": False},
          "repairs": {"explicit": [{"asset": "line:1", "done_h": 3}, {"asset": "line:0", "done_h": 6}]}}
    tl = svitlo.simulate(_three_bus(black_start), sc)
    lit = tl.bus_energised.loc["bus:1"].tolist()
    assert lit[:3] == [False, False, False]
    assert lit[3:6] == [black_start] * 3
    assert lit[6:] == [True, True]
    ev = tl.events
    assert (ev["kind"] == "frequency_collapse").any()
    text = " ".join(ev.loc[ev["kind"] == "black_start", "text"])
    assert ("black-started by gen:1" in text) == black_start
    assert ("stays dark" in text) == (not black_start)


def test_kernel_darkens_islands_that_collapse_despite_ufls():
    """All 55 MW imported, lost on a 40 MW unit: UFLS (45 % of the load at most) cannot hold the island. The
    kernel simulates the schedule itself and darkens the island without the exact path; a 30 MW loss on a 60 MW
    unit, which UFLS survives, settles in the kernel too (shed by stage, then re-dispatched)."""
    pytest.importorskip("numba")
    for sync_mw, p_local, exact in ((40.0, 0.0, False), (60.0, 25.0, False)):
        g = _grid(pv_mw=0.0, sync_mw=sync_mw, load_mw=55.0)
        g = g.with_tables(generators=g.generators.assign(p_mw=[55.0 - p_local, p_local, 0.0]))
        cg = svitlo.compile_grid(g)
        res = evaluate_batch(cg, outages_from_indices(branches=[[0]]), viability=ON)
        r = evaluate_state(cg, apply_damage(cg, ["line:0"]), viability=ON)
        m = build_impact(cg, r).metrics
        assert bool(res.exact[0]) == exact
        assert res.islands_collapsed[0] == m["islands_collapsed"] == (1 if sync_mw < 50 else 0)
        assert abs(res.served_mw[0] - m["served_mw"]) <= TOL and abs(res.ufls_shed_mw[0] - m["ufls_shed_mw"]) <= TOL
        assert (r.viability.ufls_stages > 0).any()
