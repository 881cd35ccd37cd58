"""Small dense solves for the Woodbury update of the factorised susceptance matrix (numba).

Removing branches ``R`` (incidence rows ``A_R``, susceptances ``D_R``) from ``B``:

.. math:: (B - A_R^T D_R A_R)^{-1} = Z + Z A_R^T (D_R^{-1} - A_R Z A_R^T)^{-1} A_R Z, \\qquad Z = B^{-1}

so the new angles are the old ones plus ``|R|`` columns of ``Z A_R^T`` weighted by the solution of one small
``|R| x |R|`` system. That system is singular exactly when removing ``R`` disconnects the grid; the kernel only
removes sets that keep it connected and treats a tiny pivot as a failure (exact path), never as a result.

Examples
--------
>>> import numpy as np
>>> m = np.array([[4.0, 1.0], [2.0, 3.0]]); b = np.array([1.0, 2.0])
>>> ok = lu_solve_inplace(m.copy(), b, 2, 1e-12)
>>> ok, np.round(b, 12).tolist()
(True, [0.1, 0.6])
"""

from __future__ import annotations

import numba as nb

__all__ = ["lu_solve_inplace"]


@nb.njit(cache=True)
def lu_solve_inplace(a, b, n, tol):  # pragma: no cover - numba
    """Solve ``a[:n, :n] x = b[:n]`` by Gaussian elimination with partial pivoting; ``x`` overwrites ``b``.

    Returns False (and leaves garbage) when a pivot is not larger than ``tol`` in magnitude.
    """
    for k in range(n):
        piv = k
        big = abs(a[k, k])
        for i in range(k + 1, n):
            v = abs(a[i, k])
            if v > big:
                big = v
                piv = i
        if big <= tol:
            return False
        if piv != k:
            for j in range(n):
                tmp = a[k, j]
                a[k, j] = a[piv, j]
                a[piv, j] = tmp
            tmp = b[k]
            b[k] = b[piv]
            b[piv] = tmp
        inv = 1.0 / a[k, k]
        for i in range(k + 1, n):
            f = a[i, k] * inv
            if f != 0.0:
                for j in range(k + 1, n):
                    a[i, j] -= f * a[k, j]
                b[i] -= f * b[k]
    for k in range(n - 1, -1, -1):
        s = b[k]
        for j in range(k + 1, n):
            s -= a[k, j] * b[j]
        b[k] = s / a[k, k]
    return True
