"""The exact path's array metrics equal the Impact's."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svitlo
from svitlo.engine.batch.exact import state_metrics
from svitlo.engine.damage import damage_from_indices
from svitlo.engine.impact import build_impact
from svitlo.engine.state import evaluate_state
from svitlo.engine.viability import ViabilityOptions


@pytest.fixture(scope="module")
def cg():
    g = svitlo.load_grid("case118")
    loads = g.loads.copy()
    loads["tier"] = np.arange(len(loads)) % 3 + 1
    return svitlo.compile_grid(g.with_tables(loads=loads))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_state_metrics_equal_impact_metrics(cg, data):
    br = data.draw(st.lists(st.integers(0, cg.n_branch - 1), max_size=20))
    gens = data.draw(st.lists(st.integers(0, cg.n_gen - 1), max_size=4))
    via = ViabilityOptions(enabled=True) if data.draw(st.booleans()) else None
    weights = data.draw(st.sampled_from([None, {1: 5.0, 2: 2.0}]))
    r = evaluate_state(cg, damage_from_indices(cg, branches=br, gens=gens), viability=via)
    m = state_metrics(cg, r, tier_weights=weights)
    imp = build_impact(cg, r, tier_weights=weights)
    for k, v in imp.metrics.items():
        if k in ("shed_mw_by_tier",):
            assert m["shed_by_tier"] == pytest.approx(v)
        elif k in m:
            assert m[k] == pytest.approx(v, abs=1e-9), k
    assert np.allclose(m["load_shed_mw"], imp.loads["shed_mw"].to_numpy(float))
