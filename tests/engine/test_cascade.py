"""Cascading overload trips: a hand-built example with a known trip sequence, the options, both modes, reports.

The example: a 100 MW load (20 MW critical, 80 MW standard) at bus B is fed from a 200 MW unit at bus A over
three identical parallel lines rated 30, 40 and 90 MW; a 5 MW island-forming unit sits at B. Flows split
equally, so with the defaults (instant above 120 %, delayed above 100 % for 2 steps):

====  ===========================================  ========================
step  loadings (line:1, line:2, line:3)            trips
====  ===========================================  ========================
0     111 %, 83 %, 37 %                            —  (line:1 over 100 %: 1 step)
1     same state                                   line:1 (2 steps over 100 %)
2     -, 125 %, 56 %                               line:2 (over 120 %)
3     -, -, 111 %                                  —  (line:3 over 100 %: 1 step)
4     same state                                   line:3
5     two islands; B runs on its 5 MW unit         —  stable: 95 MW shed, standard first
====  ===========================================  ========================
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import svitlo
from svitlo.engine.cascade import branch_loading_percent, cascade_settings, run_cascade
from svitlo.engine.damage import apply_damage
from svitlo.engine.impact import build_impact
from svitlo.errors import InputError, ScenarioError
from svitlo.scenarios.spec import Cascade


def three_lines(ratings=(30.0, 40.0, 90.0)) -> svitlo.Grid:
    return svitlo.make_grid(
        buses=pd.DataFrame(index=["bus:A", "bus:B"]),
        branches=pd.DataFrame({"from_bus": ["bus:A"] * 3, "to_bus": ["bus:B"] * 3, "x_pu": [0.1] * 3,
                               "rate_mw": list(ratings)}, index=["line:1", "line:2", "line:3"]),
        generators=pd.DataFrame({"bus": ["bus:A", "bus:B"], "p_mw": [100.0, 0.0], "p_max_mw": [200.0, 5.0]},
                                index=["gen:A", "gen:B"]),
        loads=pd.DataFrame({"bus": ["bus:B", "bus:B"], "p_mw": [20.0, 80.0], "tier": [1, 3]},
                           index=["load:critical", "load:standard"]),
        name="three-lines")


@pytest.fixture
def cg():
    return svitlo.compile_grid(three_lines())


def _sequence(c) -> list[list[str]]:
    return [list(t) for t in c.steps["tripped"]]


def test_known_trip_sequence(cg, check):
    c = run_cascade(cg, apply_damage(cg, []))
    assert _sequence(c) == [[], ["line:1"], ["line:2"], [], ["line:3"], []]
    assert c.converged and c.tripped == ("line:1", "line:2", "line:3")
    s = c.steps
    np.testing.assert_allclose(s["max_loading_percent"], [100 / 3 / 30 * 100] * 2 + [125.0] + [100 / 90 * 100] * 2
                               + [0.0])
    assert s["islands"].tolist() == [1, 1, 1, 1, 1, 2]
    np.testing.assert_allclose(s["shed_mw"], [0, 0, 0, 0, 0, 95.0], atol=1e-9)
    imp = build_impact(cg, c.final)
    check(imp)
    assert imp.metrics["shed_mw_by_tier"] == pytest.approx({1: 15.0, 3: 80.0})
    assert not imp.branches["in_service"].any() and not imp.branches["destroyed"].any()


def test_thresholds_change_the_sequence(cg):
    c = run_cascade(cg, apply_damage(cg, []), delay_steps=1)
    assert _sequence(c) == [["line:1"], ["line:2"], ["line:3"], []]
    c = run_cascade(cg, apply_damage(cg, []), instant_percent=110.0)
    assert _sequence(c) == [["line:1"], ["line:2"], ["line:3"], []]
    c = run_cascade(cg, apply_damage(cg, []), delayed_percent=112.0)
    assert _sequence(c) == [[]]  # line:1 at 111 % rides below the delayed threshold
    assert c.final.damage.branch_alive.tolist() == [True, True, True]
    c = run_cascade(cg, apply_damage(cg, []), delay_steps=3)
    assert _sequence(c) == [[], [], ["line:1"], ["line:2"], [], [], ["line:3"], []]


def test_bound_is_reported(cg):
    c = run_cascade(cg, apply_damage(cg, []), max_steps=2)
    assert not c.converged
    assert _sequence(c) == [[], ["line:1"], []]
    assert c.pending == ("line:2",)
    assert c.summary()["converged"] is False
    c0 = run_cascade(cg, apply_damage(cg, []), max_steps=0)
    assert len(c0.steps) == 1 and not c0.converged and c0.tripped == ()


def test_strike_first_then_cascade(cg):
    c = run_cascade(cg, apply_damage(cg, ["line:3"]))  # 50 MW on 30 and 40 MW lines: both trip at once
    assert _sequence(c) == [["line:1", "line:2"], []]
    assert c.final.n_islands == 2


def test_opf_mode_never_trips(cg, check):
    c = run_cascade(cg, apply_damage(cg, []), mode="opf")
    assert _sequence(c) == [[]] and c.converged
    assert branch_loading_percent(cg, c.final).max() <= 100 + 1e-6
    imp = build_impact(cg, c.final)
    check(imp)
    # the 30 MW line limits the transfer to 3 x 30 = 90 MW; with 5 MW at B, 5 MW standard load is shed
    assert imp.metrics["shed_mw_by_tier"] == pytest.approx({1: 0.0, 3: 5.0}, abs=1e-7)


def test_unlimited_ratings_never_trip():
    cg = svitlo.compile_grid(three_lines((np.inf, np.inf, np.inf)))
    c = run_cascade(cg, apply_damage(cg, []))
    assert _sequence(c) == [[]]


def test_bad_options_are_named():
    cg = svitlo.compile_grid(three_lines())
    with pytest.raises(InputError, match="cascade.delay_steps"):
        run_cascade(cg, apply_damage(cg, []), delay_steps=0)
    with pytest.raises(InputError, match="cascade.instant_percent"):
        run_cascade(cg, apply_damage(cg, []), instant_percent=float("nan"))
    with pytest.raises(ScenarioError, match="cascade.max_steps"):
        cascade_settings(Cascade(), {"max_steps": -1})
    with pytest.raises(ScenarioError, match="cascade"):
        svitlo.parse_scenario({"grid": "case9", "cascade": {"enabld": True}}, source="s.yaml")


def test_assess_scenario_key_and_reports(tmp_path, check):
    g = three_lines()
    imp = svitlo.assess(g, {"cascade": {"enabled": True}})
    check(imp)
    assert imp.info["cascade"]["tripped"] == ["line:1", "line:2", "line:3"]
    assert imp.metrics["shed_mw"] == pytest.approx(95.0)
    d = json.loads(imp.to_json())
    assert [r["tripped"] for r in d["cascade"]] == [[], ["line:1"], ["line:2"], [], ["line:3"], []]
    assert "cascade.parquet" in {p.name for p in imp.write_parquet(tmp_path)}
    off = svitlo.assess(g, {"cascade": {"enabled": True}}, cascade=False)
    assert "cascade" not in off.extras and off.metrics["overloaded_branches"] == 1
    fast = svitlo.assess(g, {}, cascade={"delay_steps": 1})
    assert fast.info["cascade"]["steps"] == 4


@pytest.mark.parametrize("mode", ["balance", "opf"])
def test_real_case_cascade_keeps_invariants(mode, check):
    """case118 with ratings capped at 150 MW and 5 random outages: every step's state keeps the invariants."""
    g = svitlo.load_grid("case118")
    br = g.branches.copy()
    br["rate_mw"] = br["rate_mw"].clip(upper=150.0)
    cg = svitlo.compile_grid(g.with_tables(branches=br))
    rng = np.random.default_rng(5)
    ids = [str(b) for b in rng.choice(cg.branch_ids, 5, replace=False)]
    c = run_cascade(cg, apply_damage(cg, ids), mode=mode)
    assert c.converged
    check(build_impact(cg, c.final))
    tripped = set(c.tripped)
    assert not (tripped & set(ids))
    assert all(not c.final.damage.branch_alive[list(cg.branch_ids).index(b)] for b in tripped)
    if mode == "balance":
        assert len(c.tripped) > 0 and c.steps["shed_mw"].iloc[-1] >= c.steps["shed_mw"].iloc[0]
    else:
        assert c.tripped == ()
    # replaying the trips as strikes gives the same final state
    again = build_impact(cg, svitlo.evaluate_state(cg, apply_damage(cg, ids + list(c.tripped)), mode=mode))
    np.testing.assert_allclose(again.branches["flow_mw"], build_impact(cg, c.final).branches["flow_mw"],
                               atol=1e-6)


def test_cli_summary_shows_cascade_and_ac(tmp_path, capsys):
    from svitlo.cli.main import main

    p = tmp_path / "s.yaml"
    p.write_text("grid: case118\nstrikes:\n  - random: {k: 20, seed: 3}\n")
    assert main(["assess", str(p), "--cascade", "--ac"]) == 0
    out = capsys.readouterr().out
    assert "cascade" in out and "AC check" in out and "stable" in out


def test_sequential_order_trips_most_overloaded_first():
    """Ratings 30, 32, 120 MW: line:1 (111 %) and line:2 (104 %) are both due at step 1. Simultaneous trips both;
    sequential trips line:1 alone, then line:2 carries 50 MW (156 %) and trips at once; line:3 then holds."""
    cg = svitlo.compile_grid(three_lines((30.0, 32.0, 120.0)))
    sim = run_cascade(cg, apply_damage(cg, []))
    seq = run_cascade(cg, apply_damage(cg, []), order="sequential")
    assert _sequence(sim) == [[], ["line:1", "line:2"], []]
    assert _sequence(seq) == [[], ["line:1"], ["line:2"], []]
    assert seq.options["order"] == "sequential"
    imp = svitlo.assess(three_lines((30.0, 32.0, 120.0)), {"cascade": {"enabled": True, "order": "sequential"}})
    assert imp.info["cascade"]["tripped"] == ["line:1", "line:2"]
