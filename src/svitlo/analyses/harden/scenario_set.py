"""A scenario set for hardening: strikes drawn from the scenario's distribution (the sweep's seeds and
drawing code), stored as a scenario × asset membership matrix, and re-evaluated with assets protected.

A protected asset survives the strikes that reach it (the draw is not re-aimed; see the scenario key
``protected``), so the outcome of scenario ``s`` under protection ``P`` is the state with ``D_s \\ P`` lost:
plans are compared on the same draws (common random numbers).

Examples
--------
>>> import svitlo
>>> from svitlo.analyses.sweep.evaluate import make_context
>>> ctx = make_context(svitlo.parse_scenario({"grid": "case14", "strikes": [{"random": {"k": 3}}]}))
>>> ss = draw_set(ctx, n=50, root_seed=1, metric="shed_mw")
>>> ss.n, ss.member.shape[0], bool((values_with(ctx, ss, []) == ss.base).all())
(50, 50, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from svitlo.analyses.rank.sets import Candidates, evaluate_sets
from svitlo.analyses.sweep.evaluate import SweepContext

__all__ = ["ScenarioSet", "draw_set", "from_lists", "values_with", "draw_lists"]

_CLS = {"bus": 0, "branch": 1, "gen": 2, "load": 3}


@dataclass(frozen=True, eq=False)
class ScenarioSet:
    """``n`` scenarios: ``member`` (CSR, ``n x len(assets)``) marks the assets each one destroys; ``base`` the
    metric with nothing (more) protected; ``assets`` the universe of assets hit, as :class:`Candidates`."""

    assets: Candidates
    member: sp.csr_matrix
    base: np.ndarray
    metric: str
    seeds: np.ndarray

    @property
    def n(self) -> int:
        return int(self.member.shape[0])


def draw_lists(ctx: SweepContext, *, root_seed: int, start: int, stop: int) -> tuple[list[list[str]], np.ndarray]:
    """Destroyed ids of scenarios ``start`` … ``stop - 1`` of a sweep with ``root_seed`` (its keys), drawn as
    :func:`svitlo.analyses.sweep.sweep` draws them (:mod:`svitlo.engine.batch.draws`)."""
    from svitlo.analyses.sweep.evaluate import draw_plan_of
    from svitlo.engine.batch.draws import draw_chunk, scenario_keys

    keys = scenario_keys(root_seed, start, stop)
    d = draw_chunk(draw_plan_of(ctx), keys, cg=ctx.cg, weapons=ctx.weapons, damage=ctx.damage)
    return d.id_lists(), keys


def from_lists(ctx: SweepContext, lists: Sequence[Sequence[str]], *, metric: str, seeds: np.ndarray | None = None,
               base: np.ndarray | None = None) -> ScenarioSet:
    """Build a :class:`ScenarioSet` from destroyed id lists (``base`` evaluated unless given)."""
    ids = sorted({a for x in lists for a in x})
    pos = {a: j for j, a in enumerate(ids)}
    cls = np.empty(len(ids), dtype=np.int64)
    idx = np.empty(len(ids), dtype=np.int64)
    for j, a in enumerate(ids):
        c, i = ctx.cg.asset(a)
        cls[j], idx[j] = _CLS[c], i
    cand = Candidates(ids=np.array(ids, dtype=object), cls=cls, idx=idx)
    lens = np.fromiter((len(x) for x in lists), dtype=np.int64, count=len(lists))
    ptr = np.r_[0, np.cumsum(lens)]
    col = np.fromiter((pos[a] for x in lists for a in x), dtype=np.int64, count=int(ptr[-1]))
    member = sp.csr_matrix((np.ones(col.size, dtype=bool), col, ptr), shape=(len(lists), len(ids)))
    member.sort_indices()
    ss = ScenarioSet(assets=cand, member=member, base=np.zeros(len(lists)), metric=metric,
                     seeds=np.zeros(len(lists), dtype=np.int64) if seeds is None else np.asarray(seeds))
    b = values_with(ctx, ss, []) if base is None else np.asarray(base, dtype=float)
    return ScenarioSet(assets=cand, member=member, base=b, metric=metric, seeds=ss.seeds)


def draw_set(ctx: SweepContext, *, n: int, root_seed: int, metric: str, start: int = 0) -> ScenarioSet:
    """Draw ``n`` scenarios (sweep seeds ``start`` … ``start + n - 1`` under ``root_seed``) and evaluate them."""
    lists, seeds = draw_lists(ctx, root_seed=root_seed, start=start, stop=start + n)
    return from_lists(ctx, lists, metric=metric, seeds=seeds)


def values_with(ctx: SweepContext, ss: ScenarioSet, protected: Sequence[int], *,
                rows: np.ndarray | None = None, also: np.ndarray | None = None, chunk: int = 100_000) -> np.ndarray:
    """Metric of scenarios ``rows`` (default all; repeats allowed) with the assets at positions ``protected``
    surviving — and, per row, the asset ``also[i]`` too (``-1``: none)."""
    rows = np.arange(ss.n) if rows is None else np.asarray(rows, dtype=np.int64)
    m = ss.member[rows].tocoo()
    keep = np.ones(m.col.size, dtype=bool)
    if len(protected):
        prot = np.zeros(ss.assets.n, dtype=bool)
        prot[np.asarray(protected, dtype=np.int64)] = True
        keep &= ~prot[m.col]
    if also is not None:
        keep &= m.col != np.asarray(also, dtype=np.int64)[m.row]
    r_all, c_all = m.row[keep], m.col[keep]
    order = np.lexsort((c_all, r_all))
    r_all, c_all = r_all[order], c_all[order]
    lens = np.bincount(r_all, minlength=rows.size)
    ptr = np.r_[0, np.cumsum(lens)]
    out = np.empty(rows.size)
    width = int(lens.max()) if lens.size else 0
    for a in range(0, rows.size, chunk):
        b = min(rows.size, a + chunk)
        combos = np.full((b - a, max(width, 1)), -1, dtype=np.int64)
        sl = slice(ptr[a], ptr[b])
        r = r_all[sl] - a
        combos[r, np.arange(r.size) - (ptr[r + a] - ptr[a])] = c_all[sl]
        out[a:b] = np.asarray(evaluate_sets(ctx, ss.assets, combos)[ss.metric], dtype=float)
    return out
