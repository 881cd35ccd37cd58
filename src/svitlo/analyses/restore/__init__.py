"""Repair scheduling: which damaged asset each crew repairs when, to keep the most critical load served.

:func:`restore` builds the repair problem of a scenario's timeline (:mod:`.problem`), orders the jobs with the
constructive heuristic and improves the order by local search (:mod:`.heuristic`) — with ``method="rrr"``
first refined by recursive restoration refinement (:mod:`.rrr`) — solves the exact MILP
(:mod:`.milp`) when the case is small, and simulates every candidate — heuristic, MILP, baselines — on the same
timeline (same seed: strikes, waves, backups, refuels, rolling outages). The figures are those of
:func:`svitlo.simulate` with the schedule given as explicit repairs (a test checks it).

Examples
--------
>>> r = restore({"grid": "case9", "horizon_h": 12, "strikes": [{"assets": ["line:3", "line:6", "line:8"]}],
...              "repairs": {"durations_h": {"line": 3}}}, crews=1, exact="never")
>>> [row["asset"] for row in r.to_dict()["schedule"]][:1], sorted(r.baselines)
(['line:3'], ['as_listed', 'largest_load_first', 'shortest_job_first'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from svitlo.analyses.restore.heuristic import (
    Scheduled,
    baseline_orders,
    constructive_order,
    crew_schedule,
    improve,
    schedule_from_order,
)
from svitlo.analyses.restore.milp import milp_size, solve_milp
from svitlo.analyses.restore.problem import Evaluation, RestoreProblem, restore_problem
from svitlo.analyses.restore.rrr import rrr_order
from svitlo.scenarios.spec import Repairs

__all__ = ["restore", "RestoreResult", "restore_problem", "RestoreProblem"]

#: Version of the JSON contract of :meth:`RestoreResult.to_dict` (``docs/contracts.md``).
RESTORE_FORMAT = "svitlo-restore/1"
#: Largest MILP (variables) that ``exact="auto"`` attempts.
AUTO_EXACT_VARIABLES = 60_000


def _fig(ev: Evaluation) -> dict[str, float]:
    return {"critical_ens_mwh": ev.critical_ens_mwh, "ens_mwh": ev.ens_mwh, "weighted_ens_mwh": ev.weighted_ens_mwh}


@dataclass(frozen=True, eq=False)
class RestoreResult:
    """A repair schedule and how it compares.

    Attributes
    ----------
    schedule
        ``asset -> (crew, start_h, end_h)`` (crews 0-based; the asset is back in service from ``end_h``).
    objective
        Its simulated figures (:class:`~svitlo.analyses.restore.problem.Evaluation`).
    baselines
        Name -> (schedule, figures) of the naive orders.
    optimality
        ``status`` of the exact MILP (``optimal``, ``time_limit``, ``not_run`` ...), ``gap`` — the schedule's
        weighted energy not served relative to the simulated MILP schedule (0 = as good; negative = better) —
        and the solver's ``mip_gap``.
    """

    scenario: str
    seed: int
    crews: int
    horizon_h: int
    schedule: Scheduled
    objective: Evaluation
    method: str
    baselines: dict[str, tuple[Scheduled, Evaluation]]
    optimality: dict[str, Any]
    unscheduled: list[str] = field(default_factory=list)
    stages: dict[str, Evaluation] = field(default_factory=dict)

    def repairs(self) -> Repairs:
        """The schedule as scenario repairs (``explicit``; jobs ending within the horizon)."""
        return Repairs.model_validate({"explicit": [{"asset": a, "done_h": e} for a, (_c, _s, e) in
                                                    sorted(self.schedule.items(), key=lambda x: x[1][1])
                                                    if e < self.horizon_h]})

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` contract: ``schedule`` (rows ``asset, crew, start_h, end_h``; crews numbered from 1),
        ``objective``, ``baselines`` by name, ``optimality``, plus names and the horizon."""
        rows = [{"asset": a, "crew": c + 1, "start_h": s, "end_h": e}
                for a, (c, s, e) in sorted(self.schedule.items(), key=lambda x: (x[1][1], x[1][0]))]
        return {"format": RESTORE_FORMAT, "scenario": self.scenario, "seed": self.seed, "crews": self.crews, "horizon_h": self.horizon_h,
                "method": self.method, "schedule": rows, "objective": _fig(self.objective),
                "baselines": {k: _fig(v[1]) for k, v in self.baselines.items()},
                "optimality": self.optimality, "unscheduled": self.unscheduled,
                "stages": {k: _fig(v) for k, v in self.stages.items()},
                "resilience": {"critical_served_mw": np.round(self.objective.critical_served_mw, 6).tolist(),
                               **{k: np.round(v[1].critical_served_mw, 6).tolist()
                                  for k, v in self.baselines.items()}}}


def restore(scenario: Any, *, crews: int, seed: int | None = None, grid: Any = None,
            exact: Literal["auto", "always", "never"] = "auto", time_limit_s: float = 20.0,
            milp_time_limit_s: float = 60.0, window: int | None = None,
            method: Literal["heuristic", "rrr"] = "heuristic") -> RestoreResult:
    """Plan repairs for a scenario's timeline with ``crews`` crews.

    Parameters
    ----------
    scenario
        A :class:`~svitlo.scenarios.spec.Scenario`, a dict or a YAML path; ``repairs`` gives durations,
        ``spares``, ``access`` windows and ``travel_h``.
    crews
        Number of crews (>= 1).
    seed
        Timeline seed (strikes, waves, sampled durations, generator draws); default the scenario's.
    exact
        Solve the MILP: ``"auto"`` when it has at most :data:`AUTO_EXACT_VARIABLES` variables.
    time_limit_s
        Budget of the local search (s).
    milp_time_limit_s
        Budget of the MILP (s).
    window
        Largest distance between two swapped jobs in the local search (default: any up to 40 jobs, else 3).
    method
        ``"heuristic"``: the constructive order, improved by local search. ``"rrr"``: the constructive order
        refined by recursive restoration refinement (:mod:`.rrr`), then the same local search from the best of the
        refined, constructive and naive orders (``time_limit_s=0``: that best order as is). ``stages`` holds the
        figures of each stage.

    Returns
    -------
    RestoreResult
    """
    if method not in ("heuristic", "rrr"):
        from svitlo.errors import ScenarioError

        raise ScenarioError("expected heuristic or rrr", field="method", value=method)
    p = restore_problem(scenario, crews=crews, seed=seed, grid=grid)
    baselines = {}
    orders = baseline_orders(p)
    for name, o in orders.items():
        s = schedule_from_order(p, o)
        baselines[name] = (s, p.evaluate(crew_schedule(s)))
    start = constructive_order(p)
    start_ev = p.evaluate(crew_schedule(schedule_from_order(p, start)))
    stages = {"constructive": start_ev}
    if method == "rrr":   # the refined order, unless it simulates worse than the order it refined
        refined = rrr_order(p, start)
        refined_ev = stages["rrr"] = p.evaluate(crew_schedule(schedule_from_order(p, refined)))
        if refined_ev.weighted_ens_mwh <= start_ev.weighted_ens_mwh + 1e-9:
            start, start_ev = refined, refined_ev
    for name, o in orders.items():   # local search starts from the best of the constructive (refined) and naive orders
        if baselines[name][1].weighted_ens_mwh < start_ev.weighted_ens_mwh - 1e-9:
            start, start_ev = o, baselines[name][1]
    order, ev = improve(p, start, window=window, time_limit_s=time_limit_s)
    best, best_ev = schedule_from_order(p, order), ev
    stages["local_search"] = ev
    optimality: dict[str, Any] = {"status": "not_run", "gap": None, "mip_gap": None}
    if p.jobs and (exact == "always" or (exact == "auto" and milp_size(p) <= AUTO_EXACT_VARIABLES)):
        m = solve_milp(p, time_limit_s=milp_time_limit_s)
        optimality["status"] = m.status
        optimality["mip_gap"] = m.mip_gap
        if m.schedule or m.status == "optimal":
            m_ev = p.evaluate(crew_schedule(m.schedule))
            baselines["exact_milp"] = (m.schedule, m_ev)
            ref = max(abs(m_ev.weighted_ens_mwh), 1e-9)
            optimality["gap"] = (best_ev.weighted_ens_mwh - m_ev.weighted_ens_mwh) / ref
    unscheduled = [j.asset for j in p.jobs if j.asset not in best]
    return RestoreResult(scenario=p.model.sc.name, seed=p.seed, crews=p.crews, horizon_h=p.horizon_h,
                         schedule=best, objective=best_ev, method=method, baselines=baselines,
                         optimality=optimality, unscheduled=unscheduled,
                         stages=stages)
