"""The timeline: a strike scenario hour by hour — waves, repairs, backups running down, rolling outages.

:func:`simulate` steps through ``horizon_h`` hours (default 72). At the start of hour ``h``, in this order:
repairs due at ``h`` finish, strikes of waves at ``h`` land (hour 0: the top-level ``strikes:``), free crews take
new jobs (:mod:`svitlo.engine.repairs`), fuel deliveries arrive. The grid state (islands, dispatch, shedding,
DC flows) is evaluated with :func:`svitlo.engine.state.evaluate_state` only when the damage or the rolling
outage plan changes (:mod:`svitlo.engine.rolling`); every facility then steps through the hour on grid power
or on its backup (:mod:`svitlo.engine.backup`). The grid state holds for the whole hour.

Facilities are part of their bus's load (:mod:`svitlo.facilities.attach`): each gets a carved load with its
tier, so shedding spares critical facilities last.

Metrics per hour (``Timeline.hourly``): ``load_mw``, ``served_mw``, ``shed_mw`` (grid, MW); ``ens_mwh`` and
``ens_weighted_mwh`` — energy not served *in that hour* (MWh, weighted by tier as in
:func:`svitlo.engine.impact.default_tier_weights`), ``ens_cum_mwh`` the running total; ``people_without_power``;
``critical_load_mw`` (tier-1 demand) and ``critical_served_mw`` (tier-1 demand served by the grid, plus the
carved demand of tier-1 facilities running on their own backup — the resilience curve); ``telecom_coverage``
(share of telecom facilities not dark; NaN without any); ``islands``, ``energised_islands``; ``dark_<kind>``.

Examples
--------
>>> import svitlo
>>> tl = simulate("case9", {"strikes": [{"assets": ["line:3"]}], "horizon_h": 6,
...                         "repairs": {"crews": 1, "durations_h": {"line": 3}}})
>>> tl.hourly["islands"].tolist()
[2, 2, 2, 1, 1, 1]
>>> tl.events[["hour", "kind", "subject"]].values.tolist()
[[0, 'strike', 'line:3'], [3, 'repair', 'line:3']]
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from svitlo.engine import backup as bk
from svitlo.engine.assess import as_scenario, intact_flows, prepare_grid
from svitlo.engine.damage import apply_damage
from svitlo.engine.impact import Impact, build_impact, default_tier_weights
from svitlo.engine.repairs import Job, assign_crews, repair_durations
from svitlo.engine.rolling import plan_rolling, queue_of_loads
from svitlo.engine.serialize import jsonable, records
from svitlo.engine.state import evaluate_state
from svitlo.errors import ScenarioError
from svitlo.facilities.attach import prepare_facilities
from svitlo.facilities.defaults import FACILITY_KINDS
from svitlo.io.cases import load_grid
from svitlo.model.compiled import CompiledGrid, compile_grid
from svitlo.model.grid import Grid
from svitlo.scenarios.spec import Scenario
from svitlo.scenarios.strikes import resolve_strikes

__all__ = ["Timeline", "simulate", "EVENT_KINDS"]

#: Kinds of timeline events.
EVENT_KINDS = ("strike", "repair", "refuel", "backup_start", "backup_empty", "power_back", "rolling_outage")
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

    def _matrices(self) -> dict[str, pd.DataFrame]:
        return {"facility_states": self.facility_states, "backup_left_h": self.backup_left_h,
                "bus_energised": self.bus_energised, "bus_island": self.bus_island,
                "branch_in_service": self.branch_in_service}

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: names, ``hourly``/``facilities``/``events`` as records, each per-hour matrix as
        ``{id: [value per hour]}``, and ``impacts`` as ``{hour: Impact.to_dict()}``."""
        out: dict[str, Any] = {"scenario": self.scenario, "grid": self.grid, "horizon_h": self.horizon_h,
                               "hourly": records(self.hourly), "facilities": records(self.facilities),
                               "events": records(self.events)}
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
        for name, df in {"hourly": self.hourly, "facilities": self.facilities, "events": self.events}.items():
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


def _text_name(fac: pd.DataFrame, i: int) -> str:
    return str(fac.at[i, "name"])


class _Events:
    def __init__(self) -> None:
        self.rows: list[tuple[int, str, str, str]] = []

    def add(self, hour: int, kind: str, subject: str, text: str) -> None:
        self.rows.append((int(hour), kind, str(subject), text))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["hour", "kind", "subject", "text"])


def _refuel_mask(fac: pd.DataFrame, ev, sc_source: str, k: int) -> np.ndarray:
    ids = fac["id"].to_numpy()
    unknown = [f for f in ev.facilities if f not in set(ids)]
    if unknown:
        raise ScenarioError("unknown facility id", source=sc_source, field=f"refuel[{k}].facilities",
                            value=unknown[0])
    return np.isin(ids, ev.facilities) | np.isin(fac["kind"].to_numpy(), ev.kinds)


def simulate(grid: Grid | str | Any, scenario: Scenario | dict | str | os.PathLike | None = None, *,
             seed: int | None = None) -> Timeline:
    """Simulate a scenario hour by hour over its ``horizon_h``.

    Parameters
    ----------
    grid
        A :class:`Grid` or anything :func:`svitlo.load_grid` accepts; ``None`` uses ``scenario.grid``.
    scenario
        A :class:`Scenario`, a dict of scenario keys, or a YAML path.
    seed
        Overrides the scenario seed (random and geographic strikes, generator start draws).

    Returns
    -------
    Timeline
        Hourly metrics, facility states, per-hour grid states, events and impacts.
    """
    sc = as_scenario(scenario, grid)
    seed = sc.seed if seed is None else int(seed)
    g = load_grid(sc.grid if grid is None else grid, base_dir=sc.base_dir)
    g = prepare_grid(g, sc)
    g, fac = prepare_facilities(g, sc)
    if fac is None:
        fac = pd.DataFrame({c: pd.Series(dtype=object if c in ("id", "kind", "name", "bus", "load", "grid_load")
                                         else float) for c in _FAC_COLUMNS + ["load", "gen_kw", "fuel_h",
                                                                               "gen_fail_prob", "battery_kwh",
                                                                               "grid_load", "grid_load_mw"]})
    cg = compile_grid(g)
    return _run(cg, sc, fac.reset_index(drop=True), seed)


def _strikes_at(cg: CompiledGrid, sc: Scenario, h: int, seed: int, flows,
                down: Collection[str] = ()) -> list[str]:
    out: list[str] = []
    if h == 0 and sc.strikes:
        out += resolve_strikes(cg, sc.strikes, seed=seed, intact_flows=flows, weapons=sc.weapons)
    for w, wave in enumerate(sc.waves):
        if wave.at_h == h:
            out += resolve_strikes(cg, wave.strikes, seed=seed, intact_flows=flows, weapons=sc.weapons, wave=w + 1,
                                   exclude=set(down) | set(out))
    return list(dict.fromkeys(str(cg.aliases.get(a, a)) for a in out))


def _run(cg: CompiledGrid, sc: Scenario, fac: pd.DataFrame, seed: int) -> Timeline:
    H = int(sc.horizon_h)
    src = "scenario"
    weights = default_tier_weights()
    opts = {"tier_weights": weights} if sc.mode == "opf" else None
    ev = _Events()
    flows_cache: dict[str, np.ndarray] = {}

    def flows() -> np.ndarray:
        if "f" not in flows_cache:
            flows_cache["f"] = intact_flows(cg)
        return flows_cache["f"]

    # repairs
    rep = sc.repairs
    durations = repair_durations(rep.durations_h if rep else None)
    explicit: dict[str, int] = {}
    for k, e in enumerate(rep.explicit if rep else []):
        try:
            cls, j = cg.asset(e.asset)
        except Exception:
            raise ScenarioError(f"unknown asset id in grid {cg.name!r}", source=src,
                                field=f"repairs.explicit[{k}].asset", value=e.asset) from None
        explicit[str({"bus": cg.bus_ids, "branch": cg.branch_ids, "gen": cg.gen_ids,
                      "load": cg.load_ids}[cls][j])] = int(e.done_h)
    order = [str(cg.aliases.get(o, o)) for o in (rep.order if rep else [])]
    destroyed: dict[str, int] = {}
    first_hit: dict[str, int] = {}
    busy: dict[str, Job] = {}

    # facilities
    n_f = len(fac)
    spec = bk.backup_spec(fac) if n_f else None
    bst = bk.initial_state(spec) if spec else None
    draws = bk.start_draws(seed, n_f, H + 1)
    f_load, f_bus = bk.facility_indices(cg, fac)
    f_mw = fac["grid_load_mw"].to_numpy(float)
    f_tier1 = fac["tier"].to_numpy(int) == 1 if n_f else np.zeros(0, bool)
    states = np.zeros((n_f, H), dtype=np.int64)
    left = np.zeros((n_f, H))
    until = np.full(n_f, np.nan)
    on_backup_h = np.zeros(n_f)
    dark_h = np.zeros(n_f)
    prev = np.zeros(n_f, dtype=np.int64)
    lost_at = np.zeros(n_f)

    # rolling outages
    ro = sc.rolling_outages
    queue = queue_of_loads(cg.load_tier, n_queues=ro.queues, exempt_tiers=ro.exempt_tiers) if ro else None
    starts: dict[int, int] = {}
    last_plan: dict[int, tuple[int, int]] = {}   # island key -> (start, n queues) of the current block
    off = np.zeros(cg.n_load, dtype=bool)

    bus_en = np.zeros((cg.n_bus, H), bool)
    bus_isl = np.zeros((cg.n_bus, H), np.int64)
    br_in = np.zeros((cg.n_branch, H), bool)
    rows: list[dict[str, Any]] = []
    impacts: dict[int, Impact] = {}
    base = r = imp = None
    ens_cum = 0.0
    tel = fac["kind"].to_numpy() == "telecom" if n_f else np.zeros(0, bool)
    for h in range(H):
        changed = h == 0
        # 1. repairs finishing now
        for a, done in explicit.items():
            if done == h and a in destroyed:
                del destroyed[a]
                busy.pop(a, None)
                ev.add(h, "repair", a, f"{a} back in service (scheduled repair, hit at hour {first_hit[a]}).")
                changed = True
        for a, job in list(busy.items()):
            if job.done_h == h:
                del busy[a]
                destroyed.pop(a, None)
                ev.add(h, "repair", a, f"{a} repaired by crew {job.crew + 1} after {job.done_h - job.start_h} h.")
                changed = True
        # 2. strikes landing now
        for a in _strikes_at(cg, sc, h, seed, flows, down=destroyed):
            again = a in destroyed
            destroyed[a] = h
            first_hit.setdefault(a, h)
            if a in busy:
                crew = busy.pop(a).crew
                ev.add(h, "strike", a, f"{a} struck again during repair (crew {crew + 1} stood down).")
            else:
                ev.add(h, "strike", a, f"{a} {'struck again' if again else 'destroyed'}"
                                       f"{f' (wave at hour {h})' if h else ''}.")
            changed = True
        # 3. crews take new jobs
        if rep and rep.crews and h >= rep.start_h:
            pending = [a for a in destroyed if a not in explicit]
            for job in assign_crews(h, pending=pending, busy=busy, crews=rep.crews, order=order,
                                    durations=durations, first_hit=first_hit):
                busy[job.asset] = job
        # 4. fuel deliveries
        for k, rf in enumerate(sc.refuel):
            if rf.at_h == h and n_f:
                mask = _refuel_mask(fac, rf, src, k) & spec.has_gen
                if rf.fuel_l is not None:
                    amount = rf.fuel_l / fac["fuel_l_per_h"].to_numpy(float)
                    amount = np.where(np.isnan(amount), 0.0, amount)
                else:
                    amount = None if rf.fuel_h is None else np.full(n_f, rf.fuel_h)
                before = bst.fuel_h.copy()
                bst = bk.refuel(spec, bst, mask, amount)
                for i in np.flatnonzero(mask & (bst.fuel_h - before > 1e-9)):  # a full tank takes nothing
                    ev.add(h, "refuel", fac.at[i, "id"], f"{_text_name(fac, i)} refuelled: +"
                           f"{bst.fuel_h[i] - before[i]:.1f} h of fuel, {bst.fuel_h[i]:.1f} h in the tank.")
        # 5. grid state
        if changed:
            dmg = apply_damage(cg, list(destroyed))
            base = evaluate_state(cg, dmg, mode=sc.mode, options=opts)
        new_off = off
        if ro is not None and h >= ro.start_h:
            block = (h - ro.start_h) % ro.block_h == 0
            if block:
                for key, (st0, m) in last_plan.items():
                    starts[key] = (st0 + m) % ro.queues
                last_plan = {}
            if block or changed:
                new_off, plans = plan_rolling(cg, base, queue, n_queues=ro.queues, starts=starts)
                for p in plans:
                    if block or p.key not in last_plan:
                        end = h + ro.block_h - 1 - (h - ro.start_h) % ro.block_h
                        ev.add(h, "rolling_outage", f"island:{p.island}",
                               f"Island {p.island} is {p.shortfall_mw:.1f} MW short: queue"
                               f"{'s' if len(p.queues) > 1 else ''} {', '.join(str(q + 1) for q in p.queues)} "
                               f"off for hours {h}-{end}.")
                    last_plan[p.key] = (p.start, len(p.queues))
        if changed or not np.array_equal(new_off, off):
            off = new_off
            r = base if not off.any() else evaluate_state(
                cg, replace(base.damage, load_alive=base.damage.load_alive & ~off), mode=sc.mode, options=opts)
            imp = build_impact(cg, r, scenario=sc.name, tier_weights=weights)
            impacts[h] = imp
        # 6. facilities
        crit_backup = 0.0
        if n_f:
            on = bk.facility_on_grid(cg, r, f_load, f_bus)
            bst, step = bk.step_backup(spec, bst, on, draws)
            states[:, h] = step.state
            left[:, h] = bk.backup_left_h(spec, bst)
            on_backup_h += np.where(on, 0.0, step.covered_h)
            dark_h += np.where(on, 0.0, 1.0 - step.covered_h)
            crit_backup = float((step.covered_h * f_mw * (~on & f_tier1)).sum())
            _facility_events(ev, fac, h, on, prev, step, bst, spec, lost_at, until)
            prev = step.state
        # 7. record
        m = imp.metrics
        bus_en[:, h] = imp.buses["energised"].to_numpy(bool)
        bus_isl[:, h] = imp.buses["island"].to_numpy(np.int64)
        br_in[:, h] = imp.branches["in_service"].to_numpy(bool)
        ld = imp.loads
        t1 = ld["tier"].to_numpy() == 1
        ens_cum += m["shed_mw"]
        row = {"hour": h, "load_mw": m["load_mw"], "served_mw": m["served_mw"], "shed_mw": m["shed_mw"],
               "ens_mwh": m["shed_mw"], "ens_weighted_mwh": m["weighted_shed_mw"], "ens_cum_mwh": ens_cum,
               "people_without_power": m["people_without_power"],
               "critical_load_mw": float(ld["p_mw"].to_numpy()[t1].sum()),
               "critical_served_mw": float(ld["served_mw"].to_numpy()[t1].sum()) + crit_backup,
               "telecom_coverage": float((states[tel, h] != bk.DARK).mean()) if tel.any() else float("nan"),
               "islands": m["islands"], "energised_islands": m["energised_islands"]}
        for kind in FACILITY_KINDS:
            row[f"dark_{kind}"] = int(((states[:, h] == bk.DARK) & (fac["kind"].to_numpy() == kind)).sum()) \
                if n_f else 0
        rows.append(row)
    hours = list(range(H))
    ids = fac["id"].to_numpy(dtype=object)
    facilities = fac[_FAC_COLUMNS].copy()
    facilities["hours_until_dark"] = until
    facilities["hours_dark"] = dark_h
    facilities["hours_on_backup"] = on_backup_h
    for c in ("load", "gen_kw", "fuel_h", "gen_fail_prob", "battery_kwh", "grid_load", "grid_load_mw"):
        facilities[c] = fac[c].to_numpy()
    facilities["generator_failed_to_start"] = _ever_failed(spec, draws, bst) if n_f else []
    return Timeline(
        scenario=sc.name, grid=cg.name, horizon_h=H, hourly=pd.DataFrame(rows), facilities=facilities,
        facility_states=pd.DataFrame(np.asarray(bk.STATES, dtype=object)[states], index=pd.Index(ids, name="id"),
                                     columns=hours),
        backup_left_h=pd.DataFrame(left, index=pd.Index(ids, name="id"), columns=hours),
        bus_energised=pd.DataFrame(bus_en, index=pd.Index(cg.bus_ids, name="id"), columns=hours),
        bus_island=pd.DataFrame(bus_isl, index=pd.Index(cg.bus_ids, name="id"), columns=hours),
        branch_in_service=pd.DataFrame(br_in, index=pd.Index(cg.branch_ids, name="id"), columns=hours),
        events=ev.frame(), impacts=impacts)


def _ever_failed(spec: bk.BackupSpec, draws: np.ndarray, st: bk.BackupState) -> np.ndarray:
    """Whether any generator start tried during the run failed (replays the draws used)."""
    out = np.zeros(st.starts.size, dtype=bool)
    for i in range(st.starts.size):
        k = int(st.starts[i])
        out[i] = bool(np.any(draws[i, :k] < spec.fail_prob[i])) if k else False
    return out


def _facility_events(ev: _Events, fac: pd.DataFrame, h: int, on: np.ndarray, prev: np.ndarray, step,
                     st: bk.BackupState, spec: bk.BackupSpec, lost_at: np.ndarray, until: np.ndarray) -> None:
    for i in range(len(fac)):
        name = _text_name(fac, i)
        fid = fac.at[i, "id"]
        was, now = int(prev[i]) if h else bk.GRID, int(step.state[i])
        if on[i]:
            if h and was != bk.GRID:
                ev.add(h, "power_back", fid, f"{name} back on grid power after {h - lost_at[i]:.0f} h.")
            continue
        if was == bk.GRID:
            lost_at[i] = h
            if now == bk.BACKUP:
                src = "generator" if st.running[i] or (spec.has_gen[i] and not st.failed[i] and step.tried_start[i]) \
                    else "battery"
                ev.add(h, "backup_start", fid, f"{name} lost grid power; running on {src} "
                       f"({step.covered_h[i] + bk.backup_left_h(spec, st)[i]:.1f} h of backup).")
        elif was == bk.DARK and now == bk.BACKUP:
            ev.add(h, "backup_start", fid, f"{name} back on backup power "
                   f"({step.covered_h[i] + bk.backup_left_h(spec, st)[i]:.1f} h left).")
        if step.start_failed[i] and now == bk.DARK:
            ev.add(h, "backup_empty", fid, f"The generator of {name} failed to start; dark at once.")
        elif step.ran_out[i] and was != bk.DARK:
            t = h + float(step.covered_h[i])
            if now == bk.DARK and not spec.has_gen[i] and spec.battery_cap_h[i] <= 0:
                ev.add(h, "backup_empty", fid, f"{name} lost grid power and has no backup; dark.")
            else:
                ev.add(h, "backup_empty", fid, f"{name} ran out of backup power at hour {t:.1f}; dark.")
        if step.ran_out[i] and np.isnan(until[i]):
            until[i] = h + float(step.covered_h[i])
