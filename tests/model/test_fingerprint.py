"""CompiledGrid.fingerprint covers every array that changes results, generator costs included."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import svitlo
from svitlo.model.compiled import compile_grid


@pytest.fixture(scope="module")
def cg():
    return compile_grid(svitlo.load_grid("case9"))


def _with(cg, **arrays):
    return dataclasses.replace(cg, _fingerprint=[], **arrays)


@pytest.mark.parametrize("name", ["gen_cost", "gen_cost_c2", "gen_cost_c0", "gen_inertia_h_s"])
def test_costs_change_the_fingerprint(cg, name):
    a = np.array(getattr(cg, name), dtype=float)
    a[0] = a[0] + 1.0
    assert _with(cg, **{name: a}).fingerprint != cg.fingerprint


def test_piecewise_costs_change_the_fingerprint(cg):
    pwl = {0: (np.array([0.0, 100.0]), np.array([0.0, 1000.0]))}
    other = {0: (np.array([0.0, 100.0]), np.array([0.0, 2000.0]))}
    a, b = _with(cg, gen_pwl=pwl), _with(cg, gen_pwl=other)
    assert len({cg.fingerprint, a.fingerprint, b.fingerprint}) == 3


def test_same_arrays_same_fingerprint(cg):
    assert _with(cg).fingerprint == cg.fingerprint == compile_grid(svitlo.load_grid("case9")).fingerprint


def test_opf_cache_never_stale_on_costs(cg):
    """A grid differing only in costs dispatches differently (the cost stage), and so must its fingerprint."""
    pytest.importorskip("highspy")
    from svitlo.engine.damage import apply_damage
    from svitlo.engine.state import evaluate_state

    cost = np.array(cg.gen_cost, dtype=float)
    cost2 = cost[::-1].copy()
    other = _with(cg, gen_cost=cost2, gen_cost_c2=np.zeros(cg.n_gen))
    base = _with(cg, gen_cost_c2=np.zeros(cg.n_gen))
    d = apply_damage(cg, [])
    a = evaluate_state(base, d, mode="opf").gen_p_mw
    b = evaluate_state(other, d, mode="opf").gen_p_mw
    if not np.allclose(a, b):
        assert base.fingerprint != other.fingerprint
