"""The batched engine equals the single-scenario engine, scenario by scenario (hypothesis + seeded samples)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svitlo
from svitlo.engine.batch import evaluate_batch, outages_from_damage, outages_from_ids, outages_from_indices
from svitlo.engine.batch.factor import factorise
from svitlo.engine.damage import damage_from_indices
from svitlo.engine.impact import build_impact
from svitlo.engine.state import evaluate_state
from svitlo.errors import InputError
from svitlo.model.grid import make_grid

TOL_MW = 1e-6
METRICS = ("served_mw", "shed_mw", "weighted_shed_mw", "generation_mw", "people_without_power",
           "max_loading_percent")
COUNTS = ("islands", "energised_islands", "overloaded_branches")


def _varied_grid():
    """case118 with four priority tiers, negative loads, non-forming and unbounded generators, phase shifters,
    and assets out of service before any strike."""
    g = svitlo.load_grid("case118")
    rng = np.random.default_rng(7)
    loads = g.loads.copy()
    loads["tier"] = rng.integers(1, 5, len(loads))
    loads.iloc[::17, loads.columns.get_loc("p_mw")] *= -0.3
    loads.iloc[5, loads.columns.get_loc("in_service")] = False
    gens = g.generators.copy()
    gens.iloc[1::4, gens.columns.get_loc("forms_island")] = False
    gens.iloc[3, gens.columns.get_loc("p_max_mw")] = np.inf
    gens.iloc[7, gens.columns.get_loc("in_service")] = False
    br = g.branches.copy()
    br.iloc[::23, br.columns.get_loc("shift_deg")] = 4.0
    br.iloc[11, br.columns.get_loc("in_service")] = False
    buses = g.buses.copy()
    buses.iloc[60, buses.columns.get_loc("in_service")] = False
    buses.loc[loads["bus"].iloc[20], "in_service"] = False  # a load left on a bus out of service: always shed
    ends = np.r_[br["from_bus"].to_numpy(), br["to_bus"].to_numpy()]
    names, counts = np.unique(ends, return_counts=True)
    leaves = set(names[counts == 1])
    cut = [i for i, (f, t) in enumerate(zip(br["from_bus"], br["to_bus"])) if f in leaves or t in leaves][:2]
    br.iloc[cut, br.columns.get_loc("in_service")] = False  # leaf buses become islands of their own
    return make_grid(buses=buses, branches=br, generators=gens, loads=loads, name="case118-varied",
                     base_mva=g.base_mva)


@pytest.fixture(scope="module")
def cg118():
    return svitlo.compile_grid(svitlo.load_grid("case118"))


@pytest.fixture(scope="module")
def cgvar():
    return svitlo.compile_grid(_varied_grid())


@pytest.fixture(scope="module")
def cg2869():
    return svitlo.compile_grid(svitlo.load_grid("case2869pegase"))


def _reference(cg, outages, s, weights=None):
    sc = outages.scenario(s)
    dmg = damage_from_indices(cg, buses=sc["bus"], branches=sc["branch"], gens=sc["gen"], loads=sc["load"])
    r = evaluate_state(cg, dmg)
    imp = build_impact(cg, r, tier_weights=weights)
    return imp, r


def _assert_equal(cg, outages, res, scenarios=None, weights=None, flows_tol=TOL_MW):
    for s in range(outages.n_scenarios) if scenarios is None else scenarios:
        imp, r = _reference(cg, outages, s, weights)
        m = imp.metrics
        loading = imp.branches["loading_percent"].to_numpy()
        ref = dict(m, max_loading_percent=float(loading.max()) if loading.size else 0.0)
        for k in METRICS:
            assert abs(getattr(res, k)[s] - ref[k]) <= TOL_MW, (s, k, getattr(res, k)[s], ref[k])
        for k in COUNTS:
            assert getattr(res, k)[s] == ref[k], (s, k)
        for j, t in enumerate(res.tiers):
            assert abs(res.shed_mw_by_tier[s, j] - m["shed_mw_by_tier"].get(int(t), 0.0)) <= TOL_MW
        if res.flows_mw is not None:
            assert np.max(np.abs(res.flows_mw[s] - r.flow_mw), initial=0.0) <= flows_tol, s
        if res.load_shed_mw is not None:
            assert np.max(np.abs(res.load_shed_mw[s] - imp.loads["shed_mw"].to_numpy()), initial=0.0) <= TOL_MW
        assert abs(res.load_mw[s] - m["load_mw"]) <= TOL_MW


def _scenarios(draw, cg, n, max_br, max_bus, max_gen, max_load):
    lists = {"buses": [], "branches": [], "gens": [], "loads": []}
    for _ in range(n):
        for key, size, hi in (("branches", max_br, cg.n_branch), ("buses", max_bus, cg.n_bus),
                              ("gens", max_gen, cg.n_gen), ("loads", max_load, cg.n_load)):
            k = draw(st.integers(0, size))
            lists[key].append(draw(st.lists(st.integers(0, hi - 1), min_size=k, max_size=k)))
    return outages_from_indices(**lists)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_batch_equals_single_scenario_engine(cgvar, data):
    """Random strikes (branches, buses, generators, loads) that split and do not split the varied grid."""
    out = _scenarios(data.draw, cgvar, 6, 12, 4, 4, 3)
    bound = data.draw(st.sampled_from([2, 16]), label="search bound")
    res = evaluate_batch(cgvar, out, return_flows=True, return_loads=True, bound=bound)
    _assert_equal(cgvar, out, res)
    assert np.all(res.shed_mw >= -TOL_MW) and np.all(res.shed_mw <= res.load_mw + TOL_MW)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_batch_equals_single_scenario_engine_case118(cg118, data):
    out = _scenarios(data.draw, cg118, 5, 20, 3, 3, 2)
    res = evaluate_batch(cg118, out, return_flows=True, return_loads=True, bound=data.draw(st.sampled_from([1, 4])))
    _assert_equal(cg118, out, res)
    assert not res.exact.any()  # case118 has no net-negative island: everything on the fast path
    np.testing.assert_allclose(res.generation_mw, res.served_mw, atol=TOL_MW)  # balance overall


def test_grid_split_into_large_parts_is_exact(cg118):
    """A tiny search bound makes every cut-off part 'large': they must be proved separate and enumerated."""
    rng = np.random.default_rng(3)
    out = outages_from_indices(branches=[rng.choice(cg118.n_branch, 12, replace=False) for _ in range(40)])
    res = evaluate_batch(cg118, out, return_flows=True, bound=1)
    assert (res.islands > 1).mean() > 0.3
    assert not res.exact.any()
    _assert_equal(cg118, out, res)


def test_hub_bus_destroyed(cg118):
    """Destroying the spanning-tree roots (the hub first: a degree-targeted strike's first pick) stays exact."""
    fac = factorise(cg118)
    roots = [int(r) for r in fac.comp_root[0]]
    root = roots[0]
    nbrs = fac.adj_bus[fac.adj_ptr[root]:fac.adj_ptr[root + 1]]
    top = [int(b) for b in np.argsort(-np.diff(fac.adj_ptr), kind="stable")[:12]]  # degree-targeted strike
    out = outages_from_indices(buses=[[root], [root, int(nbrs[0])], [int(nbrs[0])], roots, roots[1:], top],
                               branches=[[0, 5], [], [9], [3, 40, 77], [12], [1, 2, 3]])
    res = evaluate_batch(cg118, out, return_flows=True, return_loads=True, bound=2)
    assert not res.exact.any()
    _assert_equal(cg118, out, res)


def test_case2869pegase_k10_sample(cg2869):
    """Seeded sample of 10-branch strikes on a large grid with phase shifters: flows ≤ 1e-6 MW."""
    rng = np.random.default_rng(2024)
    n = 1000  # enough branch removals for the engine to use its per-branch images
    branches = [rng.choice(cg2869.n_branch, 10, replace=False) for _ in range(n)]
    buses = [rng.choice(cg2869.n_bus, int(rng.integers(0, 2)), replace=False) for _ in range(n)]
    out = outages_from_indices(branches=branches, buses=buses)
    res = evaluate_batch(cg2869, out, return_flows=True)
    assert (res.islands > 1).mean() > 0.5 and not res.exact.any()
    _assert_equal(cg2869, out, res, scenarios=rng.choice(n, 25, replace=False))
    few = evaluate_batch(cg2869, outages_from_indices(branches=branches[:50], buses=buses[:50]), return_flows=True)
    np.testing.assert_allclose(few.flows_mw, res.flows_mw[:50], atol=TOL_MW)  # with and without the images


def test_float32_within_documented_tolerance(cg2869):
    rng = np.random.default_rng(5)
    out = outages_from_indices(branches=[rng.choice(cg2869.n_branch, 10, replace=False) for _ in range(60)])
    a = evaluate_batch(cg2869, out, return_flows=True)
    b = evaluate_batch(cg2869, out, return_flows=True, dtype=np.float32)
    for k in ("served_mw", "shed_mw", "generation_mw", "people_without_power", "islands", "energised_islands"):
        np.testing.assert_allclose(getattr(b, k), getattr(a, k), atol=TOL_MW)
    rel = np.abs(b.flows_mw - a.flows_mw).max(axis=1) / np.abs(a.flows_mw).max(axis=1)
    assert rel.max() <= 1e-2


def test_tier_weights_and_exact_engine(cgvar):
    out = outages_from_ids(cgvar, [["bus:1", "line:3"], ["gen:0"], []])
    w = {1: 1000.0, 2: 5.0, 3: 1.0, 4: 0.0}
    fast = evaluate_batch(cgvar, out, tier_weights=w)
    exact = evaluate_batch(cgvar, out, tier_weights=w, engine="exact")
    assert exact.exact.all()
    for k in METRICS + COUNTS:
        np.testing.assert_allclose(getattr(fast, k), getattr(exact, k), atol=TOL_MW)
    _assert_equal(cgvar, out, fast, weights=w)


def test_outages_from_damage_matches_ids(cg118):
    ids = [["line:3", "bus:7"], ["gen:2", "load:4"]]
    a = outages_from_ids(cg118, ids)
    states = [damage_from_indices(cg118, **{k: v for k, v in zip(("buses", "branches", "gens", "loads"),
                                                                 (a.scenario(s)[c] for c in
                                                                  ("bus", "branch", "gen", "load")))})
              for s in range(2)]
    b = outages_from_damage(states, cg=cg118)
    ra, rb = evaluate_batch(cg118, a), evaluate_batch(cg118, b)
    np.testing.assert_array_equal(ra.islands, rb.islands)
    np.testing.assert_allclose(ra.shed_mw, rb.shed_mw, atol=TOL_MW)


def test_empty_batch_and_intact_scenario(cg118):
    empty = evaluate_batch(cg118, outages_from_indices(branches=[]))
    assert empty.n_scenarios == 0 and empty.to_frame().empty
    res = evaluate_batch(cg118, outages_from_indices(branches=[[]]), return_flows=True)
    _assert_equal(cg118, outages_from_indices(branches=[[]]), res)


def test_inputs_are_not_modified(cg118):
    out = outages_from_ids(cg118, [["line:3", "bus:7"]])
    before = (cg118.br_in_service.copy(), out.branch_idx.copy(), cg118.load_p_mw.copy())
    evaluate_batch(cg118, out, return_flows=True)
    assert np.array_equal(before[0], cg118.br_in_service) and np.array_equal(before[1], out.branch_idx)
    assert np.array_equal(before[2], cg118.load_p_mw)


def test_bad_input_names_field_and_value(cg118):
    with pytest.raises(InputError, match="branch_idx"):
        evaluate_batch(cg118, outages_from_indices(branches=[[cg118.n_branch + 3]]))
    with pytest.raises(InputError, match="lengths"):
        outages_from_indices(branches=[[1]], buses=[[1], [2]])
    with pytest.raises(InputError, match="mode"):
        evaluate_batch(cg118, outages_from_indices(branches=[[1]]), mode="ac")  # type: ignore[arg-type]
    with pytest.raises(svitlo.GridError):
        outages_from_ids(cg118, [["line:99999"]])


def test_opf_mode_runs_every_scenario_on_the_exact_path():
    cg = svitlo.compile_grid(svitlo.load_grid("case14"))
    out = outages_from_ids(cg, [["line:0", "line:1"], ["bus:4"]])
    w = {3: 2.0}
    res = evaluate_batch(cg, out, mode="opf", tier_weights=w, return_flows=True)
    assert res.exact.all()
    for s in range(2):
        sc = out.scenario(s)
        dmg = damage_from_indices(cg, buses=sc["bus"], branches=sc["branch"])
        r = evaluate_state(cg, dmg, mode="opf", options={"tier_weights": w})
        m = build_impact(cg, r, tier_weights=w).metrics
        assert abs(res.shed_mw[s] - m["shed_mw"]) <= TOL_MW
        assert abs(res.weighted_shed_mw[s] - m["weighted_shed_mw"]) <= TOL_MW
        assert np.max(np.abs(res.flows_mw[s] - r.flow_mw)) <= TOL_MW


def test_small_base_islands_and_orphan_loads(cgvar):
    """Strikes on islands that exist before any strike (leaf buses cut off) and a grid with a load left on a bus
    out of service: all handled explicitly and exactly."""
    fac = factorise(cgvar)
    small = np.flatnonzero(np.isin(fac.bus_comp, np.flatnonzero(fac.comp_size <= fac.bound)))
    gens = [int(g) for g in np.flatnonzero(np.isin(cgvar.gen_bus, small))]
    loads = [int(x) for x in np.flatnonzero(np.isin(cgvar.load_bus, small))]
    assert small.size >= 2 and gens and loads
    out = outages_from_indices(buses=[[int(small[0])], [], [], [int(small[1])]],
                               gens=[[], gens, [], gens[:1]], loads=[[], [], loads, []],
                               branches=[[0], [], [7], []])
    res = evaluate_batch(cgvar, out, return_flows=True, return_loads=True)
    assert not res.exact.any()
    _assert_equal(cgvar, out, res)


def test_weighted_shed_beyond_the_tier_table_matches_assess():
    """Tiers past the weight table (5, 6, …) weigh the same in the batched engine and in assess."""
    g = svitlo.load_grid("case30")
    loads = g.loads.copy()
    loads["tier"] = [1 + (i % 6) for i in range(len(loads))]
    g = g.with_tables(loads=loads)
    cg = svitlo.compile_grid(g)
    gens = [str(x) for x in cg.gen_ids[:3]]
    res = evaluate_batch(cg, outages_from_ids(cg, [gens]))
    imp = svitlo.assess(g, {"strikes": [{"assets": gens}]}, compiled=cg)
    assert imp.metrics["shed_mw"] > 0
    assert res.weighted_shed_mw[0] == pytest.approx(imp.metrics["weighted_shed_mw"], rel=1e-9, abs=1e-9)


def test_kernel_cache_guard_stamp_is_current_after_import():
    """Importing the batched engine stamps its cache with the current sources: nothing is stale afterwards, and a
    changed rule source would drop the compiled kernels (see the module's doctest)."""
    from svitlo.engine.batch import cache_guard

    d = Path(cache_guard.__file__).resolve().parent / "__pycache__"
    if not os.access(d.parent, os.W_OK):
        pytest.skip("read-only install: numba keeps its cache elsewhere")
    assert cache_guard.drop_stale(d, cache_guard.kernel_sources()) is False
    assert (d / cache_guard.STAMP).exists()
