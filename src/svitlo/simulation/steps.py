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
from svitlo.model.tiers import tier_weight_array
from svitlo.scenarios.outcome import AssetDamage, FacilityTargets, StrikeOutcome, merge_outcomes
from svitlo.scenarios.spec import Scenario
from svitlo.scenarios.strikes import protected_assets, resolve_damage
from svitlo.simulation import pickup as pk
from svitlo.simulation import viability as vi
from svitlo.simulation.events import EventLog, facility_events, text_name
from svitlo.simulation.facilities import facility_on_grid
from svitlo.simulation.repair_times import damage_text, repair_plan
from svitlo.simulation.repairs import Job, RepairPolicy
from svitlo.simulation.rolling import plan_rolling

__all__ = ["SimContext", "SimState", "Hourly", "finish_repairs", "land_strikes", "start_repairs", "deliver_fuel",
           "solve_grid", "step_facilities", "record_hour", "HOURLY_COLUMNS", "FACILITY_STATES", "DAMAGED"]

#: Facility states: the backup states, and ``damaged`` (out of service until repaired, whatever the grid does).
FACILITY_STATES = bk.STATES + ("damaged",)
DAMAGED = len(bk.STATES)

#: Columns of ``Timeline.hourly`` (besides ``dark_<kind>`` per facility kind), in order.
HOURLY_COLUMNS = ("load_mw", "served_mw", "shed_mw", "ens_mwh", "ens_weighted_mwh", "ens_cum_mwh",
                  "people_without_power", "critical_load_mw", "critical_served_mw", "telecom_coverage",
                  "damaged_facilities", "islands", "energised_islands", "critical_grid_mw", "pickup_mw")


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
    use_strike_seeds: bool = True
    sample_repair: Callable[[str], float] | None = None   # sampled repair hours per asset (NaN: its kind's)
    refuel_at: tuple[int, ...] = ()                        # hour each refuel lands (at_h plus its sampled delay)
    run_u: np.ndarray | None = None                        # breakdown draws (facilities x hours)
    targets: FacilityTargets | None = None
    user_kinds: frozenset[str] = frozenset()
    viability: Any = None  # svitlo.engine.viability.ViabilityOptions, or None (off)
    cascade: dict[str, Any] | None = None
    grid: Any = None  # the Grid, for the AC check

    @property
    def n_facilities(self) -> int:
        return len(self.fac)


@dataclass(eq=False)
class SimState:
    """What changes hour by hour: damage and repairs under way, facility backup, rolling plan, grid state."""

    destroyed: dict[str, int] = field(default_factory=dict)      # damaged asset -> hour of its latest hit
    damage: dict[str, AssetDamage] = field(default_factory=dict)
    work_h: dict[str, float] = field(default_factory=dict)       # crew hours of each damaged asset's repair
    ready: dict[str, int] = field(default_factory=dict)          # first hour a crew can start (spare waits)
    stock: dict[str, int] = field(default_factory=dict)          # spares left by kind
    fac_down: dict[int, int] = field(default_factory=dict)       # damaged facility -> hour its repair is done
    damaged_h: np.ndarray = field(default_factory=lambda: np.zeros(0))
    hits: list[tuple[int, str, str, str, float, float]] = field(default_factory=list)
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
    tripped: np.ndarray | None = None  # units held off (collapsed island, no black start) until the grid changes
    live: np.ndarray | None = None  # buses energised in the previous hour
    settle: bool = False  # the hour after a change: UFLS-shed load comes back
    pickup: pk.PickupState | None = None  # cold-load pickup per load (viability on, factor > 1)
    pickup_mult: np.ndarray | None = None  # this hour's demand multiplier per load
    prev_mult: np.ndarray | None = None  # the previous hour's
    cg_h: CompiledGrid | None = None  # the grid with this hour's demand (cold-load pickup), else ctx.cg


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
    for i, done in list(st.fac_down.items()):
        if done == h:
            del st.fac_down[i]
            ev.add(h, "repair", ctx.fac.at[i, "id"], f"{text_name(ctx.fac, i)} repaired (building and equipment).")
            changed = True
    return changed


def strikes_at(ctx: SimContext, h: int, down: Any = ()) -> StrikeOutcome:
    """The damage the strikes of hour ``h`` do (hour 0: the top-level ``strikes:``)."""
    cg, sc = ctx.cg, ctx.sc
    out: list[StrikeOutcome] = []
    prot = protected_assets(cg, sc.protected) if sc.protected else frozenset()
    if h == 0 and sc.strikes:
        out.append(resolve_damage(cg, sc.strikes, seed=ctx.seed, intact_flows=ctx.intact_flows, weapons=sc.weapons,
                                  damage=sc.damage, facilities=ctx.targets, use_strike_seeds=ctx.use_strike_seeds,
                                  protected=prot))
    for w, wave in enumerate(sc.waves):
        if wave.at_h == h:
            taken = set(down) | {a for o in out for a in o.out_ids}
            out.append(resolve_damage(cg, wave.strikes, seed=ctx.seed, intact_flows=ctx.intact_flows,
                                      weapons=sc.weapons, wave=w + 1, exclude=taken, damage=sc.damage,
                                      facilities=ctx.targets, use_strike_seeds=ctx.use_strike_seeds,
                                  protected=prot))
    return merge_outcomes(out)


def land_strikes(ctx: SimContext, st: SimState, h: int, ev: EventLog) -> bool:
    """Strikes of hour ``h`` land: each damaged asset gets its state, the assets it puts out, its wait for a spare
    and its crew hours (:mod:`svitlo.simulation.repair_times`); a crew repairing a struck asset stands down;
    damaged facilities are out until repaired."""
    changed = False
    hit = strikes_at(ctx, h, down=[b for a in st.destroyed for b in st.damage[a].out])
    for u in hit.units:
        a = str(ctx.cg.aliases.get(u.asset, u.asset))
        again = a in st.destroyed
        st.destroyed[a] = h
        st.damage[a] = u
        if ctx.sample_repair is not None and a not in ctx.durations and u.repair_h is None:
            d = ctx.sample_repair(a)
            if d == d:
                ctx.durations[a] = d   # this run's own dict: the sampled repair time of this asset
        wait, st.work_h[a], what = repair_plan(u, durations=ctx.durations, user_kinds=set(ctx.user_kinds),
                                               model=ctx.sc.damage, stock=st.stock)
        st.ready[a] = h + int(np.ceil(wait - 1e-9))
        st.hits.append((h, a, u.state, ";".join(u.out), wait, st.work_h[a]))
        st.first_hit.setdefault(a, h)
        wave = f" (wave at hour {h})" if h else ""
        told = "" if u.repair_h is None else f": {damage_text(u, wait_h=wait, work_h=st.work_h[a], waits_for=what)}"
        if a in st.busy:
            crew = st.busy.pop(a).crew
            ev.add(h, "strike", a, f"{a} struck again during repair (crew {crew + 1} stood down){told}.")
        elif u.repair_h is None:
            ev.add(h, "strike", a, f"{a} {'struck again' if again else 'destroyed'}{wave}.")
        else:
            ev.add(h, "strike", a, f"{told[2:]}{wave}.")
        changed = True
    index = {str(f): i for i, f in enumerate(ctx.fac["id"])} if hit.facilities else {}
    for fd in hit.facilities:
        i = index[fd.facility]
        st.fac_down[i] = max(st.fac_down.get(i, 0), h + max(1, int(np.ceil(fd.repair_h - 1e-9))))
        st.hits.append((h, fd.facility, "damaged", "", 0.0, fd.repair_h))
        ev.add(h, "damage", fd.facility, f"{text_name(ctx.fac, i)} damaged by the strike: out of service until "
                                         f"repaired (hour {st.fac_down[i]}), grid power or not.")
        changed = True
    return changed


def start_repairs(ctx: SimContext, st: SimState, h: int) -> None:
    """Free crews take new jobs, as the repair policy decides (assets waiting for a spare are not pending)."""
    rep = ctx.sc.repairs
    if rep and rep.crews and h >= rep.start_h:
        pending = [a for a in st.destroyed if a not in ctx.explicit and st.ready.get(a, 0) <= h]
        for job in ctx.policy(h, pending=pending, busy=st.busy, crews=rep.crews, order=ctx.order,
                              durations={**ctx.durations, **st.work_h}, first_hit=st.first_hit):
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
        if (ctx.refuel_at[k] if ctx.refuel_at else rf.at_h) != h:
            continue
        mask = _refuel_mask(fac, rf, k) & spec.has_gen
        amount = bk.refuel_amount_h(fac, mask, fuel_h=rf.fuel_h, fuel_l=rf.fuel_l, field=f"refuel[{k}]",
                                    source=ctx.sc.source or "scenario")
        before = st.backup.fuel_h.copy()
        st.backup = bk.refuel(spec, st.backup, mask, amount)
        after = st.backup.fuel_h
        for i in np.flatnonzero(mask & (after - before > 1e-9)):
            left = 0.0 if amount is None else float(amount[i]) - (after[i] - before[i])
            full = f" (tank full: {left:.1f} h did not fit)" if left > 1e-9 else ""
            ev.add(h, "refuel", fac.at[i, "id"], f"{text_name(fac, int(i))} refuelled: +"
                   f"{after[i] - before[i]:.1f} h of fuel, {after[i]:.1f} h in the tank{full}.")


def solve_grid(ctx: SimContext, st: SimState, h: int, changed: bool, ev: EventLog, hourly: Hourly) -> None:
    """The grid state of hour ``h``: re-solved when the damage changed; the rolling-outage plan of a short island
    is renewed at each block start or change; the state with the plan's queues off is kept (and its Impact)."""
    cg, sc = ctx.cg, ctx.sc
    via = ctx.viability
    cg, pickup_changed = _pickup_grid(ctx, st, h)
    dmg = None
    if changed or st.base is None:
        out = [b for a in st.destroyed for b in st.damage[a].out]
        out += [str(ctx.fac.at[i, "grid_load"]) for i in st.fac_down if ctx.fac.at[i, "grid_load"]]  # no demand
        dmg = apply_damage(cg, list(dict.fromkeys(out)))
    if via is None and dmg is not None:
        s = settle(cg, dmg, mode=sc.mode, options=ctx.opf_options, cascade=ctx.cascade,
                   facility_loads=ctx.fidx.load)
        st.base, st.base_cascade = s.state, s.cascade
    elif dmg is not None:  # island viability (svitlo.simulation.viability)
        kw = dict(mode=sc.mode, options=ctx.opf_options, viability=via,
                  pre_event=None if st.base is None else vi.injections(st.base))
        s = settle(cg, dmg, cascade=ctx.cascade, facility_loads=ctx.fidx.load, **kw)
        st.base, st.base_cascade = s.state, s.cascade
        st.base = _ration_pickup(ctx, st, cg, h, ev, st.base, np.zeros(cg.n_gen, dtype=bool), kw)
        held = np.zeros(cg.n_gen, dtype=bool)
        if st.live is not None:
            st.base, held = vi.black_start_gate(cg, st.base, st.live, ev, h, **kw)
        st.tripped = vi.collapsed_units(cg, st.base) | held
        vi.viability_events(ev, h, st.base)
        st.settle = changed = True
    elif st.settle or pickup_changed:  # UFLS-shed load back, or the cold-load pickup moves on
        was_settle, st.settle = st.settle, False
        assert st.base is not None and st.tripped is not None
        prev_v = st.base.viability
        ufls = float(prev_v.ufls_shed_mw.sum()) if prev_v is not None else 0.0
        before = float((st.base.load_served_mw / st.prev_mult).sum()) if st.prev_mult is not None else \
            float(st.base.load_served_mw.sum())
        s = settle(cg, replace(st.base.damage, gen_alive=st.base.damage.gen_alive & ~st.tripped),
                   mode=sc.mode, options=ctx.opf_options, cascade=ctx.cascade, facility_loads=ctx.fidx.load,
                   viability=replace(via, frequency=False))
        st.base, st.base_cascade = s.state, s.cascade
        st.base = _ration_pickup(ctx, st, cg, h, ev, st.base, st.tripped,
                                 dict(mode=sc.mode, options=ctx.opf_options, viability=replace(via, frequency=False)))
        after = st.base.load_served_mw / st.pickup_mult if st.pickup_mult is not None else st.base.load_served_mw
        gain = min(float(after.sum()) - before, ufls) if st.pickup_mult is not None else float(after.sum()) - before
        if was_settle and gain > 1e-6:
            ev.add(h, "load_back", "grid", f"Operators reconnect {gain:.1f} MW shed by under-frequency relays, "
                                           "by priority tier, within the islands' capacity.")
        changed = True
    base = st.base
    assert base is not None
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
            a = ac_check(ctx.grid, cg, base if st.state is None else st.state, **sc.ac.model_dump())
            extras.update(a.tables)
            info["ac"] = a.summary()
        st.impact = build_impact(cg, base if st.state is None else st.state, scenario=sc.name, tier_weights=ctx.tier_weights, extras=extras,
                                 info=info)
        hourly.impacts[h] = st.impact
    assert st.impact is not None
    st.live = st.impact.buses["energised"].to_numpy(bool)
    st.cg_h = cg
    cfg = pk.from_scenario(sc) if st.pickup is not None else None
    if cfg is not None and st.pickup is not None and st.pickup_mult is not None and st.state is not None:
        served = st.state.damage.load_alive & (st.state.load_served_mw > 1e-9)
        vi.pickup_events(ev, h, ctx.cg, st.state, st.pickup, st.pickup_mult, cfg)
        st.pickup = pk.advance(st.pickup, served=served, cfg=cfg)


def _pickup_grid(ctx: SimContext, st: SimState, h: int) -> tuple[CompiledGrid, bool]:
    """The grid with this hour's demand under cold-load pickup (:mod:`svitlo.simulation.pickup`), and whether
    the multipliers changed since the last hour."""
    cfg = pk.from_scenario(ctx.sc) if ctx.viability is not None else None
    cg = ctx.cg
    if cfg is None:
        return cg, False
    if st.pickup is None:
        st.pickup = pk.PickupState.start(cg.n_load)
    mult = np.where(cg.load_in_service & (cg.load_p_mw > 0), pk.demand_factor(st.pickup, cfg=cfg), 1.0)
    changed = st.pickup_mult is not None and not np.array_equal(mult, st.pickup_mult)
    st.prev_mult, st.pickup_mult = st.pickup_mult, mult
    if (mult != 1.0).any():
        cg = replace(cg, load_p_mw=cg.load_p_mw * mult)
    return cg, changed and h > 0


def _ration_pickup(ctx: SimContext, st: SimState, cg: CompiledGrid, h: int, ev: EventLog, r: StateResult,
                   tripped: np.ndarray, kw: dict[str, Any]) -> StateResult:
    """Cold loads of an island the viability rules darken under their pickup stay off, tier by tier."""
    if st.pickup_mult is None or not (st.pickup_mult > 1.0).any():
        return r

    def solve(scale: np.ndarray) -> StateResult:
        d = replace(r.damage, gen_alive=r.damage.gen_alive & ~tripped)
        return settle(replace(cg, load_p_mw=cg.load_p_mw * scale), d, cascade=ctx.cascade,
                      facility_loads=ctx.fidx.load, **kw).state

    r2, off = vi.ration_pickup(cg, r, st.pickup_mult, solve, opts=ctx.viability)
    if off.any():
        mw = float((ctx.cg.load_p_mw * off).sum())
        tiers = sorted(set(ctx.cg.load_tier[off > 0].tolist()))
        ev.add(h, "cold_load_pickup", "grid",
               f"Cold-load pickup too heavy for the island's grid-forming units: {mw:.1f} MW of tier "
               f"{', '.join(map(str, tiers))} load stays off this hour; it comes back in blocks as the pickup eases.")
    return r2


def step_facilities(ctx: SimContext, st: SimState, h: int, ev: EventLog, hourly: Hourly) -> None:
    """Every facility steps through hour ``h`` on grid power or on its backup (:mod:`svitlo.facilities.backup`)."""
    st.critical_backup_mw = 0.0
    if not ctx.n_facilities or ctx.spec is None or st.backup is None or st.state is None:
        return
    spec = ctx.spec
    on = facility_on_grid(st.cg_h or ctx.cg, st.state, ctx.fidx)
    down = np.zeros(ctx.n_facilities, bool)
    down[list(st.fac_down)] = True
    on = on | down                          # a damaged facility runs nothing: no backup drawn either
    st.backup, step = bk.step_backup(spec, st.backup, on, ctx.draws, None if ctx.run_u is None else ctx.run_u[:, h])
    hourly.states[:, h] = np.where(down, DAMAGED, step.state)
    st.damaged_h += down
    hourly.left[:, h] = bk.backup_left_h(spec, st.backup)
    st.on_backup_h += np.where(on, 0.0, step.covered_h)
    st.dark_h += np.where(on, 0.0, 1.0 - step.covered_h)
    f_mw = ctx.fac["grid_load_mw"].to_numpy(float)
    tier1 = ctx.fac["tier"].to_numpy(int) == 1
    st.critical_backup_mw = float((step.covered_h * f_mw * (~on & tier1)).sum())
    facility_events(ev, ctx.fac, h, on, st.prev, step, st.backup, spec, st.lost_at, st.until, skip=down)
    st.prev = np.where(down, bk.GRID, step.state)


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
           "critical_grid_mw": float(served[t1].sum()),
           "telecom_coverage": float(((states[tel] != bk.DARK) & (states[tel] != DAMAGED)).mean())
           if tel.any() else float("nan"),
           "damaged_facilities": int((states == DAMAGED).sum()),
           "islands": m["islands"], "energised_islands": m["energised_islands"]}
    row["pickup_mw"] = 0.0
    mult = st.pickup_mult
    if mult is not None and (mult != 1.0).any():  # cold-load pickup: demand and shed in normal-demand terms
        p = np.where(cg.load_in_service, cg.load_p_mw, 0.0)
        extra = (mult - 1.0) * p
        surge = served * (1.0 - 1.0 / mult)       # the part of what is served that is the pickup's surge
        w = tier_weight_array(cg.load_tier, ctx.tier_weights)
        row["pickup_mw"] = float(surge.sum())
        row["load_mw"] -= float(extra.sum())
        row["shed_mw"] -= float((extra - surge).sum())
        row["ens_mwh"] = row["shed_mw"]
        row["ens_weighted_mwh"] -= float((w * (extra - surge)).sum())
        row["critical_served_mw"] -= float(surge[t1].sum())
        row["critical_grid_mw"] -= float(surge[t1].sum())
        st.ens_cum_mwh -= float((extra - surge).sum())
        row["ens_cum_mwh"] = st.ens_cum_mwh
    for c, v in row.items():
        hourly.metrics[c][h] = v
    if n_f:
        kinds = ctx.fac["kind"].to_numpy()
        for k in FACILITY_KINDS:
            hourly.dark[k][h] = int(((states == bk.DARK) & (kinds == k)).sum())
