"""The hourly simulation as step functions over a small state (:class:`SimState`), with what stays fixed over a
run in a :class:`SimContext`.

Each hour ``h`` runs, in order: :func:`finish_repairs`, :func:`land_strikes`, :func:`start_repairs` (through the
repair policy), :func:`deliver_fuel`, :func:`solve_grid` (only when the damage or the rolling plan changed),
:func:`step_facilities` and :func:`record_hour`. :func:`solve_grid` settles each new state with
:func:`svitlo.engine.settle.settle`: the scenario's ``cascade:`` runs after every change of state (tripped
branches are reclosed at the next change and may trip again), a facility the grid would serve only in part goes
off grid and its share is re-dispatched, and with ``ac_check: true`` every settled state gets the AC check. A step reads the context, advances the state and reports what
happened as events; :func:`svitlo.simulation.timeline.run_timeline` drives them and builds the tables once at
the end from the recorded arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from svitlo.engine.damage import apply_damage
from svitlo.engine.impact import Impact, build_impact
from svitlo.engine.settle import settle
from svitlo.engine.state import StateResult
from svitlo.errors import ScenarioError
from svitlo.facilities import backup as bk
from svitlo.facilities.defaults import FACILITY_KINDS
from svitlo.facilities.supply import FacilityIndex
from svitlo.model.compiled import CompiledGrid
from svitlo.scenarios.spec import Scenario
from svitlo.scenarios.strikes import resolve_strikes
from svitlo.simulation.events import EventLog, facility_events, text_name
from svitlo.simulation.facilities import facility_on_grid
from svitlo.simulation.repairs import Job, RepairPolicy
from svitlo.simulation.rolling import plan_rolling

__all__ = ["SimContext", "SimState", "Hourly", "finish_repairs", "land_strikes", "start_repairs", "deliver_fuel",
           "solve_grid", "step_facilities", "record_hour", "HOURLY_COLUMNS"]

#: Columns of ``Timeline.hourly`` (besides ``dark_<kind>`` per facility kind), in order.
HOURLY_COLUMNS = ("load_mw", "served_mw", "shed_mw", "ens_mwh", "ens_weighted_mwh", "ens_cum_mwh",
                  "people_without_power", "critical_load_mw", "critical_served_mw", "telecom_coverage", "islands",
                  "energised_islands")


@dataclass(frozen=True, eq=False)
class SimContext:
    """What stays fixed over a run: grid, scenario, facilities and their backup, repair settings, policy."""

    cg: CompiledGrid
    sc: Scenario
    fac: pd.DataFrame
    seed: int
    horizon_h: int
    policy: RepairPolicy
    tier_weights: dict[int, float]
    opf_options: dict[str, Any] | None
    durations: dict[str, float]
    explicit: dict[str, int]
    order: list[str]
    spec: bk.BackupSpec | None
    draws: np.ndarray
    fidx: FacilityIndex
    queue: np.ndarray | None
    intact_flows: Callable[[], np.ndarray]
    cascade: dict[str, Any] | None = None
    grid: Any = None  # the Grid, for the AC check

    @property
    def n_facilities(self) -> int:
        return len(self.fac)


@dataclass(eq=False)
class SimState:
    """What changes hour by hour: damage and repairs under way, facility backup, rolling plan, grid state."""

    destroyed: dict[str, int] = field(default_factory=dict)
    first_hit: dict[str, int] = field(default_factory=dict)
    busy: dict[str, Job] = field(default_factory=dict)
    backup: bk.BackupState | None = None
    prev: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    lost_at: np.ndarray = field(default_factory=lambda: np.zeros(0))
    until: np.ndarray = field(default_factory=lambda: np.zeros(0))
    on_backup_h: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dark_h: np.ndarray = field(default_factory=lambda: np.zeros(0))
    off: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    starts: dict[int, int] = field(default_factory=dict)
    last_plan: dict[int, tuple[int, int]] = field(default_factory=dict)
    base: StateResult | None = None
    base_cascade: Any = None
    state: StateResult | None = None
    impact: Impact | None = None
    critical_backup_mw: float = 0.0
    ens_cum_mwh: float = 0.0


class Hourly:
    """The per-hour arrays of a run, filled by :func:`record_hour` and turned into tables once at the end."""

    def __init__(self, ctx: SimContext) -> None:
        H, cg, n_f = ctx.horizon_h, ctx.cg, ctx.n_facilities
        self.metrics = {c: np.zeros(H) for c in HOURLY_COLUMNS}
        self.dark = {k: np.zeros(H, np.int64) for k in FACILITY_KINDS}
        self.states = np.zeros((n_f, H), dtype=np.int64)
        self.left = np.zeros((n_f, H))
        self.bus_en = np.zeros((cg.n_bus, H), bool)
        self.bus_isl = np.zeros((cg.n_bus, H), np.int64)
        self.br_in = np.zeros((cg.n_branch, H), bool)
        self.impacts: dict[int, Impact] = {}

    def frame(self) -> pd.DataFrame:
        H = self.bus_en.shape[1]
        df = pd.DataFrame({"hour": np.arange(H), **self.metrics})
        for c in ("islands", "energised_islands"):
            df[c] = df[c].astype(np.int64)
        for k, v in self.dark.items():
            df[f"dark_{k}"] = v
        return df


def finish_repairs(ctx: SimContext, st: SimState, h: int, ev: EventLog) -> bool:
    """Repairs due at hour ``h`` finish (explicit schedule, then crews): the assets are back in service."""
    changed = False
    for a, done in ctx.explicit.items():
        if done == h and a in st.destroyed:
            del st.destroyed[a]
            st.busy.pop(a, None)
            ev.add(h, "repair", a, f"{a} back in service (scheduled repair, hit at hour {st.first_hit[a]}).")
            changed = True
    for a, job in list(st.busy.items()):
        if job.done_h == h:
            del st.busy[a]
            st.destroyed.pop(a, None)
            ev.add(h, "repair", a, f"{a} repaired by crew {job.crew + 1} after {job.done_h - job.start_h} h.")
            changed = True
    return changed


def strikes_at(ctx: SimContext, h: int, down: Any = ()) -> list[str]:
    """Canonical ids of the assets the strikes of hour ``h`` destroy (hour 0: the top-level ``strikes:``)."""
    cg, sc = ctx.cg, ctx.sc
    out: list[str] = []
    if h == 0 and sc.strikes:
        out += resolve_strikes(cg, sc.strikes, seed=ctx.seed, intact_flows=ctx.intact_flows, weapons=sc.weapons)
    for w, wave in enumerate(sc.waves):
        if wave.at_h == h:
            out += resolve_strikes(cg, wave.strikes, seed=ctx.seed, intact_flows=ctx.intact_flows,
                                   weapons=sc.weapons, wave=w + 1, exclude=set(down) | set(out))
    return list(dict.fromkeys(str(cg.aliases.get(a, a)) for a in out))


def land_strikes(ctx: SimContext, st: SimState, h: int, ev: EventLog) -> bool:
    """Strikes of hour ``h`` land; a crew repairing a struck asset stands down."""
    changed = False
    for a in strikes_at(ctx, h, down=st.destroyed):
        again = a in st.destroyed
        st.destroyed[a] = h
        st.first_hit.setdefault(a, h)
        if a in st.busy:
            crew = st.busy.pop(a).crew
            ev.add(h, "strike", a, f"{a} struck again during repair (crew {crew + 1} stood down).")
        else:
            ev.add(h, "strike", a, f"{a} {'struck again' if again else 'destroyed'}"
                                   f"{f' (wave at hour {h})' if h else ''}.")
        changed = True
    return changed


def start_repairs(ctx: SimContext, st: SimState, h: int) -> None:
    """Free crews take new jobs, as the repair policy decides."""
    rep = ctx.sc.repairs
    if rep and rep.crews and h >= rep.start_h:
        pending = [a for a in st.destroyed if a not in ctx.explicit]
        for job in ctx.policy(h, pending=pending, busy=st.busy, crews=rep.crews, order=ctx.order,
                              durations=ctx.durations, first_hit=st.first_hit):
            st.busy[job.asset] = job


def _refuel_mask(fac: pd.DataFrame, ev: Any, k: int) -> np.ndarray:
    ids = fac["id"].to_numpy()
    unknown = [f for f in ev.facilities if f not in set(ids)]
    if unknown:
        raise ScenarioError("unknown facility id", source="scenario", field=f"refuel[{k}].facilities",
                            value=unknown[0])
    return np.isin(ids, ev.facilities) | np.isin(fac["kind"].to_numpy(), ev.kinds)


def deliver_fuel(ctx: SimContext, st: SimState, h: int, ev: EventLog) -> None:
    """Fuel deliveries of hour ``h`` arrive (a full tank takes nothing)."""
    fac, spec = ctx.fac, ctx.spec
    if spec is None or st.backup is None:
        return
    for k, rf in enumerate(ctx.sc.refuel):
        if rf.at_h != h:
            continue
        mask = _refuel_mask(fac, rf, k) & spec.has_gen
        amount: np.ndarray | None
        if rf.fuel_l is not None:
            amount = rf.fuel_l / fac["fuel_l_per_h"].to_numpy(float)
            amount = np.where(np.isnan(amount), 0.0, amount)
        else:
            amount = None if rf.fuel_h is None else np.full(ctx.n_facilities, rf.fuel_h)
        before = st.backup.fuel_h.copy()
        st.backup = bk.refuel(spec, st.backup, mask, amount)
        after = st.backup.fuel_h
        for i in np.flatnonzero(mask & (after - before > 1e-9)):
            ev.add(h, "refuel", fac.at[i, "id"], f"{text_name(fac, int(i))} refuelled: +"
                   f"{after[i] - before[i]:.1f} h of fuel, {after[i]:.1f} h in the tank.")


def solve_grid(ctx: SimContext, st: SimState, h: int, changed: bool, ev: EventLog, hourly: Hourly) -> None:
    """The grid state of hour ``h``: re-solved when the damage changed; the rolling-outage plan of a short island
    is renewed at each block start or change; the state with the plan's queues off is kept (and its Impact)."""
    cg, sc = ctx.cg, ctx.sc
    if changed or st.base is None:
        s = settle(cg, apply_damage(cg, list(st.destroyed)), mode=sc.mode, options=ctx.opf_options,
                   cascade=ctx.cascade, facility_loads=ctx.fidx.load)
        st.base, st.base_cascade = s.state, s.cascade
    base = st.base
    new_off = st.off
    ro = sc.rolling_outages
    if ro is not None and ctx.queue is not None and h >= ro.start_h:
        block = (h - ro.start_h) % ro.block_h == 0
        if block:
            for key, (st0, m) in st.last_plan.items():
                st.starts[key] = (st0 + m) % ro.queues
            st.last_plan = {}
        if block or changed:
            new_off, plans = plan_rolling(cg, base, ctx.queue, n_queues=ro.queues, starts=st.starts)
            for p in plans:
                if block or p.key not in st.last_plan:
                    end = h + ro.block_h - 1 - (h - ro.start_h) % ro.block_h
                    ev.add(h, "rolling_outage", f"island:{p.island}",
                           f"Island {p.island} is {p.shortfall_mw:.1f} MW short: queue"
                           f"{'s' if len(p.queues) > 1 else ''} {', '.join(str(q + 1) for q in p.queues)} "
                           f"off for hours {h}-{end}.")
                st.last_plan[p.key] = (p.start, len(p.queues))
    if changed or st.state is None or not np.array_equal(new_off, st.off):
        st.off = new_off
        st.state, casc = base, st.base_cascade
        if st.off.any():
            s = settle(cg, replace(base.damage, load_alive=base.damage.load_alive & ~st.off), mode=sc.mode,
                       options=ctx.opf_options, cascade=ctx.cascade, facility_loads=ctx.fidx.load)
            st.state, casc = s.state, s.cascade
        extras: dict[str, pd.DataFrame] = {}
        info: dict[str, Any] = {}
        if casc is not None:
            extras["cascade"], info["cascade"] = casc.steps, casc.summary()
        if sc.ac_check:
            from svitlo.engine.ac import ac_check  # pandapower AC power flow

            if ctx.grid is None:
                raise ScenarioError("ac_check needs the grid, not only its compiled arrays", field="ac_check",
                                    value=True)
            a = ac_check(ctx.grid, cg, st.state, **sc.ac.model_dump())
            extras.update(a.tables)
            info["ac"] = a.summary()
        st.impact = build_impact(cg, st.state, scenario=sc.name, tier_weights=ctx.tier_weights, extras=extras,
                                 info=info)
        hourly.impacts[h] = st.impact


def step_facilities(ctx: SimContext, st: SimState, h: int, ev: EventLog, hourly: Hourly) -> None:
    """Every facility steps through hour ``h`` on grid power or on its backup (:mod:`svitlo.facilities.backup`)."""
    st.critical_backup_mw = 0.0
    if not ctx.n_facilities or ctx.spec is None or st.backup is None or st.state is None:
        return
    spec = ctx.spec
    on = facility_on_grid(ctx.cg, st.state, ctx.fidx)
    st.backup, step = bk.step_backup(spec, st.backup, on, ctx.draws)
    hourly.states[:, h] = step.state
    hourly.left[:, h] = bk.backup_left_h(spec, st.backup)
    st.on_backup_h += np.where(on, 0.0, step.covered_h)
    st.dark_h += np.where(on, 0.0, 1.0 - step.covered_h)
    f_mw = ctx.fac["grid_load_mw"].to_numpy(float)
    tier1 = ctx.fac["tier"].to_numpy(int) == 1
    st.critical_backup_mw = float((step.covered_h * f_mw * (~on & tier1)).sum())
    facility_events(ev, ctx.fac, h, on, st.prev, step, st.backup, spec, st.lost_at, st.until)
    st.prev = step.state


def record_hour(ctx: SimContext, st: SimState, h: int, hourly: Hourly) -> None:
    """Hour ``h``'s metrics and per-bus/branch states, on arrays."""
    cg, r, imp = ctx.cg, st.state, st.impact
    assert r is not None and imp is not None
    m = imp.metrics
    lab = r.labels
    hourly.bus_en[:, h] = (lab >= 0) & (r.energised[np.maximum(lab, 0)] if r.energised.size else False)
    hourly.bus_isl[:, h] = lab
    hourly.br_in[:, h] = r.damage.branch_alive & (lab[cg.br_f] >= 0) & (lab[cg.br_t] >= 0)
    demand = np.where(cg.load_in_service, cg.load_p_mw, 0.0)
    served = np.where(r.damage.load_alive, r.load_served_mw, 0.0)
    t1 = cg.load_tier == 1
    st.ens_cum_mwh += m["shed_mw"]
    n_f = ctx.n_facilities
    states = hourly.states[:, h]
    tel = ctx.fac["kind"].to_numpy() == "telecom" if n_f else np.zeros(0, bool)
    row = {"load_mw": m["load_mw"], "served_mw": m["served_mw"], "shed_mw": m["shed_mw"], "ens_mwh": m["shed_mw"],
           "ens_weighted_mwh": m["weighted_shed_mw"], "ens_cum_mwh": st.ens_cum_mwh,
           "people_without_power": m["people_without_power"], "critical_load_mw": float(demand[t1].sum()),
           "critical_served_mw": float(served[t1].sum()) + st.critical_backup_mw,
           "telecom_coverage": float((states[tel] != bk.DARK).mean()) if tel.any() else float("nan"),
           "islands": m["islands"], "energised_islands": m["energised_islands"]}
    for c, v in row.items():
        hourly.metrics[c][h] = v
    if n_f:
        kinds = ctx.fac["kind"].to_numpy()
        for k in FACILITY_KINDS:
            hourly.dark[k][h] = int(((states == bk.DARK) & (kinds == k)).sum())
