"""AC check with distributed slack (``ac: {distributed_slack: true}``): losses shared by headroom, checked against
pandapower's own distributed-slack power flow set up by hand on the same case."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import svitlo
from svitlo.engine.ac import ac_check, slack_weights
from svitlo.engine.damage import apply_damage
from svitlo.engine.state import evaluate_state
from svitlo.model.compiled import compile_grid

pp = pytest.importorskip("pandapower")


@pytest.fixture(scope="module")
def case118():
    g = svitlo.load_grid("case118")
    return g, compile_grid(g)


def test_losses_shared_in_proportion_to_headroom(case118):
    g, cg = case118
    st = evaluate_state(cg, apply_damage(cg, ["line:5", "line:40"]))
    one = ac_check(g, cg, st)
    a = ac_check(g, cg, st, distributed_slack=True)
    assert a.converged and one.units is None
    u = a.units
    assert len(u) == cg.n_gen  # every generator and the external grid of case118
    ratio = (u["p_ac_mw"] - u["p_dc_mw"]) / u["weight"]
    assert np.ptp(ratio[u["weight"] > 0]) < 1e-6 * float(ratio.abs().max())  # one share per MW of headroom
    loss = float(a.islands["losses_mw"].iloc[0])
    assert loss == pytest.approx(float((u["p_ac_mw"] - u["p_dc_mw"]).sum()))
    # losses are a few percent of the load either way; the single slack carries them all
    assert 0.5 * one.islands["losses_mw"].iloc[0] < loss < 1.5 * one.islands["losses_mw"].iloc[0]
    slack = one.islands["slack"].iloc[0]
    single = float(one.islands["slack_p_mw"].iloc[0]) - float(one.islands["slack_p_dc_mw"].iloc[0])
    shared = u.set_index("id").loc[slack]
    assert shared["p_ac_mw"] - shared["p_dc_mw"] < 0.2 * single
    assert "ac_units" in a.tables


def test_equals_pandapower_distributed_slack_by_hand(case118):
    """Intact case118: the case's net with every generator at svitlo's DC dispatch, the external grid replaced
    by a slack generator at its dispatch, slack weights = headroom, solved by pandapower directly."""
    g, cg = case118
    st = evaluate_state(cg, apply_damage(cg, []))
    a = ac_check(g, cg, st, distributed_slack=True)
    w = slack_weights(cg, st)
    net = copy.deepcopy(g.source_net)
    pos = {str(i): j for j, i in enumerate(cg.gen_ids)}
    net.gen["slack_weight"] = 0.0
    for k in net.gen.index:
        j = pos[f"gen:{k}"]
        net.gen.at[k, "p_mw"] = st.gen_p_mw[j]
        net.gen.at[k, "slack_weight"] = w[j]
        net.gen.at[k, "slack"] = True
    (e,) = net.ext_grid.index
    j = pos[f"ext_grid:{e}"]
    net.ext_grid.at[e, "in_service"] = False
    k = pp.create_gen(net, net.ext_grid.at[e, "bus"], p_mw=st.gen_p_mw[j], vm_pu=net.ext_grid.at[e, "vm_pu"],
                      slack=True, slack_weight=w[j])
    pp.runpp(net, distributed_slack=True, tolerance_mva=1e-8)
    u = a.units.set_index("id")
    for gk in net.gen.index:
        gid = f"gen:{gk}" if gk != k else f"ext_grid:{e}"
        assert u.loc[gid, "p_ac_mw"] == pytest.approx(float(net.res_gen.at[gk, "p_mw"]), abs=1e-6)
    vm = a.buses["vm_pu"].to_numpy(float)
    ref = net.res_bus["vm_pu"].reindex([int(b.split(":")[1]) for b in cg.bus_ids]).to_numpy(float)
    assert np.max(np.abs(vm - ref)) < 1e-8


def test_scenario_key_reaches_assess():
    imp = svitlo.assess("case30", {"strikes": [{"assets": ["line:3"]}], "ac_check": True,
                                   "ac": {"distributed_slack": True}})
    assert "ac_units" in imp.extras and imp.info["ac"]["converged"]
