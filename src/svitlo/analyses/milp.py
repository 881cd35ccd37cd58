"""Constraint rows of the analyses' MILPs, built one by one, solved with HiGHS through :func:`scipy.optimize.milp`.

Examples
--------
>>> import numpy as np
>>> rows = Rows()
>>> rows.add([(0, 1.0), (1, 1.0)], -np.inf, 1.0)  # x0 + x1 <= 1
>>> res = solve_milp(np.array([-2.0, -1.0]), rows, np.zeros(2), np.ones(2), np.ones(2), time_limit_s=5)
>>> [round(v) for v in res.x]
[1, 0]
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Rows", "solve_milp"]


class Rows:
    """``lb <= sum(value * x[column]) <= ub``, one row per :meth:`add`."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.lo: list[float] = []
        self.hi: list[float] = []

    @property
    def n(self) -> int:
        """Rows so far."""
        return len(self.lo)

    def add(self, entries: list[tuple[int, float]], lb: float, ub: float) -> None:
        """One row: ``entries`` as ``(column, value)`` pairs, bounds ``lb``/``ub`` (may be infinite)."""
        r = len(self.lo)
        for col, val in entries:
            self.rows.append(r)
            self.cols.append(int(col))
            self.vals.append(float(val))
        self.lo.append(lb)
        self.hi.append(ub)

    def constraint(self, n_vars: int) -> Any:
        """The rows as one :class:`scipy.optimize.LinearConstraint` over ``n_vars`` variables."""
        import scipy.sparse as sp
        from scipy.optimize import LinearConstraint

        a = sp.csr_matrix((self.vals, (self.rows, self.cols)), shape=(self.n, n_vars))
        return LinearConstraint(a, self.lo, self.hi)


def solve_milp(c: np.ndarray, rows: Rows, lb: np.ndarray, ub: np.ndarray, integrality: np.ndarray, *,
               time_limit_s: float, mip_rel_gap: float = 1e-7) -> Any:
    """Minimise ``c @ x`` subject to ``rows`` and ``lb <= x <= ub`` (HiGHS; quiet). Returns scipy's result
    (``x`` is None when HiGHS found no solution)."""
    from scipy.optimize import Bounds, milp

    return milp(c, constraints=rows.constraint(c.size), bounds=Bounds(lb, ub), integrality=integrality,
                options={"time_limit": float(time_limit_s), "mip_rel_gap": float(mip_rel_gap), "disp": False})
