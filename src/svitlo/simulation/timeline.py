"""The timeline: a strike scenario hour by hour — waves, repairs, backups running down, rolling outages.

:func:`run_timeline` (through :func:`svitlo.simulate`) steps through ``horizon_h`` hours (default 72). At the start of hour ``h``, in this order:
repairs due at ``h`` finish, strikes of waves at ``h`` land (hour 0: the top-level ``strikes:``), free crews take
new jobs (:mod:`svitlo.simulation.repairs`, or any :class:`~svitlo.simulation.repairs.RepairPolicy`), fuel deliveries arrive. The grid state (islands, dispatch, shedding,
DC flows) is evaluated with :func:`svitlo.engine.state.evaluate_state` only when the damage or the rolling
outage plan changes (:mod:`svitlo.simulation.rolling`); every facility then steps through the hour on grid power
or on its backup (:mod:`svitlo.facilities.backup`). The grid state holds for the whole hour.

Facilities are part of their bus's load (:mod:`svitlo.facilities.attach`): each gets a carved load with its
tier, so shedding spares critical facilities last.

Damage (:mod:`svitlo.scenarios.outcome`): a strike leaves each asset it hits in a damage state that puts some
assets out of service (a lightly damaged substation loses some bays, a destroyed one everything on it) and sets
its repair: crew hours, after a wait for a spare where the state needs one (:mod:`svitlo.simulation.repair_times`).
A facility damaged by a geographic strike is ``damaged`` until its sampled repair is done (no grid crew needed):
it draws no power, runs no backup and does not work (``damaged_facilities``; telecom coverage).

Metrics per hour (``Timeline.hourly``): ``load_mw``, ``served_mw``, ``shed_mw`` (grid, MW); ``ens_mwh`` and
``ens_weighted_mwh`` — energy not served *in that hour* (MWh, weighted by tier as in
:func:`svitlo.engine.impact.default_tier_weights`), ``ens_cum_mwh`` the running total; ``people_without_power``;
``critical_load_mw`` (tier-1 demand) and ``critical_served_mw`` (tier-1 demand served by the grid, plus the
carved demand of tier-1 facilities running on their own backup — the resilience curve); ``critical_grid_mw``
(tier-1 demand served by the grid alone, backups not counted: the planner's measure); ``telecom_coverage``
(share of telecom facilities neither dark nor damaged; NaN without any); ``damaged_facilities``; ``islands``,
``energised_islands``; ``pickup_mw`` (the cold-load pickup's surge within ``served_mw`` with viability on;
``load_mw``, ``shed_mw`` and the ENS stay in normal demand, :mod:`svitlo.simulation.pickup`); ``dark_<kind>``.

Examples
--------
>>> import svitlo
>>> tl = svitlo.simulate("case9", {"strikes": [{"assets": ["line:3"]}], "horizon_h": 6,
...                         "repairs": {"crews": 1, "durations_h": {"line": 3}}})
>>> tl.hourly["islands"].tolist()
[2, 2, 2, 1, 1, 1]
>>> tl.events[["hour", "kind", "subject"]].values.tolist()
[[0, 'strike', 'line:3'], [3, 'repair', 'line:3']]
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from svitlo.engine.cascade import cascade_settings
from svitlo.engine.impact import Impact
from svitlo.engine.state import intact_flows
from svitlo.engine.viability import viability_options
from svitlo.errors import ScenarioError
from svitlo.facilities import backup as bk
from svitlo.facilities.supply import facility_index
from svitlo.model.compiled import CompiledGrid
from svitlo.model.serialize import jsonable, records
from svitlo.scenarios.dispatch_spec import dispatch_options, tier_weights
from svitlo.scenarios.outcome import FacilityTargets
from svitlo.scenarios.spec import Scenario
from svitlo.simulation.events import EVENT_KINDS, EventLog
from svitlo.simulation.repairs import RepairPolicy, assign_crews, repair_durations
from svitlo.simulation.rolling import queue_of_loads
from svitlo.simulation.sampling import refuel_hours, repair_sampler, run_fail_prob
from svitlo.simulation.steps import (
    FACILITY_STATES,
    Hourly,
    SimContext,
    SimState,
    deliver_fuel,
    finish_repairs,
    land_strikes,
    record_hour,
    solve_grid,
    start_repairs,
    step_facilities,
)

__all__ = ["Timeline", "run_timeline", "EVENT_KINDS", "TIMELINE_FORMAT", "RepairPolicy"]

#: Version of the JSON contract of :meth:`Timeline.to_dict` (``docs/contracts.md``).
TIMELINE_FORMAT = "svitlo-timeline/1"
#: Columns of ``Timeline.damage``.
DAMAGE_COLUMNS = ["hour", "asset", "state", "out", "wait_h", "repair_h"]

_FAC_COLUMNS = ["id", "kind", "name", "bus", "lat", "lon", "population", "tier", "demand_kw"]


@dataclass(frozen=True, eq=False)
class Timeline:
    """A scenario hour by hour. Build with :func:`simulate`; see the module docstring for the metrics.

    Attributes
    ----------
    hourly
        One row per hour ``0..horizon_h-1``.
    facilities
        One row per facility: ``id, kind, name, bus, lat, lon, population, tier, demand_kw,
        hours_until_dark`` (h from the start, fractional; NaN if never dark), ``hours_dark``, ``hours_on_backup``
        (h within the horizon), and more (``load``, ``gen_kw``, ``fuel_h``, ``battery_kwh``, ...).
    facility_states
        Index facility id, columns hours: ``grid`` / ``backup`` / ``dark`` (state at the start of the hour).
    backup_left_h
        Same shape: hours of backup left at the end of each hour, at the facility's demand.
    bus_energised, bus_island
        Index bus id, columns hours: energised (bool), island label (int, -1 = destroyed bus).
    branch_in_service
        Index branch id, columns hours (bool).
    events
        ``hour, kind, subject, text`` (kinds in :data:`EVENT_KINDS`).
    impacts
        The full grid state at every hour where the damage or the rolling plan changed (always hour 0).
    damage
        One row per asset or facility hit: ``hour, asset, state`` (a damage state, or ``damaged`` for a
        facility), ``out`` (asset ids put out of service, ``;``-joined), ``wait_h`` (for a spare), ``repair_h``.
    """

    scenario: str
    grid: str
    horizon_h: int
    hourly: pd.DataFrame
    facilities: pd.DataFrame
    facility_states: pd.DataFrame
    backup_left_h: pd.DataFrame
    bus_energised: pd.DataFrame
    bus_island: pd.DataFrame
    branch_in_service: pd.DataFrame
    events: pd.DataFrame
    impacts: dict[int, Impact] = field(default_factory=dict)
    damage: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DAMAGE_COLUMNS))

    def _matrices(self) -> dict[str, pd.DataFrame]:
        return {"facility_states": self.facility_states, "backup_left_h": self.backup_left_h,
                "bus_energised": self.bus_energised, "bus_island": self.bus_island,
                "branch_in_service": self.branch_in_service}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: names, ``hourly``/``facilities``/``events`` as records, each per-hour matrix as
        ``{id: [value per hour]}``, and ``impacts`` as ``{hour: Impact.to_dict()}``."""
        out: dict[str, Any] = {"format": TIMELINE_FORMAT, "scenario": self.scenario, "grid": self.grid, "horizon_h": self.horizon_h,
                               "hourly": records(self.hourly), "facilities": records(self.facilities),
                               "events": records(self.events), "damage": records(self.damage)}
        for name, df in self._matrices().items():
            out[name] = {str(i): jsonable(row.tolist()) for i, row in zip(df.index, df.to_numpy())}
        out["impacts"] = {str(h): imp.to_dict() for h, imp in self.impacts.items()}
        return out

    def to_json(self, **kw: Any) -> str:
        """One JSON object (see :meth:`to_dict`); non-finite numbers become ``null``."""
        return json.dumps(self.to_dict(), allow_nan=False, **kw)

    def write_parquet(self, directory: str | os.PathLike) -> list[Path]:
        """Write ``hourly``, ``facilities``, ``events`` and the per-hour matrices (index as column ``id``,
        hour columns named ``"0".."H-1"``) as Parquet, each impact under ``impacts/hour_<h>/``, and
        ``timeline.json`` (names and horizon) into ``directory``."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        written = []
        for name, df in {"hourly": self.hourly, "facilities": self.facilities, "events": self.events,
                         "damage": self.damage}.items():
            p = d / f"{name}.parquet"
            df.to_parquet(p, index=False)
            written.append(p)
        for name, df in self._matrices().items():
            m = df.copy()
            m.columns = [str(c) for c in m.columns]
            m.insert(0, "id", m.index.astype(str))
            p = d / f"{name}.parquet"
            m.reset_index(drop=True).to_parquet(p, index=False)
            written.append(p)
        for h, imp in self.impacts.items():
            written += imp.write_parquet(d / "impacts" / f"hour_{h}")
        meta = d / "timeline.json"
        meta.write_text(json.dumps({"scenario": self.scenario, "grid": self.grid, "horizon_h": self.horizon_h,
                                    "impact_hours": sorted(self.impacts)}, indent=2))
        written.append(meta)
        return written


def _empty_facilities() -> pd.DataFrame:
    cols = _FAC_COLUMNS + ["load", "gen_kw", "fuel_h", "gen_fail_prob", "battery_kwh", "grid_load", "grid_load_mw"]
    return pd.DataFrame({c: pd.Series(dtype=object if c in ("id", "kind", "name", "bus", "load", "grid_load")
                                      else float) for c in cols})


def run_timeline(cg: CompiledGrid, sc: Scenario, facilities: pd.DataFrame | None, *, seed: int,
                 repair_policy: RepairPolicy | None = None, use_strike_seeds: bool = True,
                 grid: Any = None) -> Timeline:
    """Step a prepared grid through the scenario's hours (pure; see the module docstring for the order of events).

    Parameters
    ----------
    cg
        The compiled grid (after the scenario's tiers, facility loads carved).
    sc
        The validated scenario.
    facilities
        The facility table attached to the grid (``None``: no facilities).
    seed
        Seed of random and geographic strikes, of generator start and breakdown draws, of random repair durations
        and refuel delays (:mod:`svitlo.simulation.sampling`).
    repair_policy
        Which repairs free crews start each hour (default :func:`svitlo.simulation.repairs.assign_crews`).
    use_strike_seeds
        ``False``: strikes with a ``seed`` of their own draw from ``seed`` too (as in a Monte Carlo).
    grid
        The :class:`~svitlo.model.grid.Grid` ``cg`` was compiled from (needed by ``ac_check``).
    """
    policy: RepairPolicy = assign_crews if repair_policy is None else repair_policy
    fac = _empty_facilities() if facilities is None else facilities.reset_index(drop=True)
    ctx = replace(_context(cg, sc, fac, seed=seed, policy=policy, use_strike_seeds=use_strike_seeds),
                  cascade=cascade_settings(sc.cascade), grid=grid)
    n_f, H = len(fac), ctx.horizon_h
    st = SimState(backup=bk.initial_state(ctx.spec) if ctx.spec else None, prev=np.zeros(n_f, np.int64),
                  lost_at=np.zeros(n_f), until=np.full(n_f, np.nan), on_backup_h=np.zeros(n_f), dark_h=np.zeros(n_f),
                  off=np.zeros(cg.n_load, dtype=bool), stock={str(k): int(v) for k, v in sc.damage.spares.items()}, damaged_h=np.zeros(n_f))
    hourly = Hourly(ctx)
    ev = EventLog()
    for h in range(H):
        changed = finish_repairs(ctx, st, h, ev)
        changed = land_strikes(ctx, st, h, ev) or changed or h == 0
        start_repairs(ctx, st, h)
        deliver_fuel(ctx, st, h, ev)
        solve_grid(ctx, st, h, changed, ev, hourly)
        step_facilities(ctx, st, h, ev, hourly)
        record_hour(ctx, st, h, hourly)
    return _timeline(ctx, st, hourly, ev)


def _context(cg: CompiledGrid, sc: Scenario, fac: pd.DataFrame, *, seed: int, policy: RepairPolicy,
             use_strike_seeds: bool = True) -> SimContext:
    rep = sc.repairs
    explicit: dict[str, int] = {}
    for k, e in enumerate(rep.explicit if rep else []):
        try:
            cls, j = cg.asset(e.asset)
        except Exception:
            raise ScenarioError(f"unknown asset id in grid {cg.name!r}", source="scenario",
                                field=f"repairs.explicit[{k}].asset", value=e.asset) from None
        explicit[str({"bus": cg.bus_ids, "branch": cg.branch_ids, "gen": cg.gen_ids,
                      "load": cg.load_ids}[cls][j])] = int(e.done_h)
    flows_cache: list[np.ndarray] = []

    def flows() -> np.ndarray:
        if not flows_cache:
            flows_cache.append(intact_flows(cg))
        return flows_cache[0]

    ro = sc.rolling_outages
    if len(fac):  # every delivery checked before the first hour (litres need a consumption rate)
        from svitlo.simulation.steps import _refuel_mask

        for k, rf in enumerate(sc.refuel):
            bk.refuel_amount_h(fac, _refuel_mask(fac, rf, k), fuel_h=rf.fuel_h, fuel_l=rf.fuel_l,
                               field=f"refuel[{k}]", source=sc.source or "scenario")
    weights = tier_weights(sc.dispatch)
    H = int(sc.horizon_h)
    return SimContext(
        cg=cg, sc=sc, fac=fac, seed=int(seed), horizon_h=H, policy=policy, tier_weights=weights,
        opf_options=dispatch_options(sc.dispatch, sc.mode),
        durations=repair_durations(_median_durations(rep.durations_h) if rep and rep.durations_h else None),
        explicit=explicit, order=[str(cg.aliases.get(o, o)) for o in (rep.order if rep else [])],
        spec=replace(bk.backup_spec(fac), run_fail_prob=run_fail_prob(fac, sc.gen_mttf_h)) if len(fac) else None,
        draws=bk.start_draws(seed, len(fac), H + 1), fidx=facility_index(fac, cg),
        queue=queue_of_loads(cg.load_tier, n_queues=ro.queues, exempt_tiers=ro.exempt_tiers) if ro else None,
        intact_flows=flows, use_strike_seeds=use_strike_seeds, sample_repair=repair_sampler(cg, sc, seed),
        refuel_at=tuple(refuel_hours(sc, seed)),
        run_u=bk.run_draws(seed, len(fac), H) if sc.gen_mttf_h is not None and len(fac) else None,
        targets=_facility_targets(cg, fac) if len(fac) else None,
        user_kinds=frozenset(str(k) for k in rep.durations_h) if rep else frozenset(),
        viability=viability_options(sc))


def _median_durations(durations: Mapping[Any, Any]) -> dict[str, float]:
    """Hours per asset kind: a fixed number, or a random duration's median."""
    return {str(k): float(v.median_h if hasattr(v, "median_h") else v) for k, v in durations.items()}


def _facility_targets(cg: CompiledGrid, fac: pd.DataFrame) -> FacilityTargets:
    """Facility positions for geographic strikes: their own lat/lon, else their bus's."""
    lat, lon = fac["lat"].to_numpy(float), fac["lon"].to_numpy(float)
    pos = {str(b): i for i, b in enumerate(cg.bus_ids)}
    b = np.array([pos.get(str(x), -1) for x in fac["bus"]], dtype=np.int64)
    has = b >= 0
    lat = np.where(np.isfinite(lat) | ~has, lat, cg.bus_lat[np.maximum(b, 0)])
    lon = np.where(np.isfinite(lon) | ~has, lon, cg.bus_lon[np.maximum(b, 0)])
    return FacilityTargets(fac["id"].to_numpy(object), lat, lon, fac["kind"].to_numpy(object))


def _timeline(ctx: SimContext, st: SimState, hourly: Hourly, ev: EventLog) -> Timeline:
    """The Timeline tables, built once from the recorded arrays."""
    cg, fac, H = ctx.cg, ctx.fac, ctx.horizon_h
    hours = list(range(H))
    ids = fac["id"].to_numpy(dtype=object)
    facilities = fac[_FAC_COLUMNS].copy()
    facilities["hours_until_dark"] = st.until
    facilities["hours_dark"] = st.dark_h
    facilities["hours_on_backup"] = st.on_backup_h
    facilities["hours_damaged"] = st.damaged_h
    for c in ("load", "gen_kw", "fuel_h", "gen_fail_prob", "battery_kwh", "grid_load", "grid_load_mw"):
        facilities[c] = fac[c].to_numpy()
    facilities["generator_failed_to_start"] = (_ever_failed(ctx.spec, ctx.draws, st.backup)
                                               if ctx.spec is not None and st.backup is not None else [])
    fid = pd.Index(ids, name="id")
    return Timeline(
        scenario=ctx.sc.name, grid=cg.name, horizon_h=H, hourly=hourly.frame(), facilities=facilities,
        facility_states=pd.DataFrame(np.asarray(FACILITY_STATES, dtype=object)[hourly.states], index=fid,
                                     columns=hours),
        backup_left_h=pd.DataFrame(hourly.left, index=fid, columns=hours),
        bus_energised=pd.DataFrame(hourly.bus_en, index=pd.Index(cg.bus_ids, name="id"), columns=hours),
        bus_island=pd.DataFrame(hourly.bus_isl, index=pd.Index(cg.bus_ids, name="id"), columns=hours),
        branch_in_service=pd.DataFrame(hourly.br_in, index=pd.Index(cg.branch_ids, name="id"), columns=hours),
        events=ev.frame(), impacts=hourly.impacts, damage=pd.DataFrame(st.hits, columns=DAMAGE_COLUMNS))


def _ever_failed(spec: bk.BackupSpec, draws: np.ndarray, st: bk.BackupState) -> np.ndarray:
    """Whether any generator start tried during the run failed (replays the draws used)."""
    out = np.zeros(st.starts.size, dtype=bool)
    for i in range(st.starts.size):
        k = int(st.starts[i])
        out[i] = bool(np.any(draws[i, :k] < spec.fail_prob[i])) if k else False
    return out
