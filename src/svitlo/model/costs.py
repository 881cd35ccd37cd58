"""Generator cost curves: polynomial (up to quadratic) and piecewise-linear, as MATPOWER and pandapower give them.

A generator's cost per hour at output ``P`` (MW) is either

* polynomial: ``c2 P² + c1 P + c0`` (``cost_per_mw2h``, ``cost_per_mwh``, ``cost_fixed_per_h``; ``c2 >= 0`` so
  the curve is convex), as MATPOWER's ``gencost`` model 2 and pandapower's ``poly_cost``; or
* piecewise-linear through points ``(p_k, f_k)`` (``cost_pwl``: JSON ``[[p_mw, cost_per_h], ...]``, slopes
  non-decreasing), as MATPOWER's model 1. Beyond the first and last points the end segments extend (MATPOWER's
  constrained cost variable method does the same).

The opf (:mod:`svitlo.engine.opf`) minimises the sum of these curves; :func:`generation_cost` evaluates it.

Examples
--------
>>> parse_pwl("[[0, 0], [12, 144], [36, 1008]]", field="gen:1")
(array([ 0., 12., 36.]), array([   0.,  144., 1008.]))
>>> pwl_cost(np.array([0.0, 12.0, 36.0]), np.array([0.0, 144.0, 1008.0]), 24.0)
576.0
"""

from __future__ import annotations

import json

import numpy as np

from svitlo.errors import GridError

__all__ = ["parse_pwl", "pwl_to_text", "pwl_cost", "generation_cost", "marginal_cost_bound"]


def parse_pwl(text: str, *, field: str, source: str = "grid") -> tuple[np.ndarray, np.ndarray]:
    """Points ``(p_mw, cost_per_h)`` of a piecewise-linear cost given as JSON text; checked convex.

    Raises
    ------
    GridError
        Fewer than two points, non-increasing powers, non-finite values, or decreasing slopes (not convex).
    """
    try:
        pts = np.asarray(json.loads(text), dtype=float)
    except (ValueError, TypeError) as exc:
        raise GridError(f"piecewise-linear cost is not a JSON list of [p_mw, cost_per_h] pairs: {exc}",
                        source=source, field=f"generators.cost_pwl ({field})", value=text) from None
    if pts.ndim != 2 or pts.shape[1] != 2 or pts.shape[0] < 2 or not np.all(np.isfinite(pts)):
        raise GridError("piecewise-linear cost needs at least two finite [p_mw, cost_per_h] points", source=source,
                        field=f"generators.cost_pwl ({field})", value=text)
    p, c = pts[:, 0], pts[:, 1]
    if np.any(np.diff(p) <= 0):
        raise GridError("piecewise-linear cost points must have increasing p_mw", source=source,
                        field=f"generators.cost_pwl ({field})", value=text)
    s = np.diff(c) / np.diff(p)
    if np.any(np.diff(s) < -1e-9 * np.maximum(1.0, np.abs(s[1:]))):
        raise GridError("piecewise-linear cost must be convex (non-decreasing slopes)", source=source,
                        field=f"generators.cost_pwl ({field})", value=text)
    return p, c


def pwl_to_text(p: np.ndarray, c: np.ndarray) -> str:
    """JSON text of points, the form stored in ``generators.cost_pwl``.

    >>> pwl_to_text(np.array([0.0, 10.0]), np.array([0.0, 50.0]))
    '[[0.0, 0.0], [10.0, 50.0]]'
    """
    return json.dumps([[float(a), float(b)] for a, b in zip(p, c)])


def pwl_cost(p: np.ndarray, c: np.ndarray, x: float) -> float:
    """Cost per hour at output ``x`` (MW): the maximum of the segment lines (convex), end segments extended."""
    s = np.diff(c) / np.diff(p)
    return float(np.max(c[:-1] + s * (x - p[:-1])))


def generation_cost(cg, gen_p_mw: np.ndarray, online: np.ndarray) -> float:
    """Total cost per hour of a dispatch: the cost curve of every ``online`` generator at its output."""
    on = np.asarray(online, bool)
    p = np.asarray(gen_p_mw, float)
    poly = on.copy()
    total = 0.0
    for j, (pp, cc) in cg.gen_pwl.items():
        if on[j]:
            poly[j] = False
            total += pwl_cost(pp, cc, p[j])
    c2, c1, c0 = (np.nan_to_num(a) for a in (cg.gen_cost_c2, cg.gen_cost, cg.gen_cost_c0))
    return total + float(np.sum(np.where(poly, c2 * p * p + c1 * p + c0, 0.0)))


def marginal_cost_bound(cg, gens: np.ndarray, p_max_mw: np.ndarray) -> float:
    """An upper bound on the marginal cost (currency/MWh) of ``gens`` between 0 and ``p_max_mw``."""
    c1 = np.abs(np.nan_to_num(cg.gen_cost[gens]))
    c2 = np.nan_to_num(cg.gen_cost_c2[gens])
    pm = np.where(np.isfinite(p_max_mw), p_max_mw, 0.0)
    out = float(np.max(c1 + 2.0 * c2 * pm, initial=0.0))
    for j in gens:
        if int(j) in cg.gen_pwl:
            pp, cc = cg.gen_pwl[int(j)]
            out = max(out, float(np.max(np.abs(np.diff(cc) / np.diff(pp)))))
    return out
