"""Repair crews: durations by asset kind, a stated priority order, and list scheduling hour by hour.

Rule: from ``start_h`` on, at the start of every hour each free crew takes the destroyed asset of highest
priority that nobody works on; the job ends ``ceil(duration)`` hours later and the asset is back in service
for that hour. Priority: an asset named in ``order`` by id comes first (in list order), then assets whose kind
is named in ``order`` (in list order), then the rest; ties go to the shorter job, then to the earlier strike.
An asset struck again while being repaired goes back to the queue (the crew is freed). Assets with an
explicit repair hour are left to that schedule.

Default durations (:data:`DEFAULT_REPAIR_H`, indicative, DESIGN §8): substations (buses) 312 h — Ukrenergo
brought four 750 kV substations back in 13 days (2024); transformers 504 h — an autotransformer installed in
3 weeks with a spare on hand (Ukrenergo 2024; a new large transformer takes >= 20 months to procure, US DOE
2012/2014, so give a longer duration when no spare exists). Lines 8 h, generators 168 h, small generators
72 h and distribution loads 24 h are assumptions to override.

Examples
--------
>>> durations = repair_durations({"line": 4})
>>> durations["line"], durations["bus"]
(4.0, 312.0)
>>> jobs = assign_crews(0, pending=["bus:1", "line:2", "line:3"], busy={}, crews=2, order=[],
...                     durations=durations, first_hit={"bus:1": 0, "line:2": 0, "line:3": 0})
>>> [(j.asset, j.crew, j.done_h) for j in jobs]
[('line:2', 0, 4), ('line:3', 1, 4)]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from svitlo.model.grid import asset_kind

__all__ = ["DEFAULT_REPAIR_H", "Job", "RepairPolicy", "repair_durations", "job_hours", "repair_priority",
           "assign_crews"]

#: Repair time (h) per asset kind; see the module docstring for sources and assumptions.
DEFAULT_REPAIR_H: dict[str, float] = {
    "bus": 312.0, "trafo": 504.0, "line": 8.0, "impedance": 8.0, "branch": 8.0,
    "gen": 168.0, "sgen": 72.0, "ext_grid": 312.0, "storage": 72.0, "load": 24.0, "shunt": 24.0,
}


@dataclass(frozen=True)
class Job:
    """One repair: ``asset`` by crew ``crew`` (0-based) from ``start_h``, back in service at ``done_h``."""

    asset: str
    crew: int
    start_h: int
    done_h: int


class RepairPolicy(Protocol):
    """Which pending repairs free crews start at hour ``h``: the timeline's plug-in point for repair planning.

    Called at the start of every hour from ``repairs.start_h`` on with the destroyed assets nobody works on
    (``pending``), the jobs under way (``busy``, by asset), the number of crews, the scenario's ``order``, the
    durations (h) by asset kind and the hour each asset was first hit; returns the new :class:`Job` s (one per
    free crew at most). :func:`assign_crews` is the default.
    """

    def __call__(self, h: int, *, pending: Sequence[str], busy: Mapping[str, Job], crews: int,
                 order: Sequence[str], durations: Mapping[str, float],
                 first_hit: Mapping[str, int]) -> list[Job]: ...


def repair_durations(user: Mapping[str, object] | None = None) -> dict[str, float]:
    """Default durations (h) updated with the user's (a random duration counts with its median)."""
    return {**DEFAULT_REPAIR_H,
            **{k: float(getattr(v, "median_h", v)) for k, v in (user or {}).items()}}  # type: ignore[arg-type]


def job_hours(asset: str, durations: Mapping[str, float]) -> float:
    """Repair time of ``asset`` (h): its own entry in ``durations`` (an asset id, e.g. a sampled duration),
    else its kind's, else 24 h."""
    d = durations.get(asset)
    return float(d) if d is not None else float(durations.get(asset_kind(asset), 24.0))


def repair_priority(asset: str, order: Sequence[str], durations: Mapping[str, float],
                    first_hit: Mapping[str, int]) -> tuple[int, float, int, str]:
    """Sort key of an asset in the repair queue (smaller = repaired first). ``durations`` holds hours by asset
    kind and, for damage with its own repair time (:mod:`svitlo.scenarios.damage_states`), by asset id."""
    kind = asset_kind(asset)
    if asset in order:
        rank = order.index(asset)
    elif kind in order:
        rank = len(order) + order.index(kind)
    else:
        rank = 2 * len(order)
    return rank, job_hours(asset, durations), first_hit.get(asset, 0), asset


def assign_crews(h: int, *, pending: Sequence[str], busy: Mapping[str, Job], crews: int, order: Sequence[str],
                 durations: Mapping[str, float], first_hit: Mapping[str, int]) -> list[Job]:
    """New jobs started at hour ``h`` by the crews not in ``busy`` (pure); ``durations`` by asset id, else kind."""
    taken = {j.crew for j in busy.values()}
    free = [c for c in range(crews) if c not in taken]
    queue = sorted((a for a in pending if a not in busy),
                   key=lambda a: repair_priority(a, order, durations, first_hit))
    jobs = []
    for crew, asset in zip(free, queue):
        dur = job_hours(asset, durations)
        jobs.append(Job(asset=asset, crew=crew, start_h=h, done_h=h + max(1, math.ceil(dur - 1e-9))))
    return jobs
