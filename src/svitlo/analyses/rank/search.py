"""Worst-case ``k`` on any grid size: beam-greedy construction, then swap local search (a heuristic).

Both phases evaluate whole neighbourhoods in one call of the batched engine: the beam extends each of its
``beam`` sets by every candidate not in it and keeps the ``beam`` worst distinct results (ties broken by a
secondary value, e.g. the number of islands: on a secure grid most single losses shed nothing, and a set that
already splits the grid is one step from shedding); the worst sets of a seeded random sample join the
starting points; local search then tries every single swap (one asset of the set out, one candidate in) and
moves to the worst, until no swap makes the set worse (a local optimum: no set at swap distance one is worse)
or the time limit is reached.

Examples
--------
>>> import numpy as np
>>> w = np.array([5.0, 1.0, 4.0, 0.0])
>>> ev = lambda c: np.where(c >= 0, w[np.maximum(c, 0)], 0).sum(axis=1)   # additive: greedy is optimal
>>> r = worst_k(ev, n=4, k=2, beam=1, n_random=0)
>>> r.best, r.best_value
((0, 2), 9.0)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["TopSets", "SearchResult", "worst_k"]

#: Values of a batch of sets: shape ``(m,)``, or ``(m, 2)`` with a secondary value breaking ties.
Evaluator = Callable[[np.ndarray], np.ndarray]


@dataclass
class TopSets:
    """The ``size`` worst distinct sets seen so far (sorted tuples of candidate positions) and their values."""

    size: int
    sets: dict[tuple[int, ...], float] = field(default_factory=dict)
    evaluated: int = 0

    def add(self, combos: np.ndarray, values: np.ndarray) -> None:
        """Record a batch of evaluated sets."""
        self.evaluated += int(values.size)
        if not values.size:
            return
        m = min(self.size, values.size)
        top = np.argpartition(-values, m - 1)[:m] if m < values.size else np.arange(values.size)
        for i in top:
            key = tuple(sorted(int(x) for x in combos[i] if x >= 0))
            self.sets[key] = float(values[i])
        if len(self.sets) > 2 * self.size:
            self._trim()

    def _trim(self) -> None:
        keep = sorted(self.sets.items(), key=lambda kv: (-kv[1], kv[0]))[: self.size]
        self.sets = dict(keep)

    def ranked(self) -> list[tuple[tuple[int, ...], float]]:
        """Worst first (ties: lexicographically smaller set first)."""
        self._trim()
        return sorted(self.sets.items(), key=lambda kv: (-kv[1], kv[0]))


@dataclass(frozen=True)
class SearchResult:
    """Best set found, its value, the worst sets seen, sets evaluated, seconds, local search rounds and
    whether the search ended at a local optimum (False: stopped by the time limit)."""

    best: tuple[int, ...]
    best_value: float
    top: list[tuple[tuple[int, ...], float]]
    evaluated: int
    seconds: float
    rounds: int
    local_optimum: bool


def _extend(beam: list[tuple[int, ...]], n: int) -> np.ndarray:
    rows = []
    for s in beam:
        free = np.setdiff1d(np.arange(n), np.array(s, dtype=np.int64))
        base = np.tile(np.array(s, dtype=np.int64), (free.size, 1))
        rows.append(np.column_stack([base, free]))
    return np.concatenate(rows) if rows else np.zeros((0, 1), dtype=np.int64)


def _swaps(s: tuple[int, ...], n: int) -> np.ndarray:
    arr = np.array(s, dtype=np.int64)
    free = np.setdiff1d(np.arange(n), arr)
    out = []
    for i in range(arr.size):
        c = np.tile(arr, (free.size, 1))
        c[:, i] = free
        out.append(c)
    return np.concatenate(out)


def _chunked(ev: Evaluator, combos: np.ndarray, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """Primary and secondary values of ``combos``."""
    if not len(combos):
        return np.zeros(0), np.zeros(0)
    v = np.concatenate([np.asarray(ev(combos[i:i + chunk]), dtype=float) for i in range(0, len(combos), chunk)])
    return (v[:, 0], v[:, 1]) if v.ndim == 2 else (v, np.zeros(v.size))


def worst_k(ev: Evaluator, *, n: int, k: int, beam: int = 8, keep: int = 50, time_limit_s: float | None = None,
            chunk: int = 200_000, start: list[tuple[int, ...]] | None = None, n_random: int = 20_000,
            seed: int = 0, pair_starts: np.ndarray | None = None) -> SearchResult:
    """Search for the ``k`` candidates (of ``n``) whose joint loss maximises ``ev``.

    Parameters
    ----------
    ev
        Values of a batch of sets (``m x k`` candidate positions) — larger is worse.
    beam
        Sets kept at each greedy step (1 = plain greedy).
    keep
        Worst distinct sets remembered for the report.
    time_limit_s
        Stop local search (not the construction) after this many seconds in all.
    start
        Extra starting sets of size ``k`` for local search.
    n_random, seed
        Random sets of size ``k`` sampled (seeded) before the search; the ``beam`` worst start local search.
    pair_starts
        Pairs (``m x 2`` candidate positions, e.g. :func:`svitlo.analyses.rank.cuts.cut_pairs`) competing with
        the greedy pairs for the beam at the second step.
    """
    t0 = time.perf_counter()
    top = TopSets(keep)
    level: list[tuple[int, ...]] = [()]
    for step in range(k):
        combos = _extend(level, n)
        if step == 1 and pair_starts is not None and len(pair_starts):
            combos = np.concatenate([combos, np.asarray(pair_starts, dtype=np.int64).reshape(-1, 2)])
        vals, sec = _chunked(ev, combos, chunk)
        keys = np.sort(combos, axis=1)
        _, first = np.unique(keys, axis=0, return_index=True)
        order = first[np.lexsort((first, -sec[first], -vals[first]))][:beam]
        level = [tuple(int(x) for x in keys[i]) for i in order]
        if combos.shape[1] == k:
            top.add(combos, vals)
    starts = level + [tuple(sorted(s)) for s in (start or [])]
    if start:
        st = np.array([tuple(sorted(s)) for s in start], dtype=np.int64)
        top.add(st, _chunked(ev, st, chunk)[0])
    if n_random and k < n:
        rng = np.random.default_rng(seed)
        sample = np.sort(np.argsort(rng.random((int(n_random), n)), axis=1)[:, :k], axis=1) if n <= 64 else \
            np.sort(np.array([rng.choice(n, k, replace=False) for _ in range(int(n_random))]), axis=1)
        v, sec = _chunked(ev, sample, chunk)
        top.add(sample, v)
        best_r = np.lexsort((-sec, -v))[:beam]
        starts += [tuple(int(x) for x in sample[i]) for i in best_r]
    rounds, local = 0, True
    for s in dict.fromkeys(starts):
        cur = s
        cur_v = top.sets.get(cur)
        if cur_v is None:
            cur_v = float(_chunked(ev, np.array([cur]), chunk)[0][0])
        while True:
            if time_limit_s is not None and time.perf_counter() - t0 > time_limit_s:
                local = False
                break
            sw = _swaps(cur, n)
            v, _ = _chunked(ev, sw, chunk)
            top.add(sw, v)
            rounds += 1
            j = int(np.argmax(v))
            if v[j] <= cur_v + 1e-9 * max(1.0, abs(cur_v)):
                break
            cur, cur_v = tuple(sorted(int(x) for x in sw[j])), float(v[j])
        if not local:
            break
    ranked = top.ranked()
    best, best_v = ranked[0]
    return SearchResult(best=best, best_value=best_v, top=ranked, evaluated=top.evaluated,
                        seconds=time.perf_counter() - t0, rounds=rounds, local_optimum=local)
