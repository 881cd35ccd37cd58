"""The network of a damaged state as a low-rank update of the intact factorisation
(:class:`svitlo.engine.opf_net.Intact`) against the state's own factorisation: same flows, angles and PTDF
rows on heavy strikes of branches, buses and units (new islands, dead buses, lost slack units)."""

from __future__ import annotations

import numpy as np
import pytest

import svitlo
from svitlo.engine import opf_net
from svitlo.engine.damage import damage_from_indices
from svitlo.engine.dcflow import slack_references
from svitlo.engine.opf_net import Intact, Network
from svitlo.topology.islands import islands

_CG: dict[str, svitlo.CompiledGrid] = {}


def _case(name: str) -> svitlo.CompiledGrid:
    if name not in _CG:
        _CG[name] = svitlo.compile_grid(svitlo.load_grid(name))
    return _CG[name]


def _state(cg, seed: int):
    rng = np.random.default_rng(seed)
    d = damage_from_indices(cg, branches=rng.choice(cg.n_branch, int(rng.integers(1, cg.n_branch // 4)), replace=False),
                            buses=rng.choice(cg.n_bus, int(rng.integers(0, 4)), replace=False),
                            gens=rng.choice(cg.n_gen, int(rng.integers(0, 4)), replace=False))
    labels, n = islands(cg.n_bus, cg.br_f, cg.br_t, d.branch_alive, d.bus_alive)
    return d, labels, n, slack_references(cg, labels, n, d.gen_alive)


def _balanced(labels, n, rng):
    p = rng.normal(size=labels.size) * 100.0
    ok = labels >= 0
    p[~ok] = 0.0
    p[ok] -= (np.bincount(labels[ok], weights=p[ok], minlength=n) / np.bincount(labels[ok], minlength=n))[labels[ok]]
    return p


@pytest.mark.parametrize("case", ["case30", "case118", "case89pegase", "case300"])
def test_the_update_equals_the_factorisation(case):
    cg = _case(case)
    intact = Intact(cg)
    rng = np.random.default_rng(1)
    islanded = 0
    for seed in range(12):
        d, labels, n, refs = _state(cg, 50 + seed)
        islanded += n > 1
        up = Network(cg, d, labels, refs, intact=intact)
        fa = Network(cg, d, labels, refs)
        assert up.updated and not fa.updated
        p = _balanced(labels, n, rng)
        np.testing.assert_allclose(up.flows(p), fa.flows(p), atol=1e-7)
        np.testing.assert_allclose(up.theta(p), fa.theta(p), atol=1e-9)
        mon = up.br[rng.choice(up.br.size, min(25, up.br.size), replace=False)]
        cols = rng.choice(cg.n_bus, 30, replace=False)
        q = p - fa.shift
        hv, hq = up.rows(mon, cols, q)
        h = fa.ptdf(mon)
        np.testing.assert_allclose(hv, h[:, cols], atol=1e-10)  # rows of the state's own references
        np.testing.assert_allclose(hq, h @ q, atol=1e-7)
        np.testing.assert_allclose(hq + up.off[up.pos[mon]], fa.flows(p)[mon], atol=1e-7)
    assert islanded  # the strikes split the grid: new grounds are exercised


def test_a_rank_above_the_limit_is_factorised(monkeypatch):
    cg = _case("case118")
    d, labels, n, refs = _state(cg, 3)
    monkeypatch.setattr(opf_net, "MAX_RANK", 0)
    net = Network(cg, d, labels, refs, intact=Intact(cg))
    assert not net.updated
    p = _balanced(labels, n, np.random.default_rng(0))
    np.testing.assert_allclose(net.flows(p), Network(cg, d, labels, refs).flows(p), atol=1e-9)


def test_rows_past_the_cache_limit_are_solved_each_time(monkeypatch):
    cg = _case("case118")
    intact = Intact(cg)
    br = np.flatnonzero(intact.alive)[:40]
    full = intact.rows(br[:10]).copy()
    monkeypatch.setattr(opf_net, "MAX_CACHE_BYTES", 20 * cg.n_bus * 8)  # room for 20 rows
    rows = intact.rows(br)
    assert intact._n == 10  # nothing more cached
    np.testing.assert_array_equal(rows[:10], full)
    np.testing.assert_allclose(rows, intact.net.ptdf(br), atol=1e-12)
