"""Backup siting: where added generators or batteries keep the most people served over a scenario set.

The scenario set is a timeline Monte Carlo of the scenario (seeds ``scenario_seed(root, i)``, as
``svitlo sweep --timeline``). Grid supply does not depend on facility backup, so every timeline's grid story is
simulated once (:func:`svitlo.simulation.fast.grid_paths`) and a plan is evaluated by re-running only the
backup of the facilities it touches, with the same draws (:func:`svitlo.simulation.fast.backup_phase`).

Objective: **people-hours without facility service**, ``sum_f population_f * E[hours dark_f]`` over the horizon
(critical facility-hours dark — tier-1 facilities — are reported beside it). Because each facility's backup runs
on its own, the objective is a sum over facilities of a function of the units placed there, so

* **greedy with lazy evaluation** places units one at a time where the expected reduction is largest,
  re-evaluating only the facility that just received a unit (the others' gains are unchanged); and
* the **exact** sample-average optimum (``exact=True``, small sets) is a dynamic programme over facilities on
  the table ``objective_f(k units)`` — the same optimum a sample-average MILP would give, computed exactly.

Every plan is then evaluated **out of sample** on fresh seeds (``i >= n``) with a 95 % confidence interval of
the mean, beside the baselines ``largest_population_first`` and ``most_often_dark_first`` (one unit per
facility in that order, again from the top when units remain). Candidates are the scenario's facilities (or
those listed in a candidates file); siting at buses (grid-forming units) is not covered.

Examples
--------
A hospital (50,000 people, 500 kW) on a destroyed bus, with 2 h of fuel, over 12 h: a 1,000 kWh battery gives
it 2 more hours.

>>> sc = {"grid": "case9", "horizon_h": 12, "strikes": [{"assets": ["bus:4"]}],
...       "facilities": [{"id": "h", "kind": "hospital", "bus": "bus:4", "fuel_h": 2, "gen_fail_prob": 0},
...                      {"id": "w", "kind": "water", "bus": "bus:1"}]}
>>> r = site(sc, add="battery:1000kWh", n=4, n_out=4)
>>> r.placement, r.to_dict()["out_of_sample"]["before"], r.to_dict()["out_of_sample"]["after"]
({'h': 1}, 500000.0, 400000.0)
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from svitlo.analyses.site.units import NEW_GEN_FAIL_PROB, Unit, parse_add
from svitlo.analyses.sweep.plan import scenario_seeds
from svitlo.errors import ScenarioError
from svitlo.facilities import backup as bk
from svitlo.facilities.defaults import BATTERY_RECHARGE_H
from svitlo.simulation.fast import TimelineModel, backup_phase, facility_draws, timeline_model

__all__ = ["site", "SiteResult", "parse_add", "Unit", "SITE_FORMAT"]

#: Version of the JSON contract of :meth:`SiteResult.to_dict` (``docs/contracts.md``).
SITE_FORMAT = "svitlo-site/1"


@dataclass(eq=False)
class _Sample:
    """Grid supply and draws of a set of timelines."""

    on: np.ndarray        # (N, F, H) bool
    draws: np.ndarray     # (N, F, H + 1)
    run_u: np.ndarray | None
    rf_h: np.ndarray


def _sample(m: TimelineModel, seeds: np.ndarray, workers: int | None = None) -> _Sample:
    from svitlo.analyses.sweep.timeline_mc import parallel_grid_paths

    on = parallel_grid_paths(m, seeds, workers=workers)
    draws, run_u, rf_h = facility_draws(m, seeds)
    return _Sample(on=on, draws=draws, run_u=run_u, rf_h=rf_h)


def _spec_with(m: TimelineModel, f: int, unit: Unit, k: int) -> bk.BackupSpec:
    """Backup spec of facility ``f`` alone with ``k`` units added."""
    s = m.spec
    assert s is not None
    demand_kw = float(m.facilities.at[f, "demand_kw"])
    has_gen, tank, fail = bool(s.has_gen[f]), float(s.tank_h[f]), float(s.fail_prob[f])
    cap = float(s.battery_cap_h[f])
    if k and unit.what == "generator":
        tank = (tank if has_gen else 0.0) + k * float(unit.fuel_h or 0.0)
        fail = (fail if has_gen else 1.0) * NEW_GEN_FAIL_PROB ** k
        has_gen = True
    elif k and unit.what == "battery":
        cap += k * float(unit.kwh or 0.0) / demand_kw
    rfp = None if s.run_fail_prob is None else s.run_fail_prob[f:f + 1]
    return bk.BackupSpec(has_gen=np.array([has_gen]), tank_h=np.array([tank]), fail_prob=np.array([fail]),
                         battery_cap_h=np.array([cap]), recharge_h_per_h=np.array([cap / BATTERY_RECHARGE_H]),
                         run_fail_prob=rfp)


def _hours_dark(m: TimelineModel, smp: _Sample, f: int, unit: Unit, k: int) -> np.ndarray:
    """Hours dark of facility ``f`` in every timeline of the sample with ``k`` units added (N,)."""
    spec = _spec_with(m, f, unit, k)
    fid = str(m.facilities.at[f, "id"])
    masks = [np.array([fid in _refuel_ids(m, i)]) for i in range(len(m.refuel_masks))]
    amounts = [None if a is None else a[f:f + 1] for a in m.refuel_amounts]
    ph = backup_phase(spec, lambda h: smp.on[:, f:f + 1, h], np.ascontiguousarray(smp.draws[:, f:f + 1, :]),
                      None if smp.run_u is None else np.ascontiguousarray(smp.run_u[:, f:f + 1, :]), smp.rf_h,
                      masks, amounts, np.zeros(1), m.horizon_h)
    return ph["hours_dark"][:, 0]


def _refuel_ids(m: TimelineModel, k: int) -> list[str]:
    """Facilities a refuel reaches by id or kind (an added generator is refuelled like the facility's own)."""
    rf = m.sc.refuel[k]
    fac = m.facilities
    return [str(x) for x in fac["id"][np.isin(fac["id"], rf.facilities) | np.isin(fac["kind"], rf.kinds)]]


@dataclass(frozen=True, eq=False)
class SiteResult:
    """A siting plan, its in-sample and out-of-sample objective, and the baselines (see :meth:`to_dict`)."""

    unit: Unit
    count: int
    placement: dict[str, int]
    in_sample: dict[str, float]
    out_of_sample: dict[str, Any]
    baselines: dict[str, dict[str, Any]]
    exact: dict[str, Any]
    facilities: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` contract: ``sites`` (``where, what, kw, kwh | fuel_h, count``), ``in_sample``,
        ``out_of_sample`` (``n, before, after, ci95``), ``baselines`` (name -> out-of-sample ``after``), ``exact``.
        Objective values are expected people-hours without facility service per timeline."""
        sites = []
        for where, k in self.placement.items():
            row: dict[str, Any] = {"where": where, "what": self.unit.what, "count": k, "kw": self.unit.kw}
            if self.unit.what == "generator":
                row["fuel_h"] = self.unit.fuel_h
            else:
                row["kwh"] = self.unit.kwh
            sites.append(row)
        return {"format": SITE_FORMAT, "objective": "people_hours_without_facility_service", "sites": sites,
                "in_sample": self.in_sample, "out_of_sample": self.out_of_sample,
                "baselines": {k: v["after"] for k, v in self.baselines.items()},
                "baseline_details": self.baselines, "exact": self.exact}


def _mean_ci(x: np.ndarray) -> tuple[float, list[float]]:
    n = x.size
    m = float(x.mean()) if n else float("nan")
    half = 1.959963984540054 * float(x.std(ddof=1)) / math.sqrt(n) if n > 1 else float("nan")
    return m, [m - half, m + half]


def _candidates(m: TimelineModel, candidates: list[str] | None, source: str | None) -> list[int]:
    ids = [str(x) for x in m.facilities["id"]]
    if candidates is None:
        return list(range(len(ids)))
    out = []
    for k, c in enumerate(candidates):
        if str(c) not in ids:
            raise ScenarioError("not a facility of this scenario (candidates are facility ids)", source=source,
                                field=f"candidates[{k}]", value=c)
        out.append(ids.index(str(c)))
    return out


def _objective(m: TimelineModel, smp: _Sample, plan: dict[int, int], unit: Unit, pop: np.ndarray,
               base: np.ndarray) -> np.ndarray:
    """People-hours without facility service per timeline (N,) for ``plan`` (facility -> units)."""
    hours = base.copy()
    for f, k in plan.items():
        if k:
            hours[:, f] = _hours_dark(m, smp, f, unit, k)
    return hours @ pop


def site(scenario: Any, *, add: str | tuple[Unit, int], n: int = 200, n_out: int = 200,
         root_seed: int | None = None, candidates: list[str] | None = None, candidates_source: str | None = None,
         exact: bool | None = None, grid: Any = None, model: TimelineModel | None = None,
         workers: int | None = None) -> SiteResult:
    """Place ``add`` units over the scenario's facilities (see the module docstring).

    Parameters
    ----------
    scenario
        A scenario (dict, YAML path or :class:`~svitlo.scenarios.spec.Scenario`) with ``facilities``.
    add
        An ``--add`` spec (:func:`~svitlo.analyses.site.units.parse_add`) or ``(unit, count)``.
    n, n_out
        In-sample and out-of-sample timelines (out of sample: fresh seeds ``n … n + n_out - 1``).
    root_seed
        Root of the timeline seeds (default: the scenario's seed).
    candidates
        Facility ids allowed to receive units (default: all).
    exact
        Also solve the sample-average problem exactly (dynamic programme); default when it takes at most
        200 facility evaluations.
    workers
        Worker processes for the grid stories of the timelines (default: this process).

    Returns
    -------
    SiteResult
    """
    unit, count = parse_add(add) if isinstance(add, str) else add
    for name, v in (("n", n), ("n_out", n_out)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ScenarioError("must be a positive integer", field=name, value=v)
    if model is None:
        from svitlo.pipeline import prepare

        model = timeline_model(prepare(grid, scenario))
    m = model
    if not len(m.facilities):
        raise ScenarioError("the scenario has no facilities to place backup at", field="facilities", value=None)
    cand = _candidates(m, candidates, candidates_source)
    root = m.sc.seed if root_seed is None else int(root_seed)
    pop = m.facilities["population"].to_numpy(float)
    tier1 = m.facilities["tier"].to_numpy(int) == 1
    ins = _sample(m, scenario_seeds(root, 0, n), workers)
    base_in = np.stack([_hours_dark(m, ins, f, unit, 0) for f in range(len(pop))], axis=1)
    table: dict[tuple[int, int], float] = {}

    def obj_f(f: int, k: int) -> float:   # expected people-hours without service at facility f with k units
        if (f, k) not in table:
            h = base_in[:, f] if k == 0 else _hours_dark(m, ins, f, unit, k)
            table[(f, k)] = float(pop[f] * h.mean())
        return table[(f, k)]

    # greedy with lazy evaluation: only the facility that got a unit needs a new gain
    placed: dict[int, int] = {}
    heap = [(-(obj_f(f, 0) - obj_f(f, 1)), f) for f in cand]
    heapq.heapify(heap)
    for _ in range(count):
        if not heap:
            break
        g, f = heapq.heappop(heap)
        placed[f] = placed.get(f, 0) + 1
        k = placed[f]
        heapq.heappush(heap, (-(obj_f(f, k) - obj_f(f, k + 1)), f))
    before_in = float((base_in @ pop).mean())
    after_in = before_in - sum(obj_f(f, 0) - obj_f(f, k) for f, k in placed.items())
    exact_info: dict[str, Any] = {"status": "not_run"}
    if exact or (exact is None and len(cand) * (count + 1) <= 200):
        best = _exact(cand, count, obj_f)
        exact_after = before_in - sum(obj_f(f, 0) - obj_f(f, k) for f, k in best.items())
        exact_info = {"status": "optimal", "in_sample_after": exact_after,
                      "gap": (after_in - exact_after) / max(abs(before_in - exact_after), 1e-12),
                      "sites": {str(m.facilities.at[f, "id"]): k for f, k in best.items() if k}}
    # out of sample, paired on the same fresh timelines
    out = _sample(m, scenario_seeds(root, n, n + n_out), workers)
    base_out = np.stack([_hours_dark(m, out, f, unit, 0) for f in range(len(pop))], axis=1)
    before = base_out @ pop
    after = _objective(m, out, placed, unit, pop, base_out)
    b_mean, b_ci = _mean_ci(before)
    a_mean, a_ci = _mean_ci(after)
    d_mean, d_ci = _mean_ci(before - after)
    # baselines
    p_dark = (base_in > 0).mean(axis=0)
    orders = {"largest_population_first": sorted(cand, key=lambda f: (-pop[f], f)),
              "most_often_dark_first": sorted(cand, key=lambda f: (-p_dark[f], -pop[f], f))}
    baselines = {}
    for name, order in orders.items():
        plan: dict[int, int] = {}
        for i in range(count):
            f = order[i % len(order)]
            plan[f] = plan.get(f, 0) + 1
        a = _objective(m, out, plan, unit, pop, base_out)
        am, aci = _mean_ci(a)
        baselines[name] = {"after": am, "ci95": aci,
                           "sites": {str(m.facilities.at[f, "id"]): k for f, k in plan.items()}}
    crit_before = float(base_out[:, tier1].sum(axis=1).mean())
    hours_after = base_out.copy()
    for f, k in placed.items():
        hours_after[:, f] = _hours_dark(m, out, f, unit, k)
    crit_after = float(hours_after[:, tier1].sum(axis=1).mean())
    fac = m.facilities[["id", "kind", "name", "population", "tier"]].copy()
    fac["p_dark_in_sample"] = p_dark
    fac["units"] = [placed.get(f, 0) for f in range(len(pop))]
    fac["hours_dark_before"] = base_out.mean(axis=0)
    fac["hours_dark_after"] = hours_after.mean(axis=0)
    return SiteResult(
        unit=unit, count=count, placement={str(m.facilities.at[f, "id"]): k for f, k in placed.items()},
        in_sample={"n": n, "before": before_in, "after": after_in},
        out_of_sample={"n": n_out, "before": b_mean, "after": a_mean, "ci95": a_ci, "before_ci95": b_ci,
                       "improvement": d_mean, "improvement_ci95": d_ci,
                       "critical_facility_hours_dark_before": crit_before,
                       "critical_facility_hours_dark_after": crit_after},
        baselines=baselines, exact=exact_info, facilities=fac)


def _exact(cand: list[int], count: int, obj_f: Any) -> dict[int, int]:
    """Exact allocation of ``count`` units over the candidates minimising the summed objective (DP)."""
    best = {0: (0.0, {})}   # units used -> (reduction, plan)
    for f in cand:
        nxt: dict[int, tuple[float, dict[int, int]]] = {}
        for used, (red, plan) in best.items():
            for k in range(count - used + 1):
                r = red + obj_f(f, 0) - obj_f(f, k)
                u = used + k
                if u not in nxt or r > nxt[u][0] + 1e-12:
                    nxt[u] = (r, {**plan, f: k} if k else plan)
        best = nxt
    return max(best.values(), key=lambda x: x[0])[1]
