"""Islands equal networkx's connected components on random k-outage states (hypothesis)."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import svitlo
from svitlo.engine.damage import damage_from_indices
from svitlo.topology.islands import islands


@pytest.fixture(scope="module")
def cg118():
    return svitlo.compile_grid(svitlo.load_grid("case118"))


def _nx_components(cg, st_):
    g = nx.Graph()
    g.add_nodes_from(int(i) for i in np.flatnonzero(st_.bus_alive))
    for f, t, ok in zip(cg.br_f, cg.br_t, st_.branch_alive):
        if ok and st_.bus_alive[f] and st_.bus_alive[t]:
            g.add_edge(int(f), int(t))
    return {frozenset(c) for c in nx.connected_components(g)}


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_islands_match_networkx(cg118, data):
    k_br = data.draw(st.integers(0, 40), label="branch outages")
    k_bus = data.draw(st.integers(0, 8), label="bus outages")
    br = data.draw(st.lists(st.integers(0, cg118.n_branch - 1), min_size=k_br, max_size=k_br, unique=True))
    bu = data.draw(st.lists(st.integers(0, cg118.n_bus - 1), min_size=k_bus, max_size=k_bus, unique=True))
    state = damage_from_indices(cg118, buses=bu, branches=br)
    labels, n = islands(cg118.n_bus, cg118.br_f, cg118.br_t, state.branch_alive, state.bus_alive)
    ours = {frozenset(np.flatnonzero(labels == i).tolist()) for i in range(n)}
    assert ours == _nx_components(cg118, state)
    assert np.all(labels[~state.bus_alive] == -1)
    # numbering: island i's lowest bus comes before island i+1's lowest bus
    firsts = [int(np.flatnonzero(labels == i)[0]) for i in range(n)]
    assert firsts == sorted(firsts)


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 25), seed=st.integers(0, 2**31 - 1))
def test_random_strikes_keep_invariants(cg118, k, seed):
    from svitlo.engine.invariants import check_impact

    imp = svitlo.assess(None, {"grid": "case118", "strikes": [{"random": {"k": k, "kinds": ["line", "trafo", "bus"]}}]},
                        seed=seed, compiled=cg118)
    check_impact(imp)
    m = imp.metrics
    assert m["served_mw"] + m["shed_mw"] == pytest.approx(m["load_mw"], abs=1e-6)
    assert m["energised_islands"] <= m["islands"]
    ld = imp.loads
    assert ((ld["shed_mw"] >= -1e-9) & (ld["shed_mw"] <= ld["p_mw"].clip(lower=0) + 1e-9)).all()
