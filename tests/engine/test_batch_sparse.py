"""The sparse path of the batched engine equals the dense path and the single-scenario engine (hypothesis)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svitlo
from svitlo.engine.batch import evaluate_batch, outages_from_indices
from svitlo.engine.batch.factor import factorise
from svitlo.engine.batch.memory import dense_bytes, plan_path, sparse_bytes
from svitlo.errors import ResourceError

sys.path.insert(0, str(Path(__file__).parent))  # the helpers of test_batch, beside this file
from test_batch import COUNTS, METRICS, _assert_equal, _scenarios, _varied_grid  # noqa: E402

pytest.importorskip("numba")


@pytest.fixture(scope="module")
def cgvar():
    return svitlo.compile_grid(_varied_grid())


def _same(a, b, tol=1e-6):
    for k in METRICS:
        np.testing.assert_allclose(getattr(a, k), getattr(b, k), atol=tol, rtol=0, err_msg=k)
    for k in COUNTS:
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k), err_msg=k)
    np.testing.assert_array_equal(a.exact, b.exact)
    np.testing.assert_allclose(a.flows_mw, b.flows_mw, atol=tol, rtol=0)
    np.testing.assert_allclose(a.load_shed_mw, b.load_shed_mw, atol=tol, rtol=0)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_sparse_path_equals_dense_path(cgvar, data):
    """Random strikes on branches, buses, generators and loads (islands, dead buses, phase shifters, tiers)."""
    out = _scenarios(data.draw, cgvar, 6, 14, 4, 4, 3)
    bound = data.draw(st.sampled_from([2, 16]), label="search bound")
    kw = {"return_flows": True, "return_loads": True, "bound": bound}
    sparse = evaluate_batch(cgvar, out, path="sparse", **kw)
    _same(evaluate_batch(cgvar, out, path="dense", **kw), sparse)
    _assert_equal(cgvar, out, sparse)


def test_sparse_path_without_symmetric_shortcut(cgvar):
    """The transposed solves (used when ``U`` is not ``diag(U) L^T``) give the same angles."""
    rng = np.random.default_rng(5)
    out = outages_from_indices(branches=[rng.choice(cgvar.n_branch, 8, replace=False) for _ in range(30)])
    fac = factorise(cgvar, path="sparse")
    assert fac.use_sparse and fac.sparse[-1][0] == 1  # a symmetric B: the shortcut is on by default
    ref = evaluate_batch(cgvar, out, path="dense", return_flows=True, return_loads=True)
    try:
        fac.sparse[-1][0] = 0
        res = evaluate_batch(cgvar, out, path="sparse", return_flows=True, return_loads=True)
    finally:
        fac.sparse[-1][0] = 1
    _same(ref, res)


def test_large_grid_sample_sparse_equals_dense():
    """case2869pegase: 10-branch strikes, both paths, flows to 1e-6 MW (a fixed-seed sample)."""
    cg = svitlo.compile_grid(svitlo.load_grid("case2869pegase"))
    rng = np.random.default_rng(11)
    out = outages_from_indices(branches=[rng.choice(cg.n_branch, 10, replace=False) for _ in range(60)],
                               buses=[rng.choice(cg.n_bus, s % 2, replace=False) for s in range(60)])
    kw = {"return_flows": True, "return_loads": True}
    _same(evaluate_batch(cg, out, path="dense", **kw), evaluate_batch(cg, out, path="sparse", **kw))


def test_path_decided_from_memory(cgvar):
    need = sparse_bytes(cgvar, threads=1)
    assert plan_path(cgvar, memory_bytes=100 * (dense_bytes(cgvar) + need)) == "dense"
    assert plan_path(cgvar, memory_bytes=need + dense_bytes(cgvar) // 2) == "sparse"
    import numba

    fac = factorise(cgvar, memory_bytes=sparse_bytes(cgvar, threads=numba.get_num_threads()) + 1)
    assert fac.use_sparse and fac.Z.size == 1  # no dense inverse allocated
    with pytest.raises(ResourceError, match="sparse path"):
        factorise(cgvar, memory_bytes=1000)
    with pytest.raises(svitlo.errors.InputError, match="path"):
        plan_path(cgvar, path="magic")  # type: ignore[arg-type]


def test_sweep_refuses_before_any_work_when_nothing_fits(tmp_path, monkeypatch):
    from svitlo.analyses.sweep import sweep
    from svitlo.engine.batch import memory

    monkeypatch.setattr(memory, "available_memory_bytes", lambda: 10_000)
    with pytest.raises(ResourceError, match="sparse path"):
        sweep({"grid": "case118", "strikes": [{"random": {"k": 3}}]}, n=10, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()
