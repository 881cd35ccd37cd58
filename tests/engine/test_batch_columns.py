"""The sparse path's kept per-branch forward solves and its heap-free triangular solve give the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

import svitlo
from svitlo.engine.batch import columns as columns_mod
from svitlo.engine.batch import evaluate_batch, outages_from_indices
from svitlo.engine.batch.columns import branch_solves_for, removed_branches
from svitlo.engine.batch.factor import _CACHE, factorise

pytest.importorskip("numba")

from svitlo.engine.batch.sparse_solve import _lower_solve, _solve, _two  # noqa: E402


@pytest.fixture(scope="module")
def cg300():
    return svitlo.compile_grid(svitlo.load_grid("case300"))


def _batch(cg, seed, n=40, k=8, buses=2):
    rng = np.random.default_rng(seed)
    return outages_from_indices(branches=[rng.choice(cg.n_branch, k, replace=False) for _ in range(n)],
                                buses=[rng.choice(cg.n_bus, s % (buses + 1), replace=False) for s in range(n)])


def _fresh(cg):
    _CACHE.pop(cg, None)


def _same(a, b, tol=1e-6):
    for k in ("shed_mw", "served_mw", "max_loading_percent", "generation_mw"):
        np.testing.assert_allclose(getattr(a, k), getattr(b, k), atol=tol, rtol=0, err_msg=k)
    np.testing.assert_array_equal(a.islands, b.islands)
    np.testing.assert_array_equal(a.overloaded_branches, b.overloaded_branches)
    np.testing.assert_allclose(a.flows_mw, b.flows_mw, atol=tol, rtol=0)


def test_kept_solves_in_part_or_in_full_equal_the_dense_path(cg300, monkeypatch):
    """Removed branches kept, solved in the kernel (store full), or a mixture: the same flows as the dense
    path; the store holds exactly the in-service branches the batch removed."""
    out = _batch(cg300, 1)
    ref = evaluate_batch(cg300, out, path="dense", return_flows=True)
    _fresh(cg300)
    full = evaluate_batch(cg300, out, path="sparse", return_flows=True)
    fac = factorise(cg300, path="sparse")
    store = branch_solves_for(cg300, fac)
    want = np.unique(removed_branches(out, fac.adj_ptr, fac.adj_br))
    assert set(np.flatnonzero(store.ptr >= 0)) == set(want[fac.br_alive0[want]])
    _same(ref, full)
    _fresh(cg300)  # nothing kept: every Y_k solved in the kernel
    monkeypatch.setattr(columns_mod.BranchSolves, "ensure", lambda self, *a, **k: None)
    _same(ref, evaluate_batch(cg300, out, path="sparse", return_flows=True))
    monkeypatch.undo()
    _fresh(cg300)  # half kept
    fac = factorise(cg300, path="sparse")
    branch_solves_for(cg300, fac).ensure(fac, want[::2])
    monkeypatch.setattr(columns_mod.BranchSolves, "ensure", lambda self, *a, **k: None)
    _same(ref, evaluate_batch(cg300, out, path="sparse", return_flows=True))


def test_store_stops_at_its_budget(cg300):
    _fresh(cg300)
    fac = factorise(cg300, path="sparse")
    store = branch_solves_for(cg300, fac)
    store.budget = 16 * 50  # room for fewer entries than one batch needs
    store.ensure(fac, np.arange(40))
    assert store.full and store.size == 0 and np.all(store.ptr < 0)
    _fresh(cg300)
    store = branch_solves_for(cg300, fac)
    store.ensure(fac, np.arange(10), threads=2)
    store.ensure(fac, np.arange(5, 30), threads=3)  # grows, keeps the first ones where they were
    ref = branch_solves_for(cg300, fac).arrays()
    _fresh(cg300)
    one = branch_solves_for(cg300, fac)
    one.ensure(fac, np.arange(30), threads=1)
    for b in np.flatnonzero(fac.br_alive0[:30]):
        a0, n0 = ref[0][b], ref[1][b]
        b0, m0 = one.ptr[b], one.length[b]
        np.testing.assert_array_equal(ref[2][a0:a0 + n0], one.arrays()[2][b0:b0 + m0])
        np.testing.assert_array_equal(ref[3][a0:a0 + n0], one.arrays()[3][b0:b0 + m0])


def _run(fn, s, rp, rv, nr, n, cap=100_000):
    x = np.zeros(n)
    mk = np.zeros(n, np.int64)
    heap = np.zeros(n, np.int64)
    sb = np.ones(1, np.int64)
    oi = np.empty(cap, np.int64)
    ov = np.empty(cap)
    if fn is _lower_solve:
        o = _lower_solve(s[0], s[1], s[2], s[3], rp, rv, nr, x, mk, heap, sb, oi, ov, 0)
    else:
        o = _solve(s[0], s[1], s[2], s[3], s[4], s[6], rp, rv, nr, x, mk, heap, sb, oi, ov, 0)
    assert not x.any()  # left zero for the next solve
    return oi[:o].copy(), ov[:o].copy()


@pytest.mark.parametrize("case", ["case300", "case1354pegase"])
def test_path_solve_equals_heap_solve_bit_for_bit(case):
    """Random sparse right-hand sides on real factors: the same numbers, bit for bit."""
    cg = svitlo.compile_grid(svitlo.load_grid(case))
    s = factorise(cg, path="sparse").sparse
    n = s[3].size
    assert s[4][1] >= 2  # a dense last block
    rng = np.random.default_rng(3)
    for _ in range(60):
        nr = int(rng.integers(1, 6))
        rp = rng.choice(n, nr, replace=False).astype(np.int64)
        rv = rng.normal(size=nr)
        a = _run(_lower_solve, s, rp, rv, nr, n)
        b = _run(_solve, s, rp, rv, nr, n)
        assert np.all(np.diff(b[0]) > 0)  # by increasing position
        n0, tt = s[4]
        if b[0].size and b[0][-1] >= n0:  # the whole last block, zeros included
            np.testing.assert_array_equal(b[0][-tt:], np.arange(n0, n0 + tt))
        da, db = np.zeros(n), np.zeros(n)
        da[a[0]], db[b[0]] = a[1], b[1]
        np.testing.assert_array_equal(da, db)
        assert set(a[0]) <= set(b[0])
    rp, rv = np.zeros(2, np.int64), np.zeros(2)
    m = _two(rp, rv, s[13][cg.br_f[0]], s[13][cg.br_t[0]], s[11])
    assert m >= 1


def test_path_solve_falls_back_when_the_tree_misses_an_entry():
    """A lower factor whose pattern is not closed along first entries (column 0 reaches rows 1 and 2, the walk
    from 0 goes 0 -> 1 -> 3 and misses 2): the heap-free solve detects it and the result is the true one."""
    cols = {0: [(1, 0.5), (2, -0.25)], 1: [(3, 0.75)], 2: [(3, 0.125)], 3: []}
    lp = np.r_[0, np.cumsum([len(cols[c]) for c in range(4)])].astype(np.int64)
    li = np.array([r for c in range(4) for r, _ in cols[c]], dtype=np.int64)
    lx = np.array([v for c in range(4) for _, v in cols[c]])
    s = [lp, li, lx, np.array([2.0, 4.0, 5.0, 8.0]), np.array([4, 0], dtype=np.int64), None, np.zeros(0)]
    rp, rv = np.array([0], dtype=np.int64), np.array([1.0])
    dense = np.eye(4) * s[3]
    for c in range(4):
        for r, v in cols[c]:
            dense[r, c] = v
    want = np.linalg.solve(dense, [1.0, 0, 0, 0])
    ai, av = _run(_lower_solve, s, rp, rv, 1, 4)
    bi, bv = _run(_solve, s, rp, rv, 1, 4)
    np.testing.assert_array_equal(ai, bi)
    np.testing.assert_array_equal(av, bv)
    assert 2 in bi
    np.testing.assert_allclose(np.bincount(bi, bv, minlength=4), want, rtol=1e-12)


def test_solves_fit_their_path_room_and_refuse_less(cg300):
    """Each solve fits the room its elimination-tree paths give; one given less room is refused, not cut."""
    from svitlo.engine.batch.sparse_solve import branch_sizes, branch_solves

    fac = factorise(cg300, path="sparse")
    s = fac.sparse
    f, t = cg300.br_f.astype(np.int64), cg300.br_t.astype(np.int64)
    b = np.flatnonzero(fac.br_alive0)[:40].astype(np.int64)
    room = branch_sizes(s, f, t, b)
    starts = np.concatenate([[0], np.cumsum(room)[:-1]]).astype(np.int64)
    idx, val = np.zeros(int(room.sum()), np.int64), np.zeros(int(room.sum()))
    lens = np.zeros(b.size, np.int64)
    branch_solves(s, f, t, b, starts, room, idx, val, lens)
    assert np.all((lens >= 0) & (lens <= room)) and lens.max() > 0
    n = s[3].size
    for q in range(b.size):  # each equals the heap solve of e_f - e_t
        rp, rv = np.zeros(2, np.int64), np.zeros(2)
        m = _two(rp, rv, s[13][f[b[q]]], s[13][t[b[q]]], s[11])
        ri, rvv = _run(_lower_solve, s, rp, rv, m, n)
        want, got = np.zeros(n), np.zeros(n)
        want[ri] = rvv
        got[idx[starts[q]:starts[q] + lens[q]]] = val[starts[q]:starts[q] + lens[q]]
        np.testing.assert_array_equal(want, got)
    short = np.maximum(room - 1, 0)
    lens2 = np.zeros(b.size, np.int64)
    branch_solves(s, f, t, b, starts, short, idx, val, lens2)
    assert np.all(lens2[lens > short] == -1)
