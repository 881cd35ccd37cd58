"""Dense inverse of a sparse matrix from its sparse LU factors, blockwise and in parallel (numba).

``A = Pr^T L U Pc^T`` (scipy's ``splu`` convention). Columns of the identity are solved in blocks of ``nb``
right-hand sides stored row-major, so every update of a factor entry is one contiguous vector operation over
the block. A unit right-hand side ``e_k`` is zero above its permuted position, so the forward solve of a block
starts at the block's first position.

Examples
--------
>>> import numpy as np, scipy.sparse as sp
>>> a = sp.csc_matrix(np.array([[4.0, -1, 0], [-1, 4, -1], [0, -1, 4]]))
>>> bool(np.allclose(sparse_inverse_rows(a) @ a.toarray(), np.eye(3)))
True
"""

from __future__ import annotations

import numba as nb
import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from svitlo.errors import SolverError

__all__ = ["row_differences", "sparse_inverse_rows"]


@nb.njit(cache=True, parallel=True)
def _solve_blocks(lp, li, lx, ldiag, up, ui, ux, udiag, order, perm_c, index, out, nbk):  # pragma: no cover - numba
    n = ldiag.size
    nblocks = (n + nbk - 1) // nbk
    for blk in nb.prange(nblocks):
        p0 = blk * nbk
        w = min(nbk, n - p0)
        x = np.zeros((n, nbk))
        for c in range(w):
            x[p0 + c, c] = 1.0
        for j in range(p0, n):  # forward: L y = Pr e_k, zero above p0
            d = ldiag[j]
            if d != 1.0:
                for c in range(w):
                    x[j, c] /= d
            for p in range(lp[j], lp[j + 1]):
                i = li[p]
                if i > j:
                    v = lx[p]
                    for c in range(w):
                        x[i, c] -= v * x[j, c]
        for j in range(n - 1, -1, -1):  # backward: U z = y
            d = udiag[j]
            for c in range(w):
                x[j, c] /= d
            for p in range(up[j], up[j + 1]):
                i = ui[p]
                if i < j:
                    v = ux[p]
                    for c in range(w):
                        x[i, c] -= v * x[j, c]
        for c in range(w):
            k = index[order[p0 + c]]
            for i in range(n):
                out[k, index[i]] = x[perm_c[i], c]


def sparse_inverse_rows(a: sp.spmatrix, *, dtype: type = np.float64, block: int = 32,
                        index: np.ndarray | None = None, size: int | None = None) -> np.ndarray:
    """Dense ``A^{-1}`` stored so that row ``k`` is ``A^{-1} e_k`` (= column ``k``), in ``dtype``.

    With ``index`` (positions of ``a``'s rows in a larger system of ``size`` unknowns) the result is
    ``size x size``, zero outside ``index``. Raises :class:`~svitlo.errors.SolverError` when ``a`` is singular.
    """
    a = sp.csc_matrix(a, dtype=np.float64)
    n = a.shape[0]
    if index is None:
        index, size = np.arange(n, dtype=np.int64), n
    m = int(size)  # type: ignore[arg-type]
    out: np.ndarray = np.zeros((m, m), dtype=dtype)
    if n == 0:
        return out
    try:
        lu = splu(a, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
    except RuntimeError as exc:
        raise SolverError(f"susceptance matrix is singular ({exc})") from None
    low = sp.csc_matrix(lu.L)
    upp = sp.csc_matrix(lu.U)
    low.sort_indices()
    upp.sort_indices()
    ldiag = low.diagonal().astype(np.float64)
    udiag = upp.diagonal().astype(np.float64)
    if np.any(udiag == 0.0) or np.any(ldiag == 0.0):
        raise SolverError("susceptance matrix is singular (zero pivot)")
    order = np.empty(n, dtype=np.int64)
    order[lu.perm_r] = np.arange(n)  # order[p] = k with perm_r[k] = p
    _solve_blocks(low.indptr.astype(np.int64), low.indices.astype(np.int64), low.data,
                  ldiag, upp.indptr.astype(np.int64), upp.indices.astype(np.int64), upp.data, udiag,
                  order, lu.perm_c.astype(np.int64), np.asarray(index, dtype=np.int64), out, block)
    if not np.all(np.isfinite(out[index[: min(n, 4)]])):
        raise SolverError("susceptance matrix inverse is not finite")
    return out


@nb.njit(cache=True, parallel=True)
def row_differences(z, f, t, sel, out):  # pragma: no cover - numba
    """``out[l] = z[f[l]] - z[t[l]]`` for every ``l`` in ``sel`` (parallel over rows)."""
    n = z.shape[1]
    for j in nb.prange(sel.size):
        l = sel[j]
        a = z[f[l]]
        b = z[t[l]]
        o = out[l]
        for i in range(n):
            o[i] = a[i] - b[i]
