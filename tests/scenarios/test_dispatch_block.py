"""The ``dispatch:`` block: strict priority by default in both modes, tier weights, p_min handling, flagged
infeasibility, the same options in assess, simulate and sweep, and one-line errors for bad values."""

from __future__ import annotations

import pandas as pd
import pytest

import svitlo
from svitlo.errors import ScenarioError, SolverError
from svitlo.model.grid import make_grid

pytest.importorskip("highspy")


def loop_grid(*, p_min: float = 0.0, rate_mw: float = 5.05):
    """A loop where a rated line feeds a 10 MW tier-1 load at bus:1; 300 MW of tier-3 load at bus:2 sits
    electrically next to the unit (x 0.001 against 1), so it relieves the rated line ~1000 times less per MW
    than the tier-1 load: weights 100 apart trade 0.2 MW of tier 1 for 205 MW of tier 3, strict priority not."""
    buses = pd.DataFrame({"lat": [50.0, 50.0, 50.0], "lon": [30.0, 30.01, 30.02]},
                         index=[f"bus:{i}" for i in range(3)])
    br = pd.DataFrame({"from_bus": ["bus:0", "bus:0", "bus:1"], "to_bus": ["bus:1", "bus:2", "bus:2"],
                       "x_pu": [1.0, 0.001, 1.0], "rate_mw": [rate_mw, float("inf"), float("inf")]},
                      index=["line:0", "line:1", "line:2"])
    gen = pd.DataFrame({"bus": ["bus:0"], "p_mw": [300.0], "p_max_mw": [1000.0], "p_min_mw": [p_min]},
                       index=["gen:0"])
    loads = pd.DataFrame({"bus": ["bus:1", "bus:2"], "p_mw": [10.0, 300.0], "tier": [1, 3]},
                         index=["load:1", "load:2"])
    return make_grid(buses=buses, branches=br, generators=gen, loads=loads, name="loop")


def test_strict_priority_is_the_default_in_opf(check):
    g = loop_grid()
    strict = svitlo.assess(g, {"mode": "opf"})
    check(strict)
    assert strict.info["opf"]["strict_priority"] is True
    assert strict.metrics["shed_mw_by_tier"][1] < 1e-6  # no tier-1 megawatt traded for tier-3 ones
    assert strict.metrics["shed_mw_by_tier"][3] == pytest.approx(204.95, abs=0.01)
    weighted = svitlo.assess(g, {"mode": "opf", "dispatch": {"strict_priority": False}})
    check(weighted)
    assert weighted.metrics["shed_mw_by_tier"][1] == pytest.approx(0.2047, abs=1e-3)
    assert weighted.metrics["shed_mw_by_tier"][3] < 1e-6
    # weights far enough apart make the weighted LP strict on this grid too
    far = svitlo.assess(g, {"mode": "opf", "dispatch": {"strict_priority": False,
                                                         "tier_weights": {1: 1e6, 2: 10, 3: 1}}})
    assert far.metrics["shed_mw_by_tier"][1] < 1e-6
    assert far.metrics["weighted_shed_mw"] == pytest.approx(far.metrics["shed_mw_by_tier"][3], rel=1e-9)


def test_tier_weights_reach_the_metrics_in_both_modes():
    g = loop_grid()
    sc = {"strikes": [{"assets": ["line:1"]}], "dispatch": {"tier_weights": {1: 50, 3: 2}}}
    for mode in ("balance", "opf"):
        imp = svitlo.assess(g, {**sc, "mode": mode})
        by = imp.metrics["shed_mw_by_tier"]
        assert imp.metrics["weighted_shed_mw"] == pytest.approx(50 * by.get(1, 0) + 2 * by.get(3, 0))


def test_p_min_honoured_and_infeasible_island_flagged(check):
    g = loop_grid(p_min=500.0, rate_mw=50.0)  # the unit's minimum exceeds the island's 310 MW of load
    assert svitlo.assess(g, {"mode": "opf"}).info["opf"]["p_min"] == "zero"
    with pytest.raises(SolverError, match="infeasible"):
        svitlo.assess(g, {"mode": "opf", "dispatch": {"p_min": "honour"}})
    imp = svitlo.assess(g, {"mode": "opf", "dispatch": {"p_min": "honour", "on_infeasible": "flag"}})
    check(imp)
    o = imp.info["opf"]
    assert o["status"] == "p_min_relaxed" and o["relaxed_units"] == ["gen:0"] and o["relaxed_branches"] == []
    assert imp.metrics["generation_mw"] == pytest.approx(310.0) and imp.metrics["shed_mw"] == 0.0
    # ratings that cannot hold as well: both relaxed, both listed
    both = svitlo.assess(loop_grid(p_min=500.0), {"mode": "opf", "dispatch": {"p_min": "honour",
                                                                             "on_infeasible": "flag"}})
    check(both)
    assert both.info["opf"]["status"] == "ratings_relaxed"
    assert both.info["opf"]["relaxed_branches"] == ["line:0"] and both.info["opf"]["relaxed_units"] == ["gen:0"]


@pytest.mark.parametrize("dispatch", [{}, {"strict_priority": False}, {"tier_weights": {1: 7, 3: 3}}])
def test_assess_simulate_and_sweep_follow_the_same_options(dispatch):
    from svitlo.analyses.sweep.evaluate import evaluate_chunk, make_context
    from svitlo.pipeline import prepare

    sc = {"mode": "opf", "horizon_h": 2, "dispatch": dispatch}
    g = loop_grid()
    a = svitlo.assess(g, sc).metrics
    tl = svitlo.simulate(g, sc).hourly.iloc[0]
    p = prepare(g, sc)
    row = evaluate_chunk(make_context(p.scenario, grid=p), root_seed=1, start=0, stop=1).to_pylist()[0]
    for k in ("shed_mw", "served_mw"):
        assert tl[k] == pytest.approx(a[k], abs=1e-6)
        assert row[k] == pytest.approx(a[k], abs=1e-6)
    assert row["weighted_shed_mw"] == pytest.approx(a["weighted_shed_mw"], abs=1e-6)
    assert tl["ens_weighted_mwh"] == pytest.approx(a["weighted_shed_mw"], abs=1e-6)


@pytest.mark.parametrize(("block", "field", "value"), [
    ({"tier_weights": {1: 1, 2: 10}}, "dispatch.tier_weights", "decrease"),
    ({"tier_weights": {1: -1}}, "dispatch.tier_weights[1]", "-1"),
    ({"strict_priority": "maybe"}, "dispatch.strict_priority", "maybe"),
    ({"p_min": "always"}, "dispatch.p_min", "always"),
    ({"on_infeasible": "ignore"}, "dispatch.on_infeasible", "ignore"),
    ({"weights": {1: 1}}, "dispatch.weights", "weights"),
])
def test_bad_values_are_one_line_errors(tmp_path, block, field, value):
    f = tmp_path / "s.yaml"
    import yaml

    f.write_text(yaml.safe_dump({"grid": "case9", "dispatch": block}))
    with pytest.raises(ScenarioError) as e:
        svitlo.load_scenario(f)
    msg = str(e.value)
    assert "\n" not in msg and str(f.name) in msg and field in msg and value in msg
