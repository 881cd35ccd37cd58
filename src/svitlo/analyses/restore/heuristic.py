"""Repair orders into schedules, the constructive heuristic with local improvement, and the naive baselines.

**Schedule from an order** (serial list scheduling): jobs are taken in order; each goes to the crew free
earliest and starts at the first hour when that crew is free, the asset has been struck for the last time, a
spare is available (``stock`` jobs of the kind before ``lead_h``, any after it) and the job overlaps no access
window of its asset.

**Constructive order**: repeatedly pick the job with the largest *restored weighted load per repair hour*:
the drop in tier-weighted shed (MW) when that asset alone comes back, given those already picked, plus a small
share (1 %) of the weighted load that depends on the asset alone (the shed with every other asset repaired),
so that assets that only help together with others are still ordered by what they unlock; divided by the job's
duration. Grid states come from the ``balance`` rule without flows (:mod:`svitlo.simulation.lean`), cached.
The measure — weighted load restored early, per unit of crew time — is the one recursive restoration
refinement optimises by splitting the horizon (Rhodes, Coffrin & Roald, PSCC 2022); here it is applied
greedily and then improved by local search.

**Local improvement**, started from the best of the constructive order and the baselines: swap two jobs at most ``window`` places apart in the order, keep the swap if the
simulated weighted energy not served (the full timeline: facilities on backup, rolling outages, waves) drops;
repeat until no swap helps or the time budget runs out (every pair for up to 40 jobs).

**Baselines**: ``as_listed`` (the scenario's ``repairs.order`` by the rule of :mod:`svitlo.simulation.repairs`, then
strike order), ``shortest_job_first``, ``largest_load_first`` (weighted load that depends on the asset alone).
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Sequence

from svitlo.analyses.restore.problem import Evaluation, RestoreProblem
from svitlo.simulation.fast import state_cache
from svitlo.simulation.repairs import repair_durations, repair_priority

__all__ = ["schedule_from_order", "constructive_order", "improve", "baseline_orders", "Scheduled",
           "crew_schedule"]

Scheduled = dict[str, tuple[int, int, int]]   # asset -> (crew, start_h, end_h)


def schedule_from_order(p: RestoreProblem, order: Sequence[str]) -> Scheduled:
    """Serial list schedule of the jobs in ``order`` (see the module docstring); jobs that cannot start (no
    spare ever) are left out."""
    free = [0] * p.crews
    used: dict[str, int] = {}
    jobs = {j.asset: j for j in p.jobs}
    out: Scheduled = {}
    for a in order:
        j = jobs[a]
        crew = min(range(p.crews), key=lambda c: (free[c], c))
        start = max(free[crew], j.release_h)
        while True:
            s0 = start
            if j.kind in p.stock:
                stock, lead = p.stock[j.kind]
                if used.get(j.kind, 0) >= stock and start < lead:
                    if math.isinf(lead):
                        start = -1
                        break
                    start = int(math.ceil(lead))
            for assets, lo, hi in p.access:
                if a in assets and start < hi and start + j.duration_h > lo:
                    start = hi
            if start == s0:
                break
        if start < 0:
            continue
        if j.kind in p.stock and start < p.stock[j.kind][1]:
            used[j.kind] = used.get(j.kind, 0) + 1
        out[a] = (crew, start, start + j.duration_h)
        free[crew] = start + j.duration_h
    return out


def crew_schedule(s: Scheduled) -> dict[str, int]:
    """``asset -> end hour`` of a schedule (what the simulation needs)."""
    return {a: e for a, (_c, _s, e) in s.items()}


class _Scorer:
    """Tier-weighted shed (MW) of a set of assets still broken, from cached lean grid states."""

    def __init__(self, p: RestoreProblem) -> None:
        self.states = p.cache if p.cache is not None else state_cache(p.model)
        p.cache = self.states
        self.memo: dict[frozenset, float] = {}

    def shed(self, broken: frozenset) -> float:
        v = self.memo.get(broken)
        if v is None:
            i = self.states.state_id(broken, sorted(broken), None)
            v = self.memo[broken] = self.states.rows[i][2]
        return v


def _dependent_load(p: RestoreProblem, sc: _Scorer) -> dict[str, float]:
    none = sc.shed(frozenset())
    return {j.asset: max(sc.shed(frozenset([j.asset])) - none, 0.0) for j in p.jobs}


def constructive_order(p: RestoreProblem) -> list[str]:
    """The greedy order of the module docstring (lazy re-evaluation of stale scores)."""
    sc = _Scorer(p)
    dep = _dependent_load(p, sc)
    dur = {j.asset: j.duration_h for j in p.jobs}
    broken = frozenset(j.asset for j in p.jobs)
    order: list[str] = []
    cur = sc.shed(broken)

    def score(a: str) -> float:
        return (cur - sc.shed(broken - {a}) + 0.01 * dep[a]) / dur[a]

    heap = [(-score(a), a) for a in sorted(broken)]
    heapq.heapify(heap)
    while heap:
        _neg, a = heapq.heappop(heap)
        s = score(a)
        if heap and s < -heap[0][0] - 1e-12:   # stale: re-insert with its fresh score
            heapq.heappush(heap, (-s, a))
            continue
        order.append(a)
        broken = broken - {a}
        cur = sc.shed(broken)
    return order


def improve(p: RestoreProblem, order: list[str], *, window: int | None = None, time_limit_s: float = 10.0
            ) -> tuple[list[str], Evaluation]:
    """Local search by swaps (see the module docstring); returns the best order and its evaluation.

    ``window`` (default: every pair up to 40 jobs, else 3) bounds how far apart two swapped jobs are."""
    if window is None:
        window = len(order) if len(order) <= 40 else 3
    best = list(order)
    best_ev = p.evaluate(crew_schedule(schedule_from_order(p, best)))
    t_end = time.perf_counter() + time_limit_s
    improved = True
    while improved and time.perf_counter() < t_end:
        improved = False
        for i in range(len(best)):
            for k in range(1, window + 1):
                j = i + k
                if j >= len(best) or time.perf_counter() >= t_end:
                    break
                cand = list(best)
                cand[i], cand[j] = cand[j], cand[i]
                ev = p.evaluate(crew_schedule(schedule_from_order(p, cand)))
                if ev.weighted_ens_mwh < best_ev.weighted_ens_mwh - 1e-9:
                    best, best_ev, improved = cand, ev, True
    return best, best_ev


def baseline_orders(p: RestoreProblem) -> dict[str, list[str]]:
    """The naive orders a planner would otherwise use."""
    rep = p.model.sc.repairs
    listed = [str(p.model.cg.aliases.get(o, o)) for o in (rep.order if rep else [])]
    durations = repair_durations(rep.durations_h if rep else None)
    dur = {j.asset: j.duration_h for j in p.jobs}
    first = {j.asset: i for i, j in enumerate(p.jobs)}
    hit = {j.asset: j.release_h for j in p.jobs}
    dep = _dependent_load(p, _Scorer(p))
    assets = [j.asset for j in p.jobs]
    return {
        "as_listed": sorted(assets, key=lambda a: (*repair_priority(a, listed, {**durations, **dur}, hit)[:1],
                                                   first[a])),
        "shortest_job_first": sorted(assets, key=lambda a: (dur[a], first[a])),
        "largest_load_first": sorted(assets, key=lambda a: (-dep[a], first[a])),
    }
