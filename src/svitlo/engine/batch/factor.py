"""Everything the batched engine precomputes once per compiled grid.

* base components (islands of the intact grid), one reference bus per component and a few BFS spanning
  trees with different roots (used to prove quickly that the parts of a split component are still connected);
* the dense inverse ``Z`` of the reduced intact susceptance matrix (row ``k`` = ``B^{-1} e_k``, zero at
  reference and dead buses) from one sparse LU factorisation — or, on the sparse path
  (:mod:`~svitlo.engine.batch.sparse`, for grids whose inverse does not fit, see
  :mod:`~svitlo.engine.batch.memory`), the sparse factors themselves;
* per-bus asset features (:mod:`~svitlo.engine.batch.island_rule`) and, for every component larger than the
  search bound, the angle images ``Z^T F`` of those features — so the distributed-slack and shedding terms of
  an island's new injection are a handful of precomputed vectors;
* the intact dispatch of every component and its angles.

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> fac = factorise(compile_grid(svitlo.load_grid("case14")))
>>> fac.Z.shape, int(fac.comp_size[0]), fac.n_tiers
((14, 14), 14, 1)
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from svitlo.engine.batch.island_rule import (
    BASE,
    BASEE,
    CAPFIN,
    FORMS,
    LOE,
    NINF,
    POS,
    UPFIN,
    island_rule,
    n_features,
)
from svitlo.engine.batch.memory import Path, plan_path
from svitlo.engine.batch.sparse import empty_structures, sparse_structures
from svitlo.engine.batch.sparse_solve import solve_dense
from svitlo.engine.batch.trisolve import row_differences, sparse_inverse_rows
from svitlo.model.compiled import CompiledGrid
from svitlo.topology.islands import islands

__all__ = ["BRANCH_ROWS_BYTES", "DEFAULT_BOUND", "BatchFactor", "branch_rows", "factorise"]

#: Largest size (bytes) of the optional per-branch angle images ``Z[f] - Z[t]`` kept in memory; they halve the
#: memory traffic of the Woodbury update.
BRANCH_ROWS_BYTES = 1536 * 2**20

#: Spanning trees per component (different roots) for the connectivity certificate.
N_TREES = 4

#: Buses a local search explores from an outage endpoint before it calls the part "large" (the rest of the
#: grid). Components up to this size are handled entirely explicitly.
DEFAULT_BOUND = 16

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True, eq=False)
class BatchFactor:
    """Precomputed arrays of one compiled grid for :func:`~svitlo.engine.batch.evaluate_batch` (read-only)."""

    dtype: type
    bound: int
    n_tiers: int
    tiers: np.ndarray
    bus_comp: np.ndarray
    comp_size: np.ndarray
    comp_img: np.ndarray
    comp_root: np.ndarray
    tree_parent: np.ndarray
    tree_pbr: np.ndarray
    adj_ptr: np.ndarray
    adj_bus: np.ndarray
    adj_br: np.ndarray
    feat: np.ndarray
    feat_gen: np.ndarray
    feat_load: np.ndarray
    feat_comp: np.ndarray
    Z: np.ndarray
    img: np.ndarray
    theta0: np.ndarray
    coef0: np.ndarray
    comp_out: np.ndarray
    comp_frac: np.ndarray
    br_pfinj_pu: np.ndarray
    br_alive0: np.ndarray
    gen_alive0: np.ndarray
    load_alive0: np.ndarray
    bus_alive0: np.ndarray
    intact_ok: bool
    sparse: tuple
    use_sparse: bool


def gen_features(cg: CompiledGrid, fg: np.ndarray, pmin: np.ndarray) -> None:
    """Fill the generator columns ``FORMS`` to ``LOE`` of ``fg`` (in place) for non-external units running
    down to ``pmin`` (MW) and external grids down to ``-export`` (:func:`svitlo.engine.dispatch.export_limit_mw`;
    ``pmin`` when they may not export)."""
    from svitlo.engine.dispatch import export_limit_mw, external_units

    pmax = np.maximum(cg.gen_p_max_mw, 0.0)
    ext = external_units(cg)
    export = export_limit_mw(cg)
    lo = np.where(export > 0, -export, pmin)
    base = np.clip(cg.gen_p_mw, lo, pmax)
    fin = np.isfinite(pmax)
    up = np.where(fin, pmax - base, 0.0)
    fg[:, FORMS] = cg.gen_forms_island
    fg[:, NINF] = ~fin
    fg[:, CAPFIN] = np.where(fin, pmax, 0.0)
    fg[:, BASE] = base
    fg[:, UPFIN] = up
    fg[:, BASEE] = np.where(ext, base, 0.0)
    fg[:, LOE] = np.where(ext, lo, 0.0)


def _features(cg: CompiledGrid, tiers: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    nt = tiers.size
    nf = n_features(nt)
    bus_ok = cg.bus_in_service
    g_ok = cg.gen_in_service & bus_ok[cg.gen_bus]
    fg = np.zeros((cg.n_gen, nf))
    gen_features(cg, fg, np.zeros(cg.n_gen))
    fg[~g_ok] = 0.0
    l_ok = cg.load_in_service & bus_ok[cg.load_bus]
    p = np.where(l_ok, cg.load_p_mw, 0.0)
    pop = np.where(l_ok & (p > 0), cg.load_population, 0.0)
    col = np.searchsorted(tiers, cg.load_tier)
    fl = np.zeros((cg.n_load, nf))
    rows = np.arange(cg.n_load)
    if cg.n_load:
        fl[rows, POS + col] = np.maximum(p, 0.0)
        fl[rows, POS + nt + col] = pop
        fl[:, POS + 2 * nt] = np.minimum(p, 0.0)
    feat = np.zeros((cg.n_bus, nf))
    np.add.at(feat, cg.gen_bus, fg)
    np.add.at(feat, cg.load_bus, fl)
    return feat, fg, fl, g_ok


def _tree(cg: CompiledGrid, adj: sp.csr_matrix, bus_comp: np.ndarray, n_comp: int, br_alive: np.ndarray):
    """Reference bus and :data:`N_TREES` BFS spanning trees per base component.

    Tree 0 is rooted at the highest-degree bus (also the reference of the reduced B); the others at buses of
    degree >= 3 drawn with a fixed seed, so that a strike on the hub (the first target of a degree-targeted
    attack) leaves another root standing. Returns roots ``(n_comp, N_TREES)``, parents and parent branches
    ``(N_TREES, n_bus)``.
    """
    deg = np.diff(adj.indptr)
    alive = np.flatnonzero(bus_comp >= 0)
    order = alive[np.lexsort((alive, -deg[alive]))]
    root = np.full((n_comp, N_TREES), -1, dtype=np.int64)
    c = bus_comp[order]
    first = np.unique(c, return_index=True)[1]
    root[c[first], :] = order[first][:, None]
    rng = np.random.default_rng(0)
    for comp in np.flatnonzero(np.bincount(bus_comp[alive], minlength=n_comp) > 8):
        cand = alive[(bus_comp[alive] == comp) & (deg[alive] >= 3)]
        cand = cand[cand != root[comp, 0]]
        if cand.size >= N_TREES - 1:
            root[comp, 1:] = rng.choice(cand, N_TREES - 1, replace=False)
    f, t = cg.br_f[br_alive], cg.br_t[br_alive]
    ids = np.flatnonzero(br_alive)
    n = np.int64(cg.n_bus)
    keys = np.minimum(f, t) * n + np.maximum(f, t)
    srt = np.argsort(keys, kind="stable")
    parent = np.full((N_TREES, cg.n_bus), -1, dtype=np.int64)
    pbr = np.full((N_TREES, cg.n_bus), -1, dtype=np.int64)
    for k in range(N_TREES):
        for r in root[:, k]:
            if r >= 0 and deg[r] > 0:
                _, pred = breadth_first_order(adj, int(r), directed=False, return_predecessors=True)
                sel = pred >= 0
                parent[k, sel] = pred[sel]
        # branch to the parent: any alive branch joining the pair
        child = np.flatnonzero(parent[k] >= 0)
        q = np.minimum(child, parent[k, child]) * n + np.maximum(child, parent[k, child])
        pbr[k, child] = ids[srt[np.searchsorted(keys[srt], q)]]
    return root, parent, pbr


def factorise(cg: CompiledGrid, *, dtype: type = np.float64, bound: int = DEFAULT_BOUND, path: Path = "auto",
              memory_bytes: int | None = None) -> BatchFactor:
    """Precompute (and cache, per grid object) the arrays of the batched engine.

    Parameters
    ----------
    dtype
        ``np.float64`` or ``np.float32`` for the dense inverse and the images (the memory-bound part); the
        sparse path always works in ``np.float64``.
    bound
        Local search bound (buses), see :data:`DEFAULT_BOUND`.
    path
        ``"auto"``: the dense inverse when it fits in memory, else the sparse factors
        (:func:`~svitlo.engine.batch.memory.plan_path`, which raises
        :class:`~svitlo.errors.ResourceError` before any work when neither fits); or force one.
    memory_bytes
        Memory available for the decision (default: measured).
    """
    import numba

    chosen = plan_path(cg, path=path, dtype=dtype, memory_bytes=memory_bytes, threads=numba.get_num_threads())
    if chosen == "sparse":
        dtype = np.float64
    key = (cg.fingerprint, np.dtype(dtype).name, int(bound), chosen)
    per = _CACHE.setdefault(cg, {})
    if key in per:
        return per[key]
    tiers = np.unique(cg.load_tier).astype(np.int64)
    nt = tiers.size
    feat, fg, fl, g_ok = _features(cg, tiers)
    bus_ok = cg.bus_in_service.copy()
    br_ok = cg.br_in_service & bus_ok[cg.br_f] & bus_ok[cg.br_t]
    bus_comp, n_comp = islands(cg.n_bus, cg.br_f, cg.br_t, br_ok, bus_ok)
    comp_size = np.bincount(bus_comp[bus_comp >= 0], minlength=n_comp).astype(np.int64)
    f, t = cg.br_f[br_ok], cg.br_t[br_ok]
    ids = np.flatnonzero(br_ok)
    adj = sp.csr_matrix((np.ones(2 * f.size), (np.r_[f, t], np.r_[t, f])), shape=(cg.n_bus, cg.n_bus))
    src = np.r_[f, t]
    srt = np.argsort(src, kind="stable")
    adj_ptr = np.zeros(cg.n_bus + 1, dtype=np.int64)
    adj_ptr[1:] = np.cumsum(np.bincount(src, minlength=cg.n_bus))
    adj_bus = np.r_[t, f][srt].astype(np.int64)
    adj_br = np.r_[ids, ids][srt].astype(np.int64)
    root, parent, pbr = _tree(cg, adj, bus_comp, n_comp, br_ok)

    active = np.flatnonzero(bus_ok)
    active = active[~np.isin(active, root[:, 0])]
    bbus = cg.bbus(br_ok)
    if chosen == "sparse":
        sparse = sparse_structures(bbus[active][:, active], index=active, size=cg.n_bus)
        z = np.zeros((1, 1))

        def times_z(m: np.ndarray) -> np.ndarray:  # rows of m times Z (Z symmetric): solves, not products
            out = np.zeros((m.shape[0], cg.n_bus))
            col = np.empty(active.size)
            for r in range(m.shape[0]):
                if np.any(m[r, active]):
                    solve_dense(sparse, m[r, active], col)
                    out[r, active] = col
            return out
    else:
        sparse = empty_structures(cg.n_bus)
        z = sparse_inverse_rows(bbus[active][:, active], dtype=dtype, index=active, size=cg.n_bus)

        def times_z(m: np.ndarray) -> np.ndarray:
            return m.astype(dtype) @ z

    nf = n_features(nt)
    feat_comp = np.zeros((n_comp, nf))
    np.add.at(feat_comp, bus_comp[bus_ok], feat[bus_ok])
    coef0 = np.zeros((n_comp, nf))
    comp_out = np.zeros((n_comp, 4))
    comp_frac = np.zeros((n_comp, max(nt, 1)))
    intact_ok = True
    for c in range(n_comp):
        flag = island_rule(feat_comp[c], nt, coef0[c], comp_frac[c], comp_out[c], -1)
        intact_ok &= flag == 0
    p0 = np.zeros(cg.n_bus)
    p0[bus_ok] = np.einsum("ij,ij->i", feat[bus_ok], coef0[bus_comp[bus_ok]])
    pfinj = np.where(br_ok, -cg.br_b_pu * cg.br_shift_rad, 0.0)
    rhs = p0 / cg.base_mva - np.asarray(cg.incidence.T @ pfinj).ravel()
    rhs[~bus_ok] = 0.0
    if chosen == "sparse":
        theta0 = times_z(rhs[None, :])[0]
    else:
        theta0 = rhs @ z.astype(np.float64, copy=False) if dtype != np.float64 else rhs @ z
    big = np.flatnonzero(comp_size > bound)
    comp_img = np.full(n_comp, -1, dtype=np.int64)
    comp_img[big] = np.arange(big.size)
    img: np.ndarray = np.zeros((big.size, nf, cg.n_bus), dtype=dtype)
    for j, comp in enumerate(big.tolist()):
        fc = np.where((bus_comp == comp)[:, None], feat, 0.0) / cg.base_mva
        img[j] = times_z(fc.T)
    fac = BatchFactor(dtype=dtype, bound=int(bound), n_tiers=nt, tiers=tiers, bus_comp=bus_comp.astype(np.int64),
                      comp_size=comp_size, comp_img=comp_img, comp_root=root, tree_parent=parent, tree_pbr=pbr,
                      adj_ptr=adj_ptr, adj_bus=adj_bus, adj_br=adj_br, feat=feat, feat_gen=fg, feat_load=fl,
                      feat_comp=feat_comp, Z=z, img=img, theta0=np.asarray(theta0, dtype=np.float64),
                      coef0=coef0, comp_out=comp_out, comp_frac=comp_frac, br_pfinj_pu=pfinj, br_alive0=br_ok,
                      gen_alive0=g_ok, load_alive0=cg.load_in_service & bus_ok[cg.load_bus], bus_alive0=bus_ok,
                      intact_ok=bool(intact_ok), sparse=sparse, use_sparse=chosen == "sparse")
    per[key] = fac
    return fac


def branch_rows(cg: CompiledGrid, fac: BatchFactor) -> np.ndarray | None:
    """Per-branch angle images ``Z[f] - Z[t]`` (``n_branch x n_bus``, zero for branches out of service), built
    on first use and cached with ``fac``; None when larger than :data:`BRANCH_ROWS_BYTES`.

    They pay off when branches are hit many times (large random sweeps), not for one pass of N-1.
    """
    if fac.use_sparse or cg.n_branch * cg.n_bus * np.dtype(fac.dtype).itemsize > BRANCH_ROWS_BYTES:
        return None
    per = _CACHE.setdefault(cg, {})
    key = (cg.fingerprint, np.dtype(fac.dtype).name, fac.bound, "branch_rows")
    if key not in per:
        rows: np.ndarray = np.empty((cg.n_branch, cg.n_bus), dtype=fac.dtype)
        rows[~fac.br_alive0] = 0.0
        row_differences(fac.Z, cg.br_f.astype(np.int64), cg.br_t.astype(np.int64),
                        np.flatnonzero(fac.br_alive0).astype(np.int64), rows)
        per[key] = rows
    return per[key]
