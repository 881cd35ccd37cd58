"""Rolling outage queues (Ukrenergo-style schedules) for islands short of generation.

Rule. Loads whose tier is not exempt (tier 1, critical, is exempt by default) are dealt round-robin, in load
order, into ``Q`` queues (Ukrenergo used 6 queues, 12 sub-queues since October 2025; DESIGN §8). Time runs in
blocks of ``block_h`` hours. At the start of each block, in every energised island whose in-service demand
exceeds its generation capacity, queues are switched off one after another in cyclic order — starting where
the previous block of that island stopped — until the load switched off covers the island's shortfall (or every
queue is off). Switched-off loads get nothing for the block; the rest of the island is then served in full,
and any shortfall still left is shed by the usual priority rule. So queues take turns, each for whole blocks,
and a queue is off about ``shortfall / queue load`` blocks in ``Q``. An island is known across blocks by its
lowest bus index. When the topology changes inside a block, the queues are chosen again from the same start.

Examples
--------
>>> import numpy as np
>>> queue_of_loads(np.array([3, 1, 3, 3, 2]), n_queues=2, exempt_tiers=[1]).tolist()
[0, -1, 1, 0, 1]
>>> pick_queues(np.array([5.0, 3.0, 4.0]), shortfall_mw=6.0, start=1)
[1, 2]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from svitlo.engine.state import StateResult
from svitlo.model.compiled import CompiledGrid

__all__ = ["queue_of_loads", "pick_queues", "IslandPlan", "plan_rolling"]


def queue_of_loads(load_tier: np.ndarray, *, n_queues: int, exempt_tiers: Sequence[int]) -> np.ndarray:
    """Queue of each load (0..Q-1), -1 for exempt loads: round-robin over non-exempt loads in load order."""
    ok = ~np.isin(load_tier, list(exempt_tiers))
    q = np.full(load_tier.size, -1, dtype=np.int64)
    q[ok] = np.arange(int(ok.sum())) % n_queues
    return q


def pick_queues(queue_mw: np.ndarray, *, shortfall_mw: float, start: int) -> list[int]:
    """Queues switched off, in cyclic order from ``start``, until their load covers ``shortfall_mw``."""
    n = queue_mw.size
    out: list[int] = []
    got = 0.0
    for k in range(n):
        if got >= shortfall_mw - 1e-9:
            break
        q = (start + k) % n
        out.append(q)
        got += float(queue_mw[q])
    return out


@dataclass(frozen=True)
class IslandPlan:
    """Queues off in one short island for a block: ``key`` (lowest bus index), ``shortfall_mw``, ``queues``."""

    key: int
    island: int
    shortfall_mw: float
    queues: tuple[int, ...]
    start: int


def plan_rolling(cg: CompiledGrid, r: StateResult, queue: np.ndarray, *, n_queues: int,
                 starts: Mapping[int, int]) -> tuple[np.ndarray, list[IslandPlan]]:
    """Loads to switch off (mask) and the plan per short island, for a state evaluated without rotation.

    ``starts`` maps an island key to the queue this block starts from (0 when absent).
    """
    n = r.n_islands
    labels = r.labels
    alive = r.damage.load_alive
    li = np.where(alive, labels[cg.load_bus], -1)
    pos = np.where(li >= 0, np.maximum(cg.load_p_mw, 0.0), 0.0)
    idx = np.maximum(li, 0)
    demand = np.bincount(idx, weights=pos, minlength=n) if n else np.zeros(0)
    short = r.energised & (demand > r.capacity_mw + 1e-9)
    off = np.zeros(cg.n_load, dtype=bool)
    plans: list[IslandPlan] = []
    if not short.any():
        return off, plans
    first_bus = np.full(n, cg.n_bus, dtype=np.int64)
    b = np.flatnonzero(labels >= 0)
    np.minimum.at(first_bus, labels[b], b)
    for i in np.flatnonzero(short):
        sel = (li == i) & (queue >= 0)
        qmw = np.bincount(queue[sel], weights=pos[sel], minlength=n_queues)
        key = int(first_bus[i])
        start = int(starts.get(key, 0)) % n_queues
        qs = pick_queues(qmw, shortfall_mw=float(demand[i] - r.capacity_mw[i]), start=start)
        chosen = np.zeros(n_queues + 1, dtype=bool)   # by queue (the last entry: loads in no queue)
        chosen[qs] = True
        off |= sel & chosen[queue]
        plans.append(IslandPlan(key=key, island=int(i), shortfall_mw=float(demand[i] - r.capacity_mw[i]),
                                queues=tuple(qs), start=start))
    return off, plans
