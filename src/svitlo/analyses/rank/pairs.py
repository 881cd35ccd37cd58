"""Exhaustive N-2 over branches without solving every pair: only the pairs that split the grid are solved.

In the ``balance`` mode every metric of a screening row (shed, priority-weighted shed, people without power,
facilities without grid supply, islands) depends on the state only through its islands: each island's
generators and loads decide its dispatch and shedding, flows never shed load. The islands after losing two
branches ``a`` and ``b`` of the intact grid are:

* those of the intact grid when neither is a bridge and ``{a, b}`` is not a two-edge cut;
* those after losing the bridge alone when exactly one of them (say ``a``) is a bridge — a cycle through
  ``b`` never crosses the bridge ``a``, so ``b`` is no bridge of the grid without ``a`` either;
* anything else when both are bridges or ``{a, b}`` is a two-edge cut.

So the rows of the first two kinds are copies of the intact row and of the N-1 rows (every column, the
``exact`` flag included), and only the pairs of the third kind go through the batched engine
(:func:`~svitlo.analyses.rank.sets.evaluate_sets`). Bridges are found by the cycle-space labels of
:func:`~svitlo.analyses.rank.cuts.cycle_labels` and each one confirmed by a connected-components count;
two-edge cuts carry equal non-zero labels, so every pair with equal non-zero labels is solved (a pair with
equal labels that is no cut, probability 2⁻⁶⁴, is merely solved for nothing). On case2869pegase 778 of the
4,582 branches are bridges: about 3 % of the 10.5 million pairs are solved.

The shortcut applies when every candidate is a branch and the mode is ``balance``
(:func:`pair_plan` returns None otherwise, and screening solves every pair).

Examples
--------
>>> import svitlo, itertools
>>> from svitlo.analyses.sweep.evaluate import make_context
>>> from svitlo.analyses.rank.sets import candidates, evaluate_sets
>>> ctx = make_context(svitlo.parse_scenario({"grid": "case30"}))
>>> cand = candidates(ctx, ["line", "trafo"])
>>> plan = pair_plan(ctx, cand)
>>> combos = np.array(list(itertools.combinations(range(cand.n), 2)))
>>> fast, ref = evaluate_pairs(ctx, cand, combos, plan), evaluate_sets(ctx, cand, combos)
>>> all(np.allclose(fast[m], ref[m], rtol=1e-9, atol=1e-6) for m in ref), int(plan.solved(combos).sum()) < len(combos) // 5
(True, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from svitlo.analyses.rank.cuts import cycle_labels
from svitlo.analyses.rank.sets import Candidates, evaluate_sets
from svitlo.analyses.sweep.evaluate import SweepContext

__all__ = ["PairPlan", "pair_plan", "evaluate_pairs", "bridges"]


@dataclass(frozen=True, eq=False)
class PairPlan:
    """Per candidate position: ``bridge`` (its loss alone splits the grid), cycle-space ``label``, ``solve``
    (always solve its pairs: a candidate that is not an alive branch); the intact row ``base`` and the N-1 rows
    ``single`` (candidate position → metrics) to copy."""

    bridge: np.ndarray
    label: np.ndarray
    solve: np.ndarray
    base: dict[str, np.ndarray]
    single: dict[str, np.ndarray]

    def solved(self, combos: np.ndarray) -> np.ndarray:
        """Which pairs of ``combos`` (``n x 2`` candidate positions) need the engine."""
        a, b = combos[:, 0], combos[:, 1]
        ba, bb = self.bridge[a], self.bridge[b]
        la, lb = self.label[a], self.label[b]
        return (ba & bb) | (~ba & ~bb & (la == lb) & (la != 0)) | self.solve[a] | self.solve[b]


def bridges(n_bus: int, br_f: np.ndarray, br_t: np.ndarray, alive: np.ndarray, *, seed: int = 0) -> np.ndarray:
    """Bridges of the alive network (a branch whose loss alone adds an island), as a boolean mask.

    Examples
    --------
    >>> f, t = np.array([0, 1, 2, 3, 3]), np.array([1, 2, 3, 0, 4])  # a square and a pendant 3-4
    >>> bridges(5, f, t, np.ones(5, bool)).tolist()
    [False, False, False, False, True]
    """
    label = cycle_labels(n_bus, br_f, br_t, alive, seed=seed)
    cand = np.flatnonzero(alive & (label == 0) & (br_f != br_t))

    def count(mask: np.ndarray) -> int:
        g = coo_matrix((np.ones(int(mask.sum())), (br_f[mask], br_t[mask])), shape=(n_bus, n_bus))
        return int(connected_components(g, directed=False)[0])

    n0 = count(alive)
    out = np.zeros(br_f.size, dtype=bool)
    for e in cand:  # label 0 is a bridge but for a 2⁻⁶³ chance: confirm each
        m = alive.copy()
        m[e] = False
        out[e] = count(m) > n0
    return out


def pair_plan(ctx: SweepContext, cand: Candidates) -> PairPlan | None:
    """The plan of :func:`evaluate_pairs`, or None when the shortcut does not apply (a candidate that is not
    a branch, a mode other than ``balance``, or a cascade: overloads then trip branches)."""
    if ctx.mode != "balance" or ctx.cascade or not (cand.cls == 1).all() or cand.n < 2:
        return None
    cg = ctx.cg
    alive = cg.br_in_service & cg.bus_in_service[cg.br_f] & cg.bus_in_service[cg.br_t]
    label = cycle_labels(cg.n_bus, cg.br_f, cg.br_t, alive)
    br = bridges(cg.n_bus, cg.br_f, cg.br_t, alive)
    idx = cand.idx
    base = evaluate_sets(ctx, cand, np.array([[-1]]))
    single = evaluate_sets(ctx, cand, np.arange(cand.n)[:, None])
    return PairPlan(bridge=br[idx], label=label[idx], solve=~alive[idx] | (cg.br_f[idx] == cg.br_t[idx]),
                    base=base, single=single)


def evaluate_pairs(ctx: SweepContext, cand: Candidates, combos: np.ndarray, plan: PairPlan | None
                   ) -> dict[str, np.ndarray]:
    """The metrics of :func:`~svitlo.analyses.rank.sets.evaluate_sets` for pairs ``combos`` (``n x 2``
    candidate positions), equal to it row by row (integers and flags exactly, MW and people to the engine's
    summation noise, ~1e-11); with ``plan`` None every pair is solved."""
    combos = np.asarray(combos, dtype=np.int64)
    if plan is None:
        return evaluate_sets(ctx, cand, combos)
    n = combos.shape[0]
    need = plan.solved(combos)
    one = plan.bridge[combos[:, 0]] ^ plan.bridge[combos[:, 1]]
    src = np.where(plan.bridge[combos[:, 0]], combos[:, 0], combos[:, 1])
    out = {}
    for m, v in plan.base.items():
        col = np.full(n, v[0], dtype=v.dtype)
        sel = one & ~need
        col[sel] = plan.single[m][src[sel]]
        out[m] = col
    if need.any():
        r = evaluate_sets(ctx, cand, combos[need])
        for m in out:
            out[m][need] = r[m]
    return out
