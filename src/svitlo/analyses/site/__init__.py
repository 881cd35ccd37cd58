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
those listed in a candidates file), or with ``at="buses"`` buses: a generator at a bus is a grid-forming unit
(resilience hub) that carries the facilities of its bus when they lose the grid (:mod:`.hubs`); a bus's
facilities form one term of the objective, so greedy and the exact programme run over buses unchanged.

``quick=True`` answers from hour-0 sweeps instead of timelines: each scenario is the hour-0 strike held over
the horizon (no later waves, no repairs, no rolling outages), in sample and out of sample — cheaper, and
pessimistic wherever repairs would bring the grid back.

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
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from svitlo.analyses.site.hubs import bus_groups, hub_supply
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


def _hours_dark_cols(m: TimelineModel, smp: _Sample, fs: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Hours dark ``(N, len(fs))`` of facilities ``fs`` with their own backup, given grid supply ``on``
    ``(N, len(fs), H)`` (e.g. with a hub's supply added)."""
    s = m.spec
    assert s is not None
    spec = bk.BackupSpec(has_gen=s.has_gen[fs], tank_h=s.tank_h[fs], fail_prob=s.fail_prob[fs],
                         battery_cap_h=s.battery_cap_h[fs], recharge_h_per_h=s.recharge_h_per_h[fs],
                         run_fail_prob=None if s.run_fail_prob is None else s.run_fail_prob[fs])
    ids = [str(m.facilities.at[int(f), "id"]) for f in fs]
    masks = [np.isin(ids, _refuel_ids(m, i)) for i in range(len(m.refuel_masks))]
    amounts = [None if a is None else a[fs] for a in m.refuel_amounts]
    ph = backup_phase(spec, lambda h: on[:, :, h], np.ascontiguousarray(smp.draws[:, fs, :]),
                      None if smp.run_u is None else np.ascontiguousarray(smp.run_u[:, fs, :]), smp.rf_h,
                      masks, amounts, np.zeros(len(fs)), m.horizon_h)
    return ph["hours_dark"]


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
    at: str = "facilities"
    quick: bool = False

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` contract: ``at`` (``facilities`` or ``buses``: what ``where`` names),
        ``scenario_set`` (``timelines`` or ``hour0``), ``sites`` (``where, what, kw, kwh | fuel_h, count``), ``in_sample``,
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
        return {"format": SITE_FORMAT, "objective": "people_hours_without_facility_service", "at": self.at,
                "scenario_set": "hour0" if self.quick else "timelines", "sites": sites,
                "in_sample": self.in_sample, "out_of_sample": self.out_of_sample,
                "baselines": {k: v["after"] for k, v in self.baselines.items()},
                "baseline_details": self.baselines, "exact": self.exact}


def _mean_ci(x: np.ndarray) -> tuple[float, list[float]]:
    n = x.size
    m = float(x.mean()) if n else float("nan")
    half = 1.959963984540054 * float(x.std(ddof=1)) / math.sqrt(n) if n > 1 else float("nan")
    return m, [m - half, m + half]


def _bus_candidates(m: TimelineModel, candidates: list[str] | None, source: str | None) -> list[str]:
    if candidates is None:
        return list(dict.fromkeys(str(b) for b in m.facilities["bus"]))
    out = []
    for k, c in enumerate(candidates):
        try:
            cls, j = m.cg.asset(str(c))
        except Exception:
            cls, j = "", -1
        if cls != "bus":
            raise ScenarioError("not a bus of the grid (with --at buses, candidates are bus ids)", source=source,
                                field=f"candidates[{k}]", value=c)
        out.append(str(m.cg.bus_ids[j]))
    return out


def _hour0(m: TimelineModel) -> TimelineModel:
    """The scenario as an hour-0 sweep sees it: the hour-0 strike held over the horizon."""
    return replace(m, sc=m.sc.model_copy(update={"waves": [], "repairs": None, "rolling_outages": None}))


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
         workers: int | None = None, at: Literal["facilities", "buses"] = "facilities",
         quick: bool = False) -> SiteResult:
    """Place ``add`` units over the scenario's facilities or buses (see the module docstring).

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
        Facility ids (``at="facilities"``) or bus ids (``at="buses"``) allowed to receive units (default: all
        facilities; the buses hosting facilities).
    exact
        Also solve the sample-average problem exactly (dynamic programme); default when it takes at most
        200 site evaluations.
    workers
        Worker processes for the grid stories of the timelines (default: one per available core for 2,000
        timelines or more, :func:`svitlo.analyses.sweep.timeline_mc.auto_workers`; else this process).
    at
        ``"facilities"``: units join a facility's backup; ``"buses"``: generators are grid-forming hubs at buses
        (:mod:`svitlo.analyses.site.hubs`).
    quick
        Hour-0 sweeps instead of timelines (the hour-0 strike held over the horizon).

    Returns
    -------
    SiteResult
    """
    unit, count = parse_add(add) if isinstance(add, str) else add
    for name, v in (("n", n), ("n_out", n_out)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ScenarioError("must be a positive integer", field=name, value=v)
    if at not in ("facilities", "buses"):
        raise ScenarioError("expected 'facilities' or 'buses'", field="--at", value=at)
    if at == "buses" and unit.what != "generator":
        raise ScenarioError("a unit at a bus is a grid-forming generator (e.g. 'generator:500kW/48h'); batteries "
                            "are placed at facilities", field="--add", value=add if isinstance(add, str) else unit.what)
    if model is None:
        from svitlo.pipeline import prepare

        model = timeline_model(prepare(grid, scenario))
    m = _hour0(model) if quick else model
    if not len(m.facilities):
        raise ScenarioError("the scenario has no facilities to place backup at", field="facilities", value=None)
    root = m.sc.seed if root_seed is None else int(root_seed)
    pop = m.facilities["population"].to_numpy(float)
    tier1 = m.facilities["tier"].to_numpy(int) == 1
    names: list[str]
    if at == "buses":
        groups = bus_groups(m.facilities["bus"].to_numpy(), m.facilities["tier"].to_numpy(int), pop)
        names = _bus_candidates(m, candidates, candidates_source)
        cols = [groups.get(b, np.zeros(0, np.int64)) for b in names]
        dem = m.facilities["demand_kw"].to_numpy(float)
        kw = float(unit.kw or 0.0)

        def hours(smp: _Sample, base: np.ndarray, i: int, k: int) -> np.ndarray:
            fs = cols[i]
            if k == 0 or not fs.size:
                return base[:, fs]
            on = smp.on[:, fs, :]
            hub = hub_supply(on, demand_kw=dem[fs], order=np.arange(fs.size), kw=k * kw,
                             kwh=k * kw * float(unit.fuel_h or 0.0))
            return _hours_dark_cols(m, smp, fs, on | hub)
    else:
        idx = _candidates(m, candidates, candidates_source)
        names = [str(m.facilities.at[f, "id"]) for f in idx]
        cols = [np.array([f]) for f in idx]

        def hours(smp: _Sample, base: np.ndarray, i: int, k: int) -> np.ndarray:
            f = int(cols[i][0])
            return base[:, [f]] if k == 0 else _hours_dark(m, smp, f, unit, k)[:, None]
    sites = list(range(len(names)))
    ins = _sample(m, scenario_seeds(root, 0, n), workers)
    base_in = np.stack([_hours_dark(m, ins, f, unit, 0) for f in range(len(pop))], axis=1)
    table: dict[tuple[int, int], float] = {}

    def obj_f(i: int, k: int) -> float:   # expected people-hours without service at site i with k units
        if (i, k) not in table:
            table[(i, k)] = float((hours(ins, base_in, i, k) @ pop[cols[i]]).mean()) if cols[i].size else 0.0
        return table[(i, k)]

    # greedy with lazy evaluation: only the site that got a unit needs a new gain
    placed: dict[int, int] = {}
    heap = [(-(obj_f(i, 0) - obj_f(i, 1)), i) for i in sites]
    heapq.heapify(heap)
    for _ in range(count):
        if not heap:
            break
        g, i = heapq.heappop(heap)
        placed[i] = placed.get(i, 0) + 1
        k = placed[i]
        heapq.heappush(heap, (-(obj_f(i, k) - obj_f(i, k + 1)), i))
    before_in = float((base_in @ pop).mean())
    after_in = before_in - sum(obj_f(i, 0) - obj_f(i, k) for i, k in placed.items())
    exact_info: dict[str, Any] = {"status": "not_run"}
    if exact or (exact is None and len(sites) * (count + 1) <= 200):
        best = _exact(sites, count, obj_f)
        exact_after = before_in - sum(obj_f(i, 0) - obj_f(i, k) for i, k in best.items())
        exact_info = {"status": "optimal", "in_sample_after": exact_after,
                      "gap": (after_in - exact_after) / max(abs(before_in - exact_after), 1e-12),
                      "sites": {names[i]: k for i, k in best.items() if k}}
    # out of sample, paired on the same fresh timelines
    out = _sample(m, scenario_seeds(root, n, n + n_out), workers)
    base_out = np.stack([_hours_dark(m, out, f, unit, 0) for f in range(len(pop))], axis=1)

    def hours_with(plan: dict[int, int]) -> np.ndarray:
        h = base_out.copy()
        for i, k in plan.items():
            if k and cols[i].size:
                h[:, cols[i]] = hours(out, base_out, i, k)
        return h

    before = base_out @ pop
    hours_after = hours_with(placed)
    after = hours_after @ pop
    b_mean, b_ci = _mean_ci(before)
    a_mean, a_ci = _mean_ci(after)
    d_mean, d_ci = _mean_ci(before - after)
    # baselines
    p_dark = (base_in > 0).mean(axis=0)
    site_pop = [float(pop[c].sum()) for c in cols]
    site_dark = [float(p_dark[c].max()) if c.size else 0.0 for c in cols]
    orders = {"largest_population_first": sorted(sites, key=lambda i: (-site_pop[i], i)),
              "most_often_dark_first": sorted(sites, key=lambda i: (-site_dark[i], -site_pop[i], i))}
    baselines = {}
    for name, order in orders.items():
        plan: dict[int, int] = {}
        for j in range(count):
            i = order[j % len(order)]
            plan[i] = plan.get(i, 0) + 1
        am, aci = _mean_ci(hours_with(plan) @ pop)
        baselines[name] = {"after": am, "ci95": aci, "sites": {names[i]: k for i, k in plan.items()}}
    crit_before = float(base_out[:, tier1].sum(axis=1).mean())
    crit_after = float(hours_after[:, tier1].sum(axis=1).mean())
    fac = m.facilities[["id", "kind", "name", "bus", "population", "tier"]].copy()
    fac["p_dark_in_sample"] = p_dark
    units = np.zeros(len(pop), np.int64)
    for i, k in placed.items():
        units[cols[i]] = k if at == "facilities" else 0
    fac["units"] = units
    if at == "buses":
        fac["hub_units"] = [next((k for i, k in placed.items() if f in cols[i]), 0) for f in range(len(pop))]
    fac["hours_dark_before"] = base_out.mean(axis=0)
    fac["hours_dark_after"] = hours_after.mean(axis=0)
    return SiteResult(
        unit=unit, count=count, placement={names[i]: k for i, k in placed.items()},
        in_sample={"n": n, "before": before_in, "after": after_in},
        out_of_sample={"n": n_out, "before": b_mean, "after": a_mean, "ci95": a_ci, "before_ci95": b_ci,
                       "improvement": d_mean, "improvement_ci95": d_ci,
                       "critical_facility_hours_dark_before": crit_before,
                       "critical_facility_hours_dark_after": crit_after},
        baselines=baselines, exact=exact_info, facilities=fac, at=at, quick=quick)


def _exact(cand: list[int], count: int, obj_f: Any) -> dict[int, int]:
    """Exact allocation of ``count`` units over the candidate sites minimising the summed objective (DP)."""
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
