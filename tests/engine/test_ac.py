"""AC check: equals pandapower ``runpp`` on the same state, written here independently from the Impact tables.

case118 and case300, intact and with fixed-seed random branch outages (some split the grid into several
energised islands); an island that does not converge is reported, never dropped.
"""

from __future__ import annotations

import copy

import numpy as np
import pandapower as pp
import pandapower.networks as pn
import pandas as pd
import pytest

import svitlo
from svitlo.engine.ac import ac_check
from svitlo.engine.damage import apply_damage
from svitlo.engine.impact import build_impact
from svitlo.engine.state import evaluate_state
from svitlo.errors import GridError

_GRIDS: dict[str, tuple] = {}


def grid_of(name: str):
    if name not in _GRIDS:
        g = svitlo.load_grid(name)
        _GRIDS[name] = (g, svitlo.compile_grid(g))
    return _GRIDS[name]


def reference_runpp(net0, imp):
    """The Impact's state on a fresh copy of the net, one slack per energised island, solved by runpp."""
    net = copy.deepcopy(net0)
    bus_on = dict(zip(imp.buses["id"], imp.buses["energised"]))
    net.bus["in_service"] = [bool(bus_on[f"bus:{b}"]) for b in net.bus.index]
    br_on = dict(zip(imp.branches["id"], imp.branches["in_service"]))
    for kind in ("line", "trafo"):
        net[kind]["in_service"] = [bool(br_on[f"{kind}:{i}"]) for i in net[kind].index]
    gens = imp.generators.copy()
    gens = gens[gens["online"] & gens["forms_island"]]
    slack = {}
    for isl, grp in gens.groupby("island"):
        slack[isl] = grp["id"].iloc[int(np.argmax(grp["p_max_mw"].to_numpy()))]
    net.gen["slack"] = False
    for r in imp.generators.itertuples():
        kind, idx = r.id.split(":")
        idx = int(idx)
        if kind == "gen":
            net.gen.at[idx, "in_service"] = bool(r.online)
            net.gen.at[idx, "p_mw"] = r.p_mw
            net.gen.at[idx, "slack"] = r.id in slack.values()
        elif kind == "ext_grid":
            keep = bool(r.online) and r.id in slack.values()
            net.ext_grid.at[idx, "in_service"] = keep
            if r.online and not keep:
                pp.create_gen(net, net.ext_grid.at[idx, "bus"], p_mw=r.p_mw, vm_pu=net.ext_grid.at[idx, "vm_pu"])
        elif kind == "sgen":
            net.sgen.at[idx, "in_service"] = bool(r.online)
            net.sgen.at[idx, "p_mw"] = r.p_mw
    for r in imp.loads.itertuples():
        kind, idx = r.id.split(":")
        if kind != "load":
            continue
        idx = int(idx)
        f = r.served_mw / r.p_mw if r.p_mw else 1.0
        net.load.at[idx, "p_mw"] *= f
        net.load.at[idx, "q_mvar"] *= f
    pp.runpp(net)
    return net


CASES = [("case118", 0), ("case118", 7), ("case118", 20), ("case300", 0), ("case300", 8), ("case300", 13)]


@pytest.mark.parametrize("name,k", CASES)
def test_equals_runpp(name, k, check):
    g, cg = grid_of(name)
    ids = [str(b) for b in np.random.default_rng(k).choice(cg.branch_ids, k, replace=False)] if k else []
    state = evaluate_state(cg, apply_damage(cg, ids))
    imp = build_impact(cg, state)
    check(imp)
    a = ac_check(g, cg, state)
    assert len(a.islands) == int(state.energised.sum())
    if not a.converged:  # case300 with 13 outages: the main island collapses; pandapower agrees
        with pytest.raises(pp.LoadflowNotConverged):
            reference_runpp(getattr(pn, name)(), imp)
        assert (name, k) == ("case300", 13)
        return
    ref = reference_runpp(getattr(pn, name)(), imp)
    on = imp.buses["energised"].to_numpy()
    vm_ref = ref.res_bus["vm_pu"].reindex([int(b.split(":")[1]) for b in imp.buses["id"]]).to_numpy()
    np.testing.assert_allclose(a.buses["vm_pu"].to_numpy()[on], vm_ref[on], atol=1e-8)
    assert np.isnan(a.buses["vm_pu"].to_numpy()[~on]).all()
    va_ref = ref.res_bus["va_degree"].reindex([int(b.split(":")[1]) for b in imp.buses["id"]]).to_numpy()
    np.testing.assert_allclose(a.buses["va_degree"].to_numpy()[on], va_ref[on], atol=1e-7)
    for b, row in a.branches.iterrows():
        kind, idx = b.split(":")
        table, col = ("res_line", "p_from_mw") if kind == "line" else ("res_trafo", "p_hv_mw")
        assert row["p_from_mw"] == pytest.approx(ref[table].at[int(idx), col], abs=1e-6)
        assert row["loading_percent"] == pytest.approx(ref[table].at[int(idx), "loading_percent"], abs=1e-6)
    # per-island summary agrees with the bus and branch tables
    for r in a.islands.itertuples():
        m = a.buses["island"].to_numpy() == r.island
        assert r.vm_min_pu == pytest.approx(np.nanmin(a.buses["vm_pu"].to_numpy()[m]))
        assert r.voltage_violations == int(a.buses["violation"].to_numpy()[m].sum())
        assert r.converged and r.losses_mw > -1e-6


def test_several_energised_islands_are_all_checked():
    g, cg = grid_of("case118")
    ids = [str(b) for b in np.random.default_rng(20).choice(cg.branch_ids, 20, replace=False)]
    state = evaluate_state(cg, apply_damage(cg, ids))
    assert state.energised.sum() == 3 and state.n_islands == 5
    a = ac_check(g, cg, state)
    assert sorted(a.islands["island"]) == sorted(np.flatnonzero(state.energised).tolist())


def test_island_that_does_not_converge_is_reported():
    net = pn.case118()
    big = net.load.index[net.load["p_mw"] > 0]
    net.load.loc[big, "q_mvar"] *= 40.0  # the main island cannot carry this reactive demand
    g = svitlo.load_grid(net)
    cg = svitlo.compile_grid(g)
    ids = [str(b) for b in np.random.default_rng(20).choice(cg.branch_ids, 20, replace=False)]
    state = evaluate_state(cg, apply_damage(cg, ids))
    a = ac_check(g, cg, state)
    isl = a.islands.set_index("island")
    assert len(isl) == int(state.energised.sum())
    assert not a.converged and (isl["mode"] == "alone").all()
    main = int(np.bincount(state.labels[state.labels >= 0]).argmax())
    assert not isl.at[main, "converged"]
    assert isl["converged"].any()  # the small island still converges on its own
    assert np.isnan(a.buses.loc[a.buses["island"] == main, "vm_pu"]).all()
    assert a.summary()["not_converged"] == [main]


def test_assess_ac_reports(tmp_path, check):
    imp = svitlo.assess("case118", {"strikes": [{"random": {"k": 8, "seed": 1}}], "ac_check": True})
    check(imp)
    assert imp.info["ac"]["converged"] is True
    assert set(imp.extras) >= {"ac_islands", "ac_violations"}
    assert len(imp.extras["ac_islands"]) == imp.metrics["energised_islands"]
    names = {p.name for p in imp.write_parquet(tmp_path)}
    assert {"ac_islands.parquet", "ac_violations.parquet"} <= names
    no = svitlo.assess("case118", {"ac_check": True}, ac=False)
    assert "ac" not in no.info


def test_grid_without_source_net_is_a_clear_error():
    g = svitlo.make_grid(
        buses=pd.DataFrame(index=["bus:1", "bus:2"]),
        branches=pd.DataFrame({"from_bus": ["bus:1"], "to_bus": ["bus:2"], "x_pu": [0.1]}, index=["line:0"]),
        generators=pd.DataFrame({"bus": ["bus:1"], "p_mw": [10.0], "p_max_mw": [50.0]}, index=["gen:0"]),
        loads=pd.DataFrame({"bus": ["bus:2"], "p_mw": [10.0]}, index=["load:0"]), name="two-bus")
    cg = svitlo.compile_grid(g)
    with pytest.raises(GridError, match="two-bus: ac_check = True"):
        ac_check(g, cg, evaluate_state(cg, apply_damage(cg, [])))


def test_source_net_is_left_unchanged():
    g, cg = grid_of("case118")
    before = g.source_net.load["p_mw"].copy(), g.source_net.line["in_service"].copy()
    ac_check(g, cg, evaluate_state(cg, apply_damage(cg, ["line:3", "bus:5"])))
    pd.testing.assert_series_equal(before[0], g.source_net.load["p_mw"])
    pd.testing.assert_series_equal(before[1], g.source_net.line["in_service"])


# --- one rating rule, slack limits, collapse, reactive limits ---------------------------------------------------

def test_placeholder_ratings_are_unrated_in_ac_as_in_dc():
    """case1354pegase's transformers carry pandapower's "no rating" placeholder: unrated in DC, so no AC
    loading either (before: 45 false overloads on the intact grid, up to 283 %)."""
    imp = svitlo.assess("case1354pegase", {"ac_check": True})
    assert imp.info["ac"]["converged"]
    assert imp.info["ac"]["overloaded_branches"] == 0
    br = imp.branches.set_index("id")
    acb = imp.extras["ac_violations"]
    assert not (acb["kind"] == "loading").any()
    unrated = br.index[~np.isfinite(br["rate_mw"])]
    assert len(unrated) > 0


def test_slack_beyond_its_limit_is_a_violation():
    """Only ext_grid:0 (250 MW) is left for 315 MW of load: DC runs it at 250 MW and sheds 65 MW; the AC
    losses fall on the same unit, above its limit."""
    imp = svitlo.assess("case9", {"strikes": [{"assets": ["gen:0", "gen:1"]}], "ac_check": True})
    isl = imp.extras["ac_islands"]
    assert bool(isl["slack_over_limit"].iloc[0])
    assert imp.info["ac"]["slack_over_limit"] == [0]
    v = imp.extras["ac_violations"]
    row = v[v["kind"] == "slack_limit"].iloc[0]
    assert row["id"] == "ext_grid:0" and row["value"] > row["limit_high"] == 250.0


def test_low_voltage_island_is_flagged_collapsed_and_q_limits_are_an_option():
    base = svitlo.assess("case9", {"ac_check": True})
    vmin = float(base.extras["ac_islands"]["vm_min_pu"].iloc[0])
    assert base.info["ac"]["collapsed"] == []
    hi = svitlo.assess("case9", {"ac_check": True, "ac": {"collapse_vm_pu": min(0.999, vmin + 0.005)}})
    assert hi.info["ac"]["collapsed"] == [0]
    q = svitlo.assess("case9", {"ac_check": True, "ac": {"enforce_q_lims": True}})
    assert q.info["ac"]["converged"]
    with pytest.raises(svitlo.ScenarioError):
        svitlo.assess("case9", {"ac_check": True, "ac": {"enforce_qlims": True}})
