"""The balance rule on hand-built grids with known answers; purity of assess."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import svitlo


def _grid(*, gens, loads, branches, buses=("bus:1", "bus:2", "bus:3", "bus:4")):
    return svitlo.make_grid(
        buses=pd.DataFrame(index=list(buses)),
        branches=pd.DataFrame([b[1:] for b in branches], columns=["from_bus", "to_bus", "x_pu", "rate_mw"],
                              index=[b[0] for b in branches]),
        generators=pd.DataFrame([g[1:] for g in gens], columns=["bus", "p_mw", "p_max_mw", "forms_island"],
                                index=[g[0] for g in gens]),
        loads=pd.DataFrame([ld[1:] for ld in loads], columns=["bus", "p_mw", "population", "tier"],
                           index=[ld[0] for ld in loads]),
        name="hand")


LINES = [("line:1", "bus:1", "bus:2", 0.1, 100.0), ("line:2", "bus:2", "bus:3", 0.1, 100.0),
         ("line:3", "bus:3", "bus:4", 0.1, 100.0)]


def test_distributed_slack_by_headroom(check):
    g = _grid(gens=[("gen:1", "bus:1", 10.0, 40.0, True), ("gen:2", "bus:3", 0.0, 10.0, True)],
              loads=[("load:1", "bus:2", 30.0, 100, 3), ("load:2", "bus:4", 10.0, 50, 1)], branches=LINES)
    imp = svitlo.assess(g, {})
    check(imp)
    p = imp.generators.set_index("id")["p_mw"]
    # imbalance 40 - 10 = 30 shared by headroom 30 : 10
    assert p["gen:1"] == pytest.approx(10 + 30 * 30 / 40)
    assert p["gen:2"] == pytest.approx(0 + 30 * 10 / 40)
    assert imp.metrics["shed_mw"] == 0
    # DC flows on a chain: line:3 carries load:2, line:1 carries gen:1's output
    f = imp.branches.set_index("id")["flow_mw"]
    assert f["line:3"] == pytest.approx(10.0)
    assert f["line:1"] == pytest.approx(p["gen:1"])


def test_downward_balance_proportional_to_output(check):
    g = _grid(gens=[("gen:1", "bus:1", 30.0, 40.0, True), ("gen:2", "bus:3", 10.0, 10.0, True)],
              loads=[("load:1", "bus:2", 20.0, 100, 3)], branches=LINES)
    imp = svitlo.assess(g, {})
    check(imp)
    p = imp.generators.set_index("id")["p_mw"]
    assert p["gen:1"] == pytest.approx(30 - 20 * 30 / 40)
    assert p["gen:2"] == pytest.approx(10 - 20 * 10 / 40)


def test_shedding_by_tier_critical_last_proportional_within(check):
    g = _grid(gens=[("gen:1", "bus:1", 0.0, 50.0, True)],
              loads=[("load:c", "bus:2", 20.0, 10, 1), ("load:a", "bus:3", 30.0, 300, 3),
                     ("load:b", "bus:4", 10.0, 100, 3), ("load:e", "bus:2", 10.0, 100, 2)],
              branches=LINES)
    imp = svitlo.assess(g, {})
    check(imp)
    ld = imp.loads.set_index("id")
    # load 70 MW, capacity 50: 20 MW shed from tier 3 only, 3:1 between load:a and load:b
    assert ld.loc["load:a", "shed_mw"] == pytest.approx(15.0)
    assert ld.loc["load:b", "shed_mw"] == pytest.approx(5.0)
    assert ld.loc["load:c", "shed_mw"] == 0 and ld.loc["load:e", "shed_mw"] == 0
    assert imp.metrics["people_without_power"] == pytest.approx(300 * 0.5 + 100 * 0.5)
    assert imp.metrics["shed_mw_by_tier"] == {1: 0.0, 2: 0.0, 3: pytest.approx(20.0)}


def test_shedding_reaches_critical_tier_only_after_others(check):
    g = _grid(gens=[("gen:1", "bus:1", 0.0, 15.0, True)],
              loads=[("load:c", "bus:2", 20.0, 10, 1), ("load:a", "bus:3", 30.0, 300, 3)], branches=LINES)
    imp = svitlo.assess(g, {})
    check(imp)
    ld = imp.loads.set_index("id")
    assert ld.loc["load:a", "served_mw"] == 0
    assert ld.loc["load:c", "served_mw"] == pytest.approx(15.0)


def test_island_without_forming_generator_is_dark(check):
    g = _grid(gens=[("gen:1", "bus:1", 0.0, 50.0, True), ("sgen:1", "bus:4", 5.0, 5.0, False)],
              loads=[("load:1", "bus:2", 10.0, 100, 3), ("load:2", "bus:4", 3.0, 30, 1)], branches=LINES)
    imp = svitlo.assess(g, {"strikes": [{"assets": ["line:3"]}]})
    check(imp)
    isl = imp.islands.set_index("id")
    assert imp.metrics["islands"] == 2 and imp.metrics["energised_islands"] == 1
    dark = isl[~isl["energised"]].iloc[0]
    assert dark["served_mw"] == 0 and dark["generation_mw"] == 0 and dark["shed_mw"] == pytest.approx(3.0)
    assert imp.generators.set_index("id").loc["sgen:1", "p_mw"] == 0
    assert imp.metrics["people_without_power"] == pytest.approx(30)


def test_destroyed_bus_takes_its_assets(check):
    g = _grid(gens=[("gen:1", "bus:1", 0.0, 50.0, True), ("gen:2", "bus:3", 0.0, 50.0, True)],
              loads=[("load:1", "bus:2", 10.0, 100, 3), ("load:2", "bus:3", 3.0, 30, 1)], branches=LINES)
    imp = svitlo.assess(g, {"strikes": [{"assets": ["bus:3"]}]})
    check(imp)
    br = imp.branches.set_index("id")
    assert not br.loc["line:2", "in_service"] and not br.loc["line:3", "in_service"]
    assert imp.generators.set_index("id").loc["gen:2", "p_mw"] == 0
    ld = imp.loads.set_index("id")
    assert ld.loc["load:2", "shed_mw"] == pytest.approx(3.0) and ld.loc["load:2", "island"] == -1
    assert imp.metrics["islands"] == 2  # {1,2} and the isolated bus 4


def test_assess_does_not_mutate_inputs():
    g = svitlo.load_grid("case14")
    before = {k: getattr(g, k).copy() for k in ("buses", "branches", "generators", "loads")}
    cg = svitlo.compile_grid(g)
    arrays = {k: v.copy() for k, v in vars(cg).items() if isinstance(v, np.ndarray)}
    svitlo.assess(g, {"strikes": [{"random": {"k": 4, "kinds": ["bus", "line"]}}],
                      "tiers": {"default": "essential"}})
    svitlo.assess(g, {"strikes": [{"random": {"k": 4}}]}, compiled=cg)
    for k, df in before.items():
        pd.testing.assert_frame_equal(df, getattr(g, k))
    for k, v in arrays.items():
        np.testing.assert_array_equal(v, getattr(cg, k))


def test_seeds_are_reproducible_and_distinct():
    sc = {"grid": "case118", "strikes": [{"random": {"k": 5}}]}
    a = svitlo.assess(None, sc, seed=1).destroyed
    assert a == svitlo.assess(None, sc, seed=1).destroyed
    assert a != svitlo.assess(None, sc, seed=2).destroyed


def test_targeted_strikes():
    imp = svitlo.assess("case118", {"strikes": [{"targeted": {"k": 3, "by": "flow"}}]})
    intact = svitlo.assess("case118", {})
    top = intact.branches.assign(a=intact.branches["flow_mw"].abs()).nlargest(3, "a")["id"].tolist()
    assert sorted(imp.destroyed) == sorted(top)
    deg = svitlo.assess("case118", {"strikes": [{"targeted": {"k": 2, "by": "betweenness"}}]})
    assert all(d.startswith("bus:") for d in deg.destroyed) and len(deg.destroyed) == 2


def test_tiers_and_population_from_scenario(check):
    imp = svitlo.assess("case9", {"tiers": {"default": "standard", "loads": {"load:0": "critical"}},
                                  "population": {"load:1": 1234}, "strikes": [{"assets": ["gen:0", "gen:1"]}]})
    check(imp)
    ld = imp.loads.set_index("id")
    assert ld.loc["load:0", "tier"] == 1 and ld.loc["load:1", "population"] == 1234
    assert ld.loc["load:0", "shed_mw"] <= ld.loc["load:1", "shed_mw"]


def test_flows_recomputable_from_json():
    """The JSON holds enough to recompute every flow from the injections (DC, one island per component)."""
    import json

    import scipy.sparse as sp

    d = json.loads(svitlo.assess("case30", {"strikes": [{"random": {"k": 6}}]}).to_json())
    buses = [b["id"] for b in d["buses"]]
    pos = {b: i for i, b in enumerate(buses)}
    p = np.zeros(len(buses))
    for gen in d["generators"]:
        p[pos[gen["bus"]]] += gen["p_mw"]
    for ld in d["loads"]:
        p[pos[ld["bus"]]] -= ld["served_mw"]
    br = [b for b in d["branches"] if b["in_service"]]
    f = np.array([pos[b["from_bus"]] for b in br])
    t = np.array([pos[b["to_bus"]] for b in br])
    bpu = np.array([b["b_pu"] for b in br])
    a = sp.csr_matrix((np.r_[np.ones(len(br)), -np.ones(len(br))], (np.r_[np.arange(len(br)), np.arange(len(br))],
                                                                      np.r_[f, t])), shape=(len(br), len(buses)))
    base = d["info"]["base_mva"]
    bbus = (a.T @ sp.diags(bpu) @ a).toarray()
    theta = np.linalg.lstsq(bbus, p / base, rcond=None)[0]  # min-norm solution: fine per component
    flows = base * bpu * (theta[f] - theta[t])
    np.testing.assert_allclose(flows, [b["flow_mw"] for b in br], atol=1e-6)
