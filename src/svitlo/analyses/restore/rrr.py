"""Recursive restoration refinement: refine a repair order by splitting it into halves, recursively.

The method of Rhodes, Coffrin & Roald (PSCC 2022, "Recursive restoration refinement: a fast heuristic for
near-optimal restoration prioritization in power systems"): rather than one restoration-ordering problem with a
period per asset, solve a sequence of small ones. At the top, the damaged assets ``S`` are split into two
periods — the half ``A`` repaired first and the rest ``B`` — by a two-period restoration-ordering problem; then
each half is split again, with everything ordered before it already repaired and everything after it still
broken, until every part is a single asset. The concatenated parts are the order.

**The two-period problem** of a part ``S`` (assets ordered before it repaired, ``L`` those after it broken):
choose ``A ⊂ S`` with ``|A| = ceil(|S| / 2)`` minimising the aggregated weighted energy not served within
the horizon ``H``

    ``shed(S ∪ L) · |[t0, t0 + T(A)] ∩ [0, H]| + shed(B ∪ L) · |[t0 + T(A), t0 + T(A) + T(B)] ∩ [0, H]|``,

where ``shed(X)`` is the tier-weighted load shed (MW) with the assets ``X`` out (the ``balance`` rule without
flows, :mod:`svitlo.simulation.lean`, cached), ``T(X) = Σ_{j∈X} duration_j / crews`` the length of a period
(crew-hours spread over the crews) and ``t0`` the start of the part (``T`` of everything before it). With equal
durations and no horizon this is the paper's two-period problem (the first term is then constant); with
durations it is its aggregated-period form. Hours past the horizon count with the small weight
:data:`BEYOND_WEIGHT` (with hundreds of jobs and a few crews only the first jobs finish within it: without them a
top split would be a tie, and the recursion could not choose which assets come early at all); a part that starts
after the horizon keeps its incoming order. Release hours (later waves), spares and access windows are left to
the list schedule, which respects them, as the paper leaves the crews' routing to a later stage.

**Solving it by evaluation**: exactly by enumeration when there are at most :data:`ENUMERATE_MAX` candidate
halves; otherwise starting from the incoming order's first half (so the method refines the order it is given:
the constructive order of :mod:`.heuristic`) and improving by exchanges — the :data:`EXCHANGE_K` assets of
``A`` whose removal costs least against as many of ``B`` whose repair helps most, every pair tried, best
improving exchange kept — until no exchange helps.

Examples
--------
>>> from svitlo.analyses.restore.problem import restore_problem
>>> p = restore_problem({"grid": "case9", "horizon_h": 12, "strikes": [{"assets": ["line:3", "line:6", "line:8"]}],
...                      "repairs": {"durations_h": {"line": 3}}}, crews=1)
>>> order = rrr_order(p)
>>> sorted(order) == sorted(j.asset for j in p.jobs), order[0]
(True, 'line:3')
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

from svitlo.analyses.restore.heuristic import _Scorer, constructive_order
from svitlo.analyses.restore.problem import RestoreProblem

__all__ = ["rrr_order", "split_cost", "ENUMERATE_MAX", "BEYOND_WEIGHT", "EXCHANGE_K"]

#: Largest number of candidate halves of a part solved by enumeration.
ENUMERATE_MAX = 70
#: Weight of the hours past the horizon in the two-period objective: a tie-break that keeps the splits of parts
#: reaching past the horizon meaningful (which assets come early at all), as in the paper's unbounded model.
BEYOND_WEIGHT = 1e-3
#: Assets on each side tried in the exchanges of the two-period problem.
EXCHANGE_K = 4


def split_cost(sc: _Scorer, dur: dict[str, float], crews: int, part: frozenset, first: frozenset,
               later: frozenset, *, t0: float = 0.0, horizon_h: float = math.inf) -> float:
    """Aggregated weighted energy not served (MWh) within ``[0, horizon_h)`` of repairing ``first`` before
    ``part - first`` from hour ``t0``, with ``later`` still broken throughout (the two-period objective of the
    module docstring)."""
    second = part - first
    t_a = t0 + sum(dur[a] for a in first) / crews
    t_b = t_a + sum(dur[a] for a in second) / crews
    h1 = max(min(t_a, horizon_h) - t0, 0.0)
    h2 = max(min(t_b, horizon_h) - min(t_a, horizon_h), 0.0)
    s_all, s_b = sc.shed(part | later), sc.shed(second | later)
    return s_all * h1 + s_b * h2 + BEYOND_WEIGHT * (s_all * (t_a - t0 - h1) + s_b * (t_b - t_a - h2))


def _split(sc: _Scorer, dur: dict[str, float], crews: int, part: list[str], later: frozenset, t0: float,
           horizon_h: float) -> tuple[list[str], list[str]]:
    """Solve the two-period problem of ``part`` (ordered: its first half is the starting point)."""
    n = len(part)
    na = math.ceil(n / 2)
    whole = frozenset(part)

    def cost(a: frozenset) -> float:
        return split_cost(sc, dur, crews, whole, a, later, t0=t0, horizon_h=horizon_h)

    if math.comb(n, na) <= ENUMERATE_MAX:
        best = min((frozenset(c) for c in itertools.combinations(part, na)),
                   key=lambda a: (cost(a), [part.index(x) for x in sorted(a, key=part.index)]))
    else:
        best = frozenset(part[:na])
        best_c = cost(best)
        while True:
            b_side = whole - best
            out = sc.shed(b_side | later)
            # least loss when moved to the second period; most gain when moved to the first
            weak = sorted([a for a in part if a in best], key=lambda x: (sc.shed(b_side | later | {x}) - out) / dur[x])[:EXCHANGE_K]
            strong = sorted([a for a in part if a in b_side], key=lambda y: -(out - sc.shed((b_side - {y}) | later)) / dur[y])[:EXCHANGE_K]
            cand = min(((cost((best - {x}) | {y}), part.index(x), part.index(y), x, y) for x in weak
                        for y in strong), default=None)
            if cand is None or cand[0] >= best_c - 1e-9 * max(1.0, abs(best_c)):
                break
            best_c, best = cand[0], (best - {cand[3]}) | {cand[4]}
    first = [a for a in part if a in best]
    return first, [a for a in part if a not in best]


def rrr_order(p: RestoreProblem, start: Sequence[str] | None = None) -> list[str]:
    """The repair order refined recursively from ``start`` (default: the constructive order).

    Parameters
    ----------
    p
        The repair problem.
    start
        An order of every job's asset to refine; its order is kept within parts whose split is a tie.

    Returns
    -------
    list of str
        Every job's asset, first repaired first.
    """
    order = list(start) if start is not None else constructive_order(p)
    if sorted(order) != sorted(j.asset for j in p.jobs):
        raise ValueError("start must list every job's asset once")
    sc = _Scorer(p)
    dur = {j.asset: float(j.duration_h) for j in p.jobs}
    out: list[str] = []
    # depth-first over parts, earliest first: a part's "later" set is every asset after it in the order
    # and its start hour the crew-hours before it spread over the crews
    stack: list[tuple[list[str], frozenset, float]] = [(order, frozenset(), 0.0)]
    while stack:
        part, later, t0 = stack.pop()
        if len(part) <= 1 or t0 >= p.horizon_h:   # nothing to order, or it all ends after the horizon
            out.extend(part)
            continue
        a, b = _split(sc, dur, p.crews, part, later, t0, p.horizon_h)
        stack.append((b, later, t0 + sum(dur[x] for x in a) / p.crews))
        stack.append((a, later | frozenset(b), t0))
    return out
