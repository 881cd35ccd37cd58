"""An external grid absorbs an island's surplus (export, reverse flow) within its limit; other units never go
below 0 (balance and opf modes, the batched engine, pandapower ``rundcpp`` on the same state)."""

from __future__ import annotations

import numpy as np
import pandapower as pp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reference import max_flow_error, pandapower_dc_flows

import svitlo
from svitlo.engine.batch import evaluate_batch, outages_from_indices
from svitlo.engine.damage import damage_from_indices
from svitlo.engine.dispatch import export_limit_mw, external_units
from svitlo.engine.impact import build_impact
from svitlo.engine.state import evaluate_state
from svitlo.engine.viability import ViabilityOptions
from svitlo.io.pandapower_net import UNBOUNDED_EXPORT_MW, from_pandapower
from svitlo.model.grid import make_grid

TOL = 1e-6


def _net(min_p_mw: float | None = -50.0):
    """ext grid at bus 0 -- line:0 -- bus 1 (gen 100 MW, load 60 MW) -- line:1 -- bus 2 (load 30 MW)."""
    net = pp.create_empty_network()
    b = [pp.create_bus(net, vn_kv=110.0) for _ in range(3)]
    pp.create_ext_grid(net, b[0], max_p_mw=200.0, **({} if min_p_mw is None else {"min_p_mw": min_p_mw}))
    pp.create_line_from_parameters(net, b[0], b[1], 10.0, 0.01, 0.3, 10.0, 1.0)
    pp.create_line_from_parameters(net, b[1], b[2], 10.0, 0.01, 0.3, 10.0, 1.0)
    pp.create_gen(net, b[1], p_mw=100.0, max_p_mw=150.0, min_p_mw=0.0)
    pp.create_load(net, b[1], p_mw=60.0)
    pp.create_load(net, b[2], p_mw=30.0)
    return net


def _gens(imp) -> dict[str, float]:
    return dict(zip(imp.generators["id"], imp.generators["p_mw"]))


def _flow(imp, bid: str) -> float:
    return float(imp.branches.set_index("id").at[bid, "flow_mw"])


def test_surplus_is_exported_and_flows_reverse(check):
    net = _net()
    grid = from_pandapower(net, name="export")
    imp = svitlo.assess(grid, {})
    check(imp)
    g = _gens(imp)
    assert g["ext_grid:0"] == pytest.approx(-10.0) and g["gen:0"] == pytest.approx(100.0)  # schedule kept
    assert _flow(imp, "line:0") == pytest.approx(-10.0)  # from the island into the external grid
    assert max_flow_error(imp, pandapower_dc_flows(net, imp)) < TOL
    # bus 2 cut off (dark): 40 MW surplus, all exported
    cut = svitlo.assess(grid, {"strikes": [{"assets": ["line:1"]}]})
    check(cut)
    assert _gens(cut)["ext_grid:0"] == pytest.approx(-40.0) and _flow(cut, "line:0") == pytest.approx(-40.0)
    assert max_flow_error(cut, pandapower_dc_flows(net, cut, destroyed_branches=["line:1"])) < TOL


def test_export_limit_then_ordinary_units_move_down(check):
    grid = from_pandapower(_net(min_p_mw=-25.0), name="export")
    imp = svitlo.assess(grid, {"strikes": [{"assets": ["line:1"]}]})
    check(imp)
    g = _gens(imp)
    assert g["ext_grid:0"] == pytest.approx(-25.0) and g["gen:0"] == pytest.approx(85.0)
    # no export allowed (min_p_mw = 0): the generator follows the load as before
    g0 = _gens(svitlo.assess(from_pandapower(_net(min_p_mw=0.0), name="x"), {"strikes": [{"assets": ["line:1"]}]}))
    assert g0["ext_grid:0"] == pytest.approx(0.0) and g0["gen:0"] == pytest.approx(60.0)


def test_missing_min_p_mw_is_unbounded_export():
    grid = from_pandapower(_net(min_p_mw=None), name="export")
    assert grid.generators.at["ext_grid:0", "p_min_mw"] == -UNBOUNDED_EXPORT_MW
    cg = svitlo.compile_grid(grid)
    ids = list(cg.gen_ids)
    assert dict(zip(ids, external_units(cg).tolist())) == {"ext_grid:0": True, "gen:0": False}
    assert dict(zip(ids, export_limit_mw(cg).tolist())) == {"ext_grid:0": UNBOUNDED_EXPORT_MW, "gen:0": 0.0}


def test_opf_exports_within_the_limit(check):
    grid = from_pandapower(_net(min_p_mw=-25.0), name="export")
    g = grid.generators.copy()
    g.loc["ext_grid:0", "cost_per_mwh"] = 50.0  # the external grid pays more than the unit costs: export all
    g.loc["gen:0", "cost_per_mwh"] = 10.0
    grid = make_grid(buses=grid.buses, branches=grid.branches, generators=g, loads=grid.loads, name="export",
                     base_mva=grid.base_mva)
    imp = svitlo.assess(grid, {"mode": "opf"})
    check(imp)
    out = _gens(imp)
    assert out["ext_grid:0"] == pytest.approx(-25.0, abs=1e-6) and out["gen:0"] == pytest.approx(115.0, abs=1e-6)
    assert _flow(imp, "line:0") == pytest.approx(-25.0, abs=1e-6)


def test_ordinary_units_never_go_negative():
    """A negative p_min on an ordinary generator (a MATPOWER dispatchable load) does not let it absorb power."""
    grid = from_pandapower(_net(min_p_mw=0.0), name="x")
    g = grid.generators.copy()
    g.loc["gen:0", "p_min_mw"] = -40.0
    grid = make_grid(buses=grid.buses, branches=grid.branches, generators=g, loads=grid.loads, name="x",
                     base_mva=grid.base_mva)
    for mode in ("balance", "opf"):
        imp = svitlo.assess(grid, {"mode": mode, "strikes": [{"assets": ["load:0", "line:1"]}]})
        assert imp.generators["p_mw"].min() >= -TOL, mode


def test_matpower_reference_generator_with_negative_pmin_is_the_external_grid(tmp_path):
    text = """function mpc = exp3
mpc.version = '2';
mpc.baseMVA = 100;
mpc.bus = [
1 3 0 0 0 0 1 1 0 110 1 1.1 0.9;
2 2 60 0 0 0 1 1 0 110 1 1.1 0.9;
3 1 30 0 0 0 1 1 0 110 1 1.1 0.9;
];
mpc.gen = [
1 0 0 100 -100 1 100 1 200 -50 0 0 0 0 0 0 0 0 0 0 0;
2 100 0 100 -100 1 100 1 150 0 0 0 0 0 0 0 0 0 0 0 0;
];
mpc.branch = [
1 2 0.01 0.1 0 0 0 0 0 0 1 -360 360;
2 3 0.01 0.1 0 0 0 0 0 0 1 -360 360;
];
"""
    p = tmp_path / "exp3.m"
    p.write_text(text)
    grid = svitlo.load_grid(str(p))
    assert grid.generators["kind"].tolist() == ["ext_grid", "gen"]
    imp = svitlo.assess(grid, {"strikes": [{"assets": ["branch:2"]}]})
    assert _gens(imp)["gen:1"] == pytest.approx(-40.0) and _flow(imp, "branch:1") == pytest.approx(-40.0)


def _export_grid():
    """case118 with three external grids (unbounded export, 30 MW export, none) and loads lowered so that
    islands often hold a surplus."""
    g = svitlo.load_grid("case118")
    gens = g.generators.copy()
    kind = gens.columns.get_loc("kind")
    pmin = gens.columns.get_loc("p_min_mw")
    for i, lo in ((0, -UNBOUNDED_EXPORT_MW), (10, -30.0), (20, 0.0)):
        gens.iloc[i, kind] = "ext_grid"
        gens.iloc[i, pmin] = lo
    gens.iloc[5, pmin] = -20.0  # an ordinary unit with a negative minimum stays >= 0
    loads = g.loads.copy()
    loads["p_mw"] *= 0.6
    loads["tier"] = np.random.default_rng(3).integers(1, 4, len(loads))
    return make_grid(buses=g.buses, branches=g.branches, generators=gens, loads=loads, name="case118-export",
                     base_mva=g.base_mva)


@pytest.fixture(scope="module")
def cgx():
    return svitlo.compile_grid(_export_grid())


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_batch_equals_per_state_with_export(cgx, data):
    viability = data.draw(st.sampled_from([None, ViabilityOptions(enabled=True)]), label="viability")
    n = 5
    lists = {"branches": [], "gens": [], "buses": [], "loads": []}
    for _ in range(n):
        lists["branches"].append(data.draw(st.lists(st.integers(0, cgx.n_branch - 1), max_size=15)))
        lists["gens"].append(data.draw(st.lists(st.integers(0, cgx.n_gen - 1), max_size=3)))
        lists["buses"].append(data.draw(st.lists(st.integers(0, cgx.n_bus - 1), max_size=2)))
        lists["loads"].append(data.draw(st.lists(st.integers(0, cgx.n_load - 1), max_size=3)))
    out = outages_from_indices(**lists)
    res = evaluate_batch(cgx, out, return_flows=True, viability=viability,
                         bound=data.draw(st.sampled_from([2, 16])))
    for s in range(n):
        sc = out.scenario(s)
        dmg = damage_from_indices(cgx, buses=sc["bus"], branches=sc["branch"], gens=sc["gen"], loads=sc["load"])
        r = evaluate_state(cgx, dmg, viability=viability)
        m = build_impact(cgx, r).metrics
        for k in ("served_mw", "shed_mw", "generation_mw", "weighted_shed_mw"):
            assert abs(getattr(res, k)[s] - m[k]) <= TOL, (s, k)
        for k in ("islands", "energised_islands"):
            assert getattr(res, k)[s] == m[k], (s, k)
        assert np.max(np.abs(res.flows_mw[s] - r.flow_mw), initial=0.0) <= TOL, s


def test_batch_fast_path_exports(cgx, check):
    """The intact case118-export exports through its external grids, on the batched fast path too."""
    r = evaluate_state(cgx, damage_from_indices(cgx))
    imp = build_impact(cgx, r)
    check(imp)
    p = r.gen_p_mw
    ext = external_units(cgx)
    assert p[0] < -1.0 and p[10] < cgx.gen_p_mw[10]  # the surplus goes into the external grids (by their room)
    on = ~ext & cgx.gen_in_service
    np.testing.assert_allclose(p[on], np.clip(cgx.gen_p_mw[on], 0, cgx.gen_p_max_mw[on]), atol=TOL)  # kept
    rng = np.random.default_rng(1)
    out = outages_from_indices(branches=[list(rng.choice(cgx.n_branch, 2, replace=False)) for _ in range(20)])
    res = evaluate_batch(cgx, out, return_flows=True)
    assert (~res.exact).sum() >= 10
    for s in np.flatnonzero(~res.exact)[:5]:
        sc = out.scenario(int(s))
        rs = evaluate_state(cgx, damage_from_indices(cgx, branches=sc["branch"]))
        assert np.max(np.abs(res.flows_mw[s] - rs.flow_mw)) <= TOL
