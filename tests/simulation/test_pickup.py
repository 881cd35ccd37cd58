"""Cold-load pickup in the timeline: restored load draws more for a few hours, rationed by tier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import svitlo
from svitlo.errors import ScenarioError
from svitlo.model.grid import make_grid
from svitlo.simulation.pickup import ColdLoadPickup, PickupState, advance, demand_factor, pickup_multiplier


def _grid(h1: float = 4.0):
    """Bus 1: a 60 MW black-start unit with 30 MW of tier-1 and 25 MW of tier-3 load; bus 2: 10 MW fed from bus 0."""
    b = pd.DataFrame(index=["bus:0", "bus:1", "bus:2"])
    br = pd.DataFrame({"from_bus": ["bus:0", "bus:0"], "to_bus": ["bus:1", "bus:2"], "x_pu": [0.1, 0.1]},
                      index=["line:0", "line:1"])
    gens = pd.DataFrame({"bus": ["bus:0", "bus:1"], "p_mw": [40.0, 25.0], "p_max_mw": [200.0, 60.0],
                         "black_start": [False, True], "inertia_h_s": [4.0, h1]}, index=["gen:0", "gen:1"])
    loads = pd.DataFrame({"bus": ["bus:1", "bus:1", "bus:2"], "p_mw": [30.0, 25.0, 10.0], "tier": [1, 3, 2]},
                         index=["load:1a", "load:1b", "load:2"])
    return make_grid(buses=b, branches=br, generators=gens, loads=loads, name="three-bus")


def _run(factor: float, h1: float = 4.0):
    """Hour 0 both lines struck (bus 1 collapses); hour 3 line:1 back (bus 2 reconnects, bus 1 black-starts);
    hour 6 line:0 back."""
    sc = {"strikes": [{"assets": ["line:0", "line:1"]}], "horizon_h": 8,
          "viability": {"enabled": True, "cold_load_pickup": {"factor": factor, "decay_h": 2}},
          "ufls": {"enabled": False},
          "repairs": {"explicit": [{"asset": "line:1", "done_h": 3}, {"asset": "line:0", "done_h": 6}]}}
    return svitlo.simulate(_grid(h1), sc)


def test_pickup_rationed_by_tier_then_back():
    """Factor 2: at hour 3 bus 1's 60 MW unit faces 110 MW of cold demand: tier 1 (60 MW at 2x) is served, tier 3
    waits; it comes back in blocks as the multipliers fall. Without pickup everything is back at hour 3."""
    plain = _run(1.0).hourly.set_index("hour")
    assert plain.loc[3, "served_mw"] == pytest.approx(65.0) and plain.loc[3, "pickup_mw"] == 0.0
    tl = _run(2.0)
    hr = tl.hourly.set_index("hour")
    assert hr.loc[3, "served_mw"] == pytest.approx(80.0)   # 30 x 2 on bus 1, 10 x 2 on bus 2
    assert hr.loc[3, "pickup_mw"] == pytest.approx(40.0)
    assert hr.loc[3, "shed_mw"] == pytest.approx(25.0)     # the tier-3 load, in normal demand
    assert hr.loc[4, "shed_mw"] == pytest.approx(17.5)     # 15 of 50 MW (25 MW at 2x) served
    assert hr.loc[5, "shed_mw"] == pytest.approx(5.0)      # 30 of 37.5 MW (1.5x) served
    assert hr.loc[7, "shed_mw"] == pytest.approx(0.0) and hr.loc[7, "pickup_mw"] == 0.0
    for h in range(8):  # the books balance: normal demand = served - surge + shed
        assert hr.loc[h, "load_mw"] == pytest.approx(hr.loc[h, "served_mw"] - hr.loc[h, "pickup_mw"]
                                                     + hr.loc[h, "shed_mw"])
    assert hr["ens_cum_mwh"].iloc[-1] > plain["ens_cum_mwh"].iloc[-1]
    text = " ".join(tl.events.loc[tl.events["kind"] == "cold_load_pickup", "text"])
    assert "picks up cold" in text and "ration the pickup by priority tier" in text


def test_island_that_cannot_hold_the_pickup_takes_it_back_by_tier():
    """With 90 MW s of inertia, 110 MW of cold demand breaks the 1 s minimum: tier 3 stays off instead of the
    whole island staying dark."""
    tl = _run(2.0, h1=1.5)
    lit = tl.bus_energised.loc["bus:1"].tolist()
    assert lit[3:6] == [True, True, True]
    hr = tl.hourly.set_index("hour")
    assert hr.loc[3, "shed_mw"] == pytest.approx(25.0)
    ev = tl.events
    assert ev.loc[(ev["kind"] == "cold_load_pickup") & (ev["hour"] == 3), "text"].str.contains("too heavy").any()


@pytest.mark.parametrize("h1", [4.0, 1.5])
def test_kernel_equals_simulate_when_pickup_rations(h1):
    """The timeline kernel carries the pickup: the same hours as :func:`svitlo.simulate` where the pickup is
    rationed by tier (h1 = 4) and where the island picks its cold load up in blocks (h1 = 1.5)."""
    from svitlo.simulation.fast import HOURLY_METRICS, needs_exact_path, run_timelines, timeline_model

    sc = {"strikes": [{"assets": ["line:0", "line:1"]}], "horizon_h": 8,
          "viability": {"enabled": True, "cold_load_pickup": {"factor": 2.0, "decay_h": 2}},
          "ufls": {"enabled": False},
          "repairs": {"explicit": [{"asset": "line:1", "done_h": 3}, {"asset": "line:0", "done_h": 6}]}}
    grid = _grid(h1)
    prepared = svitlo.prepare(grid, sc)
    assert not needs_exact_path(prepared.scenario)
    b = run_timelines(timeline_model(prepared), [0, 1])
    assert b.distinct_states > 0
    for s, seed in enumerate([0, 1]):
        tl = svitlo.simulate(grid, sc, seed=seed, use_strike_seeds=False)
        text = " ".join(tl.events.loc[tl.events["kind"] == "cold_load_pickup", "text"])
        assert ("too heavy" if h1 < 2 else "ration the pickup by priority tier") in text   # it rations
        for k in HOURLY_METRICS:
            np.testing.assert_allclose(getattr(b, k)[s], tl.hourly[k].to_numpy(float), rtol=1e-12, atol=1e-9,
                                       err_msg=k)
    assert b.pickup_mw[0].max() > 0 and b.ens_mwh[0, 3] == pytest.approx(25.0)


def test_bad_values():
    for bad in ({"factor": 0.5}, {"factor": 9}, {"decay_h": 0}, {"min_outage_h": -1}):
        with pytest.raises(ScenarioError, match="cold_load_pickup"):
            svitlo.parse_scenario({"grid": "case9", "viability": {"cold_load_pickup": bad}})


@settings(max_examples=50, deadline=None)
@given(f=st.floats(1.0, 5.0), d=st.floats(0.5, 10), served=st.lists(st.booleans(), min_size=1, max_size=30))
def test_multiplier_bounds(f, d, served):
    """One load served or not hour by hour: its multiplier stays in [1, factor], is the factor exactly when it
    comes back after an outage, and is 1 once decay_h hours have passed since pickup."""
    cfg = ColdLoadPickup(factor=f, decay_h=d)
    s = PickupState.start(1)
    since = None
    for on in served:
        m = float(demand_factor(s, cfg=cfg)[0])
        assert 1.0 <= m <= f + 1e-12
        if s.out_h[0] >= 1:
            assert m == f
        elif since is not None and since >= d:
            assert m == 1.0
        s = advance(s, served=np.array([on]), cfg=cfg)
        since = None if not on else (0 if s.age_h[0] == 1 else (None if since is None else since + 1))
    assert pickup_multiplier(np.array([-1]), cfg=cfg)[0] == 1.0
