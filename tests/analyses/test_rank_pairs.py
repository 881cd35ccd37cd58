"""N-2 screening by islands (only the pairs that split the grid are solved) equals solving every pair."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import svitlo
from svitlo.analyses.rank.pairs import bridges, evaluate_pairs, pair_plan
from svitlo.analyses.rank.sets import candidates, evaluate_sets
from svitlo.analyses.sweep.evaluate import make_context

TIERS = {"buses": {"bus:4": "critical", "bus:7": "essential", "bus:12": "critical"}}


def _same(ctx, cand, combos):
    plan = pair_plan(ctx, cand)
    assert plan is not None
    fast, ref = evaluate_pairs(ctx, cand, combos, plan), evaluate_sets(ctx, cand, combos)
    assert set(fast) == set(ref)
    for m in ref:
        assert fast[m].dtype == ref[m].dtype, m
        if fast[m].dtype.kind == "f":  # the engine's own summation order varies by ~1e-11 MW between sets
            np.testing.assert_allclose(fast[m], ref[m], rtol=1e-9, atol=1e-6, err_msg=m)
        else:
            np.testing.assert_array_equal(fast[m], ref[m], err_msg=m)
    return plan


@pytest.mark.parametrize("case,extra", [
    ("case57", {}),
    ("case118", {"tiers": TIERS, "protected": ["line:5", "line:40"]}),
    ("case118", {"facilities": [{"id": "h", "kind": "hospital", "bus": "bus:10", "demand_kw": 900, "tier": 1},
                                {"id": "w", "kind": "water", "bus": "bus:116", "demand_kw": 50}]}),
    ("case300", {"tiers": TIERS}),
])
def test_every_pair_equals_the_engine(case, extra):
    ctx = make_context(svitlo.parse_scenario({"grid": case, **extra}))
    cand = candidates(ctx, ["line", "trafo"])
    combos = np.array(list(itertools.combinations(range(cand.n), 2)))
    plan = _same(ctx, cand, combos)
    assert plan.bridge.any() and plan.solved(combos).mean() < 0.2  # the shortcut is taken, and it matters


def test_sampled_pairs_on_a_large_grid_equal_the_engine():
    ctx = make_context(svitlo.parse_scenario({"grid": "case1354pegase", "tiers": TIERS}))
    cand = candidates(ctx, ["line", "trafo"])
    rng = np.random.default_rng(11)
    plan = pair_plan(ctx, cand)
    br = np.flatnonzero(plan.bridge)
    lab = plan.label
    groups = [np.flatnonzero(lab == v) for v in np.unique(lab[(lab != 0) & ~plan.bridge])]
    cut = [g[:2] for g in groups if g.size >= 2][:300]
    combos = np.vstack([
        np.array([rng.choice(cand.n, 2, replace=False) for _ in range(3000)]),  # mostly copied rows
        np.column_stack([rng.choice(br, 600), rng.integers(0, cand.n, 600)]),  # one bridge
        rng.choice(br, (600, 2)),  # two bridges
        np.array(cut).reshape(-1, 2)])  # two-edge cuts
    combos = np.sort(combos[combos[:, 0] != combos[:, 1]], axis=1)
    _same(ctx, cand, combos)


def test_bridges_against_removing_each_branch():
    ctx = make_context(svitlo.parse_scenario({"grid": "case118"}))
    cg = ctx.cg
    from svitlo.topology.islands import islands

    alive = cg.br_in_service & cg.bus_in_service[cg.br_f] & cg.bus_in_service[cg.br_t]
    n0 = islands(cg.n_bus, cg.br_f, cg.br_t, alive, cg.bus_in_service)[1]
    want = np.zeros(cg.n_branch, bool)
    for e in np.flatnonzero(alive):
        m = alive.copy()
        m[e] = False
        want[e] = islands(cg.n_bus, cg.br_f, cg.br_t, m, cg.bus_in_service)[1] > n0
    np.testing.assert_array_equal(bridges(cg.n_bus, cg.br_f, cg.br_t, alive), want)


def test_no_shortcut_with_buses_or_in_opf_mode():
    ctx = make_context(svitlo.parse_scenario({"grid": "case14"}))
    assert pair_plan(ctx, candidates(ctx, ["line", "bus"])) is None
    ctx = make_context(svitlo.parse_scenario({"grid": "case14", "mode": "opf"}))
    assert pair_plan(ctx, candidates(ctx, ["line"])) is None


def test_no_shortcut_with_a_cascade():
    """With a cascade, overloads trip branches: a pair that splits nothing can still shed (rows not copyable)."""
    sc = {"grid": "case118", "cascade": {"enabled": True, "instant_percent": 101, "delayed_percent": 100}}
    ctx = make_context(svitlo.parse_scenario(sc))
    cand = candidates(ctx, ["line", "trafo"])
    assert pair_plan(ctx, cand) is None
    plan = pair_plan(make_context(svitlo.parse_scenario({"grid": "case118"})), cand)
    rng = np.random.default_rng(3)
    combos = np.sort(np.array([rng.choice(cand.n, 2, replace=False) for _ in range(400)]), axis=1)
    copied = combos[~plan.solved(combos)]
    rows = evaluate_sets(ctx, cand, copied)
    base = evaluate_sets(ctx, cand, np.array([[-1]]))
    assert (rows["shed_mw"] > base["shed_mw"][0] + 1e-6).any()  # the shortcut would have been wrong here
