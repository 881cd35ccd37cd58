"""A repair-scheduling problem: the damaged assets of one timeline and what constrains their repair.

The story is the scenario's timeline for one seed (:func:`svitlo.simulate` with that seed): the assets destroyed
at hour 0 and by later waves. Each gets a job: it may start once the asset has been struck for the last time
(``release_h``), lasts ``duration_h`` (the repair time of its kind, or its sampled value for a random duration,
rounded up to whole hours as in the hourly simulation, plus ``travel_h``), and the asset is back in service at
the hour the job ends. A schedule is evaluated by simulating the timeline with every job as an explicit repair
(:func:`svitlo.simulation.fast.run_timelines`), so the figures are those of :func:`svitlo.simulate` with the
schedule given as ``repairs.explicit``.

Constraints: ``crews`` jobs at a time; spares (``repairs.spares``): at most ``stock`` jobs of a kind start
before ``lead_h``; access windows (``repairs.access``): no job on a listed asset overlaps ``[from_h, to_h)``.

Examples
--------
>>> p = restore_problem({"grid": "case9", "horizon_h": 12, "strikes": [{"assets": ["line:3", "line:6"]}],
...                      "repairs": {"durations_h": {"line": 4}}}, crews=1)
>>> [(j.asset, j.release_h, j.duration_h) for j in p.jobs]
[('line:3', 0, 4), ('line:6', 0, 4)]
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from svitlo.errors import ScenarioError
from svitlo.model.grid import asset_kind
from svitlo.scenarios.spec import ExplicitRepair, Repairs, Scenario
from svitlo.simulation.fast import TimelineModel, run_timelines, state_cache, timeline_model
from svitlo.simulation.repairs import repair_durations
from svitlo.simulation.sampling import repair_sampler

__all__ = ["RepairJob", "RestoreProblem", "restore_problem", "Evaluation"]


@dataclass(frozen=True)
class RepairJob:
    """One damaged asset: its id, kind, release hour (last strike), duration (whole hours, travel included)."""

    asset: str
    kind: str
    release_h: int
    duration_h: int


@dataclass(frozen=True)
class Evaluation:
    """Figures of a schedule over the horizon: energy not served (MWh), of it critical (tier-1 demand not
    covered by the grid or facility backup), and tier-weighted (the objective minimised)."""

    ens_mwh: float
    critical_ens_mwh: float
    weighted_ens_mwh: float
    critical_served_mw: np.ndarray = field(repr=False)


@dataclass(eq=False)
class RestoreProblem:
    """Jobs, crews and constraints of one timeline (build with :func:`restore_problem`)."""

    model: TimelineModel
    seed: int
    crews: int
    jobs: list[RepairJob]
    stock: dict[str, tuple[int, float]]
    access: list[tuple[frozenset[str], int, int]]
    cache: Any = None
    evaluations: int = 0

    @property
    def horizon_h(self) -> int:
        return self.model.horizon_h

    def job(self, asset: str) -> RepairJob:
        return next(j for j in self.jobs if j.asset == asset)

    def as_repairs(self, schedule: dict[str, int]) -> Repairs:
        """The schedule (``asset -> end hour``) as scenario repairs (explicit, no crews)."""
        return Repairs(explicit=[ExplicitRepair(asset=a, done_h=int(e)) for a, e in schedule.items()])

    def evaluate(self, schedule: dict[str, int]) -> Evaluation:
        """Simulate the timeline with the schedule (``asset -> end hour``; jobs ending after the horizon do
        nothing)."""
        if self.cache is None:
            self.cache = state_cache(self.model)
        self.evaluations += 1
        b = run_timelines(self.model, [self.seed], use_strike_seeds=True, cache=self.cache,
                          repairs=self.as_repairs({a: e for a, e in schedule.items() if e < self.horizon_h}))
        crit = b.critical_load_mw[0] - b.critical_served_mw[0]
        return Evaluation(ens_mwh=float(b.ens_mwh[0].sum()), critical_ens_mwh=float(crit.sum()),
                          weighted_ens_mwh=float(b.ens_weighted_mwh[0].sum()),
                          critical_served_mw=b.critical_served_mw[0])


def _canonical(m: TimelineModel, asset: str, field_name: str) -> str:
    cg = m.cg
    try:
        cls, j = cg.asset(asset)
    except Exception:
        raise ScenarioError(f"unknown asset id in grid {cg.name!r}", source="scenario", field=field_name,
                            value=asset) from None
    return str({"bus": cg.bus_ids, "branch": cg.branch_ids, "gen": cg.gen_ids, "load": cg.load_ids}[cls][j])


def restore_problem(scenario: Scenario | dict | str | os.PathLike, *, crews: int, seed: int | None = None,
                    grid: Any = None, model: TimelineModel | None = None) -> RestoreProblem:
    """The repair problem of the scenario's timeline for ``seed`` (default: the scenario's seed) with ``crews``.

    Raises :class:`~svitlo.errors.ScenarioError` for fewer than one crew or an unknown asset in
    ``repairs.order`` or ``repairs.access``.
    """
    if isinstance(crews, bool) or not isinstance(crews, int | np.integer) or crews < 1:
        raise ScenarioError("must be at least 1", field="crews", value=crews)
    if model is None:
        from svitlo.pipeline import prepare

        model = timeline_model(prepare(grid, scenario))
    m = model
    sc = m.sc
    seed = sc.seed if seed is None else int(seed)
    rep = sc.repairs or Repairs()
    for k, o in enumerate(rep.order):
        if ":" in o:
            _canonical(m, o, f"repairs.order[{k}]")
    access = [(frozenset(_canonical(m, a, f"repairs.access[{k}].assets") for a in w.assets), w.from_h, w.to_h)
              for k, w in enumerate(rep.access)]
    # the story without repairs: which assets are struck, and when last
    story = _strike_hours(m, seed)
    durations = repair_durations(rep.durations_h)
    sample = repair_sampler(m.cg, sc, seed)
    jobs = []
    for a, hours in story.items():
        d = sample(a) if sample is not None else float("nan")
        if d != d:
            d = durations.get(asset_kind(a), 24.0)
        jobs.append(RepairJob(asset=a, kind=asset_kind(a), release_h=max(hours),
                              duration_h=max(1, math.ceil(d - 1e-9)) + math.ceil(rep.travel_h - 1e-9)))
    stock = {k: (v.stock, math.inf if v.lead_h is None else float(v.lead_h)) for k, v in rep.spares.items()}
    return RestoreProblem(model=m, seed=seed, crews=int(crews), jobs=jobs, stock=stock, access=access)


def _strike_hours(m: TimelineModel, seed: int) -> dict[str, list[int]]:
    """Hours each asset is struck in the timeline without repairs (first-hit order)."""
    from svitlo.simulation.fast import _strikes, state_cache

    res = state_cache(m).strikes
    down: dict[str, int] = {}
    out: dict[str, list[int]] = {}
    for h in sorted({0} | {w.at_h for w in m.sc.waves}):
        if h >= m.horizon_h:
            continue
        for a in _strikes(m, res, h, seed, down, True):
            down[a] = h
            out.setdefault(a, []).append(h)
    return out
