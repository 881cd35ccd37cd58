"""An array kernel for Monte Carlo of timelines: many seeds of one scenario, the numbers of :func:`svitlo.simulate`.

:func:`run_timelines` follows, for every seed, exactly the rules of :func:`svitlo.simulate` (same strikes,
waves, damage states, crews and repair order, sampled repair durations, spare waits, damaged facilities,
refuels and their delays, rolling outage blocks, generator starts and breakdowns;
:mod:`svitlo.simulation.sampling`), but keeps only what a Monte Carlo needs and shares work across seeds:

1. **Grid path per seed** (Python, event logic only): the damage and rolling-outage plan hour by hour, as
   :mod:`svitlo.simulation.steps`: strikes resolved per seed by
   :func:`svitlo.scenarios.strikes.resolve_damage` (the assets each damage state puts out, its crew hours and
   wait for a spare, :func:`svitlo.simulation.repair_times.repair_plan`; damaged facilities out until
   repaired, their carved load with no demand). Each
   distinct grid state ``(assets out, loads rotated off)`` is evaluated once for the whole batch
   (:func:`svitlo.engine.state.evaluate_state`) and reduced to a few numbers (energy not served, weighted,
   people without power, tier-1 demand and supply) and the facilities it supplies. Timelines of one
   scenario revisit the same few states, so almost every hour is a table look-up. A new state (``balance``
   mode) is assembled from its islands, each distinct island settled once (:mod:`svitlo.simulation.by_island`):
   states are many (repair times, cold-load pickup), their islands far fewer.
2. **Facilities of all seeds at once**: the backup step of :mod:`svitlo.facilities.backup` on arrays of shape
   ``seeds x facilities`` (flattened), one call per hour; a damaged facility draws no power and runs no
   backup (state code :data:`svitlo.simulation.steps.DAMAGED`).

With island viability on, the separation rules run where the grid changes and the hour after
(:mod:`svitlo.simulation.viability`), and cold-load pickup (:mod:`svitlo.simulation.pickup`) as in the
simulator: each timeline carries its pickup state (interned: hours out capped at ``min_outage_h``, hours since
pickup), the hour's demand multipliers are part of a grid state's key where they differ from 1, a change of
them re-solves the hour, and an island that cannot hold the surge picks cold load up in blocks
(:func:`svitlo.simulation.viability.ration_pickup`).

A test holds it equal to :func:`svitlo.simulate` seed by seed. Metrics per hour match ``Timeline.hourly``
(``ens_mwh``, ``ens_weighted_mwh``, ``people_without_power``, ``load_mw``, ``critical_load_mw``,
``critical_served_mw``, ``critical_grid_mw``, ``pickup_mw``) and per facility ``Timeline.facilities``
(``hours_dark``, ``hours_on_backup``, ``hours_until_dark``) and ``Timeline.facility_states`` (codes of
:data:`svitlo.simulation.steps.FACILITY_STATES`).

Examples
--------
>>> import svitlo
>>> m = timeline_model(svitlo.prepare("case9", {"horizon_h": 6, "strikes": [{"assets": ["line:3"]}],
...                    "repairs": {"crews": 1, "durations_h": {"line": {"median_h": 3, "spread": 0.5}}}}))
>>> b = run_timelines(m, [1, 2, 3])
>>> b.ens_mwh.shape
(3, 6)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from svitlo.errors import ScenarioError
from svitlo.facilities import backup as bk
from svitlo.model.compiled import CompiledGrid
from svitlo.scenarios.outcome import AssetDamage
from svitlo.scenarios.spec import Repairs, Scenario
from svitlo.simulation.grid_states import HOURLY_METRICS, GridStates, TimelineBatch, TimelineModel, timeline_model
from svitlo.simulation.repair_times import repair_plan
from svitlo.simulation.repairs import Job, assign_crews, repair_durations
from svitlo.simulation.rolling import queue_of_loads
from svitlo.simulation.sampling import refuel_hours, repair_sampler
from svitlo.simulation.steps import DAMAGED
from svitlo.simulation.strikes_fast import StrikeResolver

__all__ = ["TimelineModel", "TimelineBatch", "timeline_model", "run_timelines", "state_cache", "grid_paths",
           "facility_draws", "backup_phase", "HOURLY_METRICS"]

def _explicit(cg: CompiledGrid, rep: Repairs | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for k, e in enumerate(rep.explicit if rep else []):
        try:
            cls, j = cg.asset(e.asset)
        except Exception:
            raise ScenarioError(f"unknown asset id in grid {cg.name!r}", source="scenario",
                                field=f"repairs.explicit[{k}].asset", value=e.asset) from None
        out[str({"bus": cg.bus_ids, "branch": cg.branch_ids, "gen": cg.gen_ids, "load": cg.load_ids}[cls][j])] = \
            int(e.done_h)
    return out


def _strikes(m: TimelineModel, res: StrikeResolver, h: int, seed: int, down: dict,
             use_strike_seeds: bool) -> list[str]:
    """Asset ids out after the strikes of hour ``h`` (the restore problem's view of a strike)."""
    cg, sc = m.cg, m.sc
    out: list[str] = []
    fl = m.flows
    flows = (lambda: fl) if fl is not None else None
    if h == 0 and sc.strikes:
        out += res.resolve(sc.strikes, seed=seed, intact_flows=flows, use_strike_seeds=use_strike_seeds)
    for w, wave in enumerate(sc.waves):
        if wave.at_h == h:
            out += res.resolve(wave.strikes, seed=seed, intact_flows=flows, wave=w + 1,
                               exclude=set(down) | set(out), use_strike_seeds=use_strike_seeds)
    return list(dict.fromkeys(str(cg.aliases.get(a, a)) for a in out))


def _grid_path(m: TimelineModel, states: GridStates, seed: int, rep: Repairs | None, explicit: dict[str, int],
               use_strike_seeds: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """State id of every hour of timeline ``seed`` and its damaged facilities ``(facilities, H)`` (``None``:
    none), by the rules of :mod:`svitlo.simulation.steps` up to ``solve_grid``: strikes resolved to damage
    states (:func:`svitlo.scenarios.strikes.resolve_damage`, as ``strikes_at``), the assets each puts out,
    spare waits and crew hours (:func:`svitlo.simulation.repair_times.repair_plan`), damaged facilities."""
    cg, sc, H = m.cg, m.sc, m.horizon_h
    durations = repair_durations({str(k): v for k, v in rep.durations_h.items()} if rep else None)
    user_kinds = {str(k) for k in rep.durations_h} if rep else set()
    sample = repair_sampler(cg, sc, seed)
    order = [str(cg.aliases.get(o, o)) for o in (rep.order if rep else [])]
    crews = rep.crews if rep else 0
    start_h = rep.start_h if rep else 0
    strike_hours = {0} | {w.at_h for w in sc.waves}
    destroyed: dict[str, int] = {}
    damage: dict[str, AssetDamage] = {}
    work_h: dict[str, float] = {}
    ready: dict[str, int] = {}
    stock: dict[str, int] = {str(k): int(v) for k, v in sc.damage.spares.items()}
    fac_down: dict[int, int] = {}
    first_hit: dict[str, int] = {}
    busy: dict[str, Job] = {}
    ro = sc.rolling_outages
    queue = queue_of_loads(cg.load_tier, n_queues=ro.queues, exempt_tiers=ro.exempt_tiers) if ro else None
    starts: dict[int, int] = {}
    last_plan: dict[int, tuple[int, int]] = {}
    off = np.zeros(cg.n_load, dtype=bool)
    out = np.empty(H, dtype=np.int64)
    n_f = len(m.facilities)
    down_h: np.ndarray | None = None
    key: frozenset = frozenset()
    names: list[str] = []
    sid = node = -1
    settle_next = False
    explicit_hours = set(explicit.values())
    fac_ids = m.facilities["id"].to_numpy(dtype=object)
    pickup = states.pickup is not None          # cold-load pickup: its state moves with what each hour serves
    ps = states.pickup_start() if pickup else -1
    mid = 0
    for h in range(H):
        changed = h == 0
        mid_before, mid = mid, (states.ps_mid[ps] if pickup else 0)
        pickup_changed = h > 0 and mid != mid_before   # the demand multipliers moved (steps._pickup_grid)
        if h in explicit_hours:
            for a, done in explicit.items():
                if done == h and a in destroyed:
                    del destroyed[a]
                    busy.pop(a, None)
                    changed = True
        if busy:
            for a, job in list(busy.items()):
                if job.done_h == h:
                    del busy[a]
                    destroyed.pop(a, None)
                    changed = True
        if fac_down:
            for i, done in list(fac_down.items()):
                if done == h:
                    del fac_down[i]
                    changed = True
        if h in strike_hours:
            hit = states.strikes_at(h, seed, [b for a in destroyed for b in damage[a].out], use_strike_seeds)
            for u in hit.units:
                a = str(cg.aliases.get(u.asset, u.asset))
                destroyed[a] = h
                damage[a] = u
                if sample is not None and a not in durations and u.repair_h is None:
                    d = sample(a)
                    if d == d:
                        durations[a] = d
                wait, work_h[a], _ = repair_plan(u, durations=durations, user_kinds=user_kinds, model=sc.damage,
                                                 stock=stock)
                ready[a] = h + int(np.ceil(wait - 1e-9))
                first_hit.setdefault(a, h)
                busy.pop(a, None)
                changed = True
            if hit.facilities:
                index = {str(f): i for i, f in enumerate(fac_ids)}
                for fd in hit.facilities:
                    i = index[fd.facility]
                    fac_down[i] = max(fac_down.get(i, 0), h + max(1, int(np.ceil(fd.repair_h - 1e-9))))
                    changed = True
        if crews and h >= start_h and len(busy) < crews:
            pending = [a for a in destroyed if a not in explicit and ready.get(a, 0) <= h]
            if len(pending) > len(busy):
                for job in assign_crews(h, pending=pending, busy=busy, crews=crews, order=order,
                                        durations={**durations, **work_h}, first_hit=first_hit):
                    busy[job.asset] = job
        if changed:
            gone = [b for a in destroyed for b in damage[a].out]
            gone += [str(m.facilities.at[i, "grid_load"]) for i in fac_down if m.facilities.at[i, "grid_load"]]
            names = list(dict.fromkeys(gone))
            key = frozenset(names)
            if states.via is None:
                node = states.plain_base(key, names)
            else:   # island viability: the node depends on the hour before (steps.solve_grid)
                node = states.via_change(node, states.live[sid] if sid >= 0 else -1, key, names, mid)
                settle_next = True
        elif settle_next or pickup_changed:   # the hour after a change: UFLS-shed load back, collapsed units
            settle_next = False               # off; or the cold-load pickup moves on
            node = states.via_settle(node, mid)
            changed = True
        if fac_down:
            if down_h is None:
                down_h = np.zeros((n_f, H), dtype=bool)
            down_h[list(fac_down), h] = True
        new_off = off
        if ro is not None and h >= ro.start_h:
            block = (h - ro.start_h) % ro.block_h == 0
            if block:
                for k2, (st0, q) in last_plan.items():
                    starts[k2] = (st0 + q) % ro.queues
                last_plan = {}
            if block or changed:
                assert queue is not None
                new_off, plans = states.plan(node, queue, ro.queues, starts)
                for p in plans:
                    last_plan[p.key] = (p.start, len(p.queues))
        if changed or (new_off is not off and not np.array_equal(new_off, off)):
            off = new_off
            sid = states.sid(node, off, mid)
        out[h] = sid
        if pickup:
            ps = states.pickup_after(ps, sid)
    return out, down_h


def _paths(m: TimelineModel, states: GridStates, seeds: np.ndarray, rep: Repairs | None, explicit: dict[str, int],
           use_strike_seeds: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """State ids ``(N, H)`` and damaged facilities ``(N, F, H)`` (``None`` when no seed has any)."""
    H, N, n_f = m.horizon_h, seeds.size, len(m.facilities)
    path = np.zeros((N, H), np.int64)
    down: np.ndarray | None = None
    for s, seed in enumerate(seeds):
        path[s], d = _grid_path(m, states, int(seed), rep, explicit, use_strike_seeds)
        if d is not None:
            if down is None:
                down = np.zeros((N, n_f, H), dtype=bool)
            down[s] = d
    return path, down


def facility_draws(model: TimelineModel, seeds: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Per seed: generator start draws ``(N, facilities, H + 1)``, breakdown draws ``(N, facilities, H)`` (or
    ``None``) and refuel hours ``(N, refuels)`` (the streams of :func:`svitlo.simulate`)."""
    n_f, H, N = len(model.facilities), model.horizon_h, len(seeds)
    draws = np.stack([bk.start_draws(int(s), n_f, H + 1) for s in seeds]) if N else np.zeros((0, n_f, H + 1))
    run_u = (np.stack([bk.run_draws(int(s), n_f, H) for s in seeds])
             if model.spec is not None and model.spec.run_fail_prob is not None and N else None)
    rf_h = np.array([refuel_hours(model.sc, int(s)) for s in seeds], dtype=np.int64).reshape(N, -1)
    return draws, run_u, rf_h


def backup_phase(spec: bk.BackupSpec, on_at: Any, draws: np.ndarray, run_u: np.ndarray | None,
                 rf_h: np.ndarray, refuel_masks: Any, refuel_amounts: Any, crit_mw: np.ndarray,
                 H: int, down: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Facilities of ``N`` timelines hour by hour (:func:`svitlo.facilities.backup.step_backup` on ``N x F`` arrays).

    ``spec`` has one entry per facility column; ``on_at(h)`` gives grid supply ``(N, F)`` in hour ``h``;
    ``draws``/``run_u``/``rf_h`` from :func:`facility_draws` (columns matching ``spec``); ``refuel_masks[k]`` and
    ``refuel_amounts[k]`` per column; ``crit_mw`` the carved demand (MW) counted as critical when on backup;
    ``down`` ``(N, F, H)`` the damaged facilities (state ``damaged``: no power drawn, no backup run)."""
    N, F = draws.shape[0], draws.shape[1]
    tile = {f: np.tile(getattr(spec, f), N) for f in ("has_gen", "tank_h", "fail_prob", "battery_cap_h",
                                                       "recharge_h_per_h")}
    spec_t = bk.BackupSpec(**tile, run_fail_prob=None if spec.run_fail_prob is None
                           else np.tile(spec.run_fail_prob, N),
                           capacity_h=None if spec.capacity_h is None else np.tile(spec.capacity_h, N))
    st = bk.initial_state(spec_t)
    flat = draws.reshape(N * F, -1)
    run_flat = None if run_u is None else run_u.reshape(N * F, -1)
    fstates = np.zeros((N, F, H), dtype=np.int8)
    until = np.full((N, F), np.nan)
    on_b = np.zeros((N, F))
    dark = np.zeros((N, F))
    crit_backup = np.zeros((N, H))
    w_t1 = np.asarray(crit_mw, dtype=float)[None, :]
    for h in range(H):
        for k in range(rf_h.shape[1]):
            rows = rf_h[:, k] == h
            if rows.any():
                mask = (rows[:, None] & refuel_masks[k][None, :]).ravel()
                amt = refuel_amounts[k]
                st = bk.refuel(spec_t, st, mask, None if amt is None else np.tile(amt, N))
        on = on_at(h)
        dn = None if down is None else down[:, :, h]
        if dn is not None:
            on = on | dn
        st, step = bk.step_backup(spec_t, st, on.ravel(), flat, None if run_flat is None else run_flat[:, h])
        cov = step.covered_h.reshape(N, F)
        fstates[:, :, h] = step.state.reshape(N, F) if dn is None else np.where(dn, DAMAGED, step.state.reshape(N, F))
        on_b += np.where(on, 0.0, cov)
        dark += np.where(on, 0.0, 1.0 - cov)
        crit_backup[:, h] = (cov * w_t1 * ~on).sum(axis=1)
        first = step.ran_out.reshape(N, F) & np.isnan(until)
        until[first] = (h + cov)[first]
    return {"states": fstates, "hours_dark": dark, "hours_on_backup": on_b, "hours_until_dark": until,
            "critical_backup_mw": crit_backup}


def grid_paths(model: TimelineModel, seeds: Any, *, use_strike_seeds: bool = False,
               cache: GridStates | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Grid supply of every facility ``(N, facilities, H)`` (bool) for the scenario's own repairs (a damaged
    facility counts as supplied: it draws no backup), and the state id path ``(N, H)``."""
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    states = cache if cache is not None else GridStates(model)
    rep = model.sc.repairs
    explicit = _explicit(model.cg, rep)
    path, down = _paths(model, states, seeds, rep, explicit, use_strike_seeds)
    on_tab = np.asarray(states.on, dtype=bool).reshape(-1, len(model.facilities))
    on = on_tab[path].transpose(0, 2, 1)
    return (on if down is None else on | down), path


def state_cache(model: TimelineModel, *, shared: bool = True) -> GridStates:
    """A cache of evaluated grid states to share between calls of :func:`run_timelines` on ``model``
    (``shared=False``: every distinct state solved whole, the reference of the shared solves)."""
    return GridStates(model, shared=shared)


def run_timelines(model: TimelineModel, seeds: Any, *, use_strike_seeds: bool = False,
                  repairs: Repairs | None | str = "scenario", cache: GridStates | None = None) -> TimelineBatch:
    """Simulate the scenario once per seed; the numbers of :func:`svitlo.simulate` with the same seed.

    Parameters
    ----------
    model
        From :func:`timeline_model`.
    seeds
        One timeline per seed (int array-like).
    use_strike_seeds
        ``False`` (a Monte Carlo): strikes with a ``seed`` of their own draw from each timeline's seed too.
    repairs
        Repairs to use instead of the scenario's (``None``: none); e.g. a schedule as explicit repairs.
    cache
        From :func:`state_cache`, to reuse evaluated grid states across calls (e.g. many schedules).

    Returns
    -------
    TimelineBatch
    """
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    rep = model.sc.repairs if isinstance(repairs, str) else repairs
    if needs_exact_path(model.sc):
        return _exact_timelines(model, seeds, rep, use_strike_seeds)
    explicit = _explicit(model.cg, rep)
    states = cache if cache is not None else GridStates(model)
    H, N = model.horizon_h, seeds.size
    path, down = _paths(model, states, seeds, rep, explicit, use_strike_seeds)
    table = np.asarray(states.rows, dtype=float).reshape(-1, 7)   # (a cache only grows: ids stay valid)
    hourly = {k: table[path, c] if table.size else np.zeros((N, H)) for c, k in enumerate(
        ("load_mw", "ens_mwh", "ens_weighted_mwh", "people_without_power", "critical_load_mw", "critical_grid_mw",
         "pickup_mw"))}
    n_f = len(model.facilities)
    if n_f and N:
        on_tab = np.asarray(states.on, dtype=bool)
        assert model.spec is not None
        draws, run_u, rf_h = facility_draws(model, seeds)
        ph = backup_phase(model.spec, lambda h: on_tab[path[:, h]], draws, run_u, rf_h, model.refuel_masks,
                          model.refuel_amounts, model.f_mw * model.f_tier1, H, down=down)
        fstates, dark, on_b, until, crit_backup = (ph["states"], ph["hours_dark"], ph["hours_on_backup"],
                                                   ph["hours_until_dark"], ph["critical_backup_mw"])
    else:
        crit_backup = np.zeros((N, H))
        fstates = np.zeros((N, n_f, H), dtype=np.int8)
        until = np.full((N, n_f), np.nan)
        on_b = np.zeros((N, n_f))
        dark = np.zeros((N, n_f))
    crit = hourly["critical_grid_mw"] + crit_backup
    return TimelineBatch(seeds=seeds, facility_ids=model.facilities["id"].to_numpy(dtype=object),
                         critical_served_mw=crit, states=fstates, hours_dark=dark, hours_on_backup=on_b,
                         hours_until_dark=until, distinct_states=len(states.rows), **hourly)


#: Scenario keys (top level, ``viability:``, ``ufls:``) whose rules the kernel carries. A key added later (a new
#: rule of the hourly simulation) sends scenarios that set it away from its default to the exact path until the
#: kernel mirrors it.
KERNEL_KEYS = {
    "scenario": frozenset({"ac", "ac_check", "base_dir", "cascade", "damage", "facilities", "gen_mttf_h", "grid",
                           "horizon_h", "mode", "name", "people_per_mw", "population", "protected", "refuel",
                           "repairs", "rolling_outages", "seed", "source", "strikes", "tiers", "ufls", "viability",
                           "waves", "weapons"}),
    "viability": frozenset({"cold_load_pickup", "decommit", "enabled", "frequency", "min_grid_forming_share",
                            "min_inertia_s", "over_frequency", "sfr", "units"}),
    "ufls": frozenset({"collapse_hz", "delay_s", "enabled", "exempt_tiers", "stages"}),
}


def _unknown_rules(obj: Any, known: frozenset[str]) -> list[str]:
    """Keys of a scenario model the kernel does not know that are set away from their defaults."""
    fields = type(obj).model_fields
    return [k for k, f in fields.items() if k not in known and getattr(obj, k) != f.get_default(
        call_default_factory=True)]


def exact_path_reason(sc: Scenario) -> str | None:
    """Why timelines of ``sc`` must run one by one (:func:`svitlo.simulation.timeline.run_timeline`), or None:
    cascades and the AC check are not carried by the kernel, nor rules it does not know (:data:`KERNEL_KEYS`)."""
    casc = getattr(sc, "cascade", None)
    if casc is not None and casc.enabled:
        return "cascade"
    if sc.ac_check:
        return "ac_check"
    new = _unknown_rules(sc, KERNEL_KEYS["scenario"])
    for part in ("viability", "ufls"):
        sub = getattr(sc, part, None)
        if sub is not None:
            new += [f"{part}.{k}" for k in _unknown_rules(sub, KERNEL_KEYS[part])]
    return ", ".join(new) if new else None


def needs_exact_path(sc: Scenario) -> bool:
    """Whether timelines of ``sc`` must run one by one (:func:`exact_path_reason`). Island viability rides on
    the kernel: the separation check at every change of the grid, UFLS load back the hour after, black start,
    cold-load pickup."""
    return exact_path_reason(sc) is not None


def _exact_timelines(model: TimelineModel, seeds: np.ndarray, rep: Repairs | None,
                     use_strike_seeds: bool) -> TimelineBatch:
    """The same batch from the hourly simulation, one timeline per seed (the reference path)."""
    from svitlo.simulation.steps import FACILITY_STATES
    from svitlo.simulation.timeline import run_timeline

    sc = model.sc if rep is model.sc.repairs else model.sc.model_copy(update={"repairs": rep})
    fac = model.facilities if len(model.facilities) else None
    H, N, n_f = model.horizon_h, seeds.size, len(model.facilities)
    cols = HOURLY_METRICS
    hourly = {c: np.zeros((N, H)) for c in cols}
    states = np.zeros((N, n_f, H), dtype=np.int8)
    dark, on_b, until = np.zeros((N, n_f)), np.zeros((N, n_f)), np.full((N, n_f), np.nan)
    code = {s: i for i, s in enumerate(FACILITY_STATES)}
    for k, seed in enumerate(seeds.tolist()):
        tl = run_timeline(model.cg, sc, fac, seed=int(seed), use_strike_seeds=use_strike_seeds)
        for c in cols:
            hourly[c][k] = tl.hourly[c].to_numpy(float)
        if n_f:
            states[k] = np.vectorize(code.__getitem__, otypes=[np.int8])(tl.facility_states.to_numpy())
            dark[k] = tl.facilities["hours_dark"].to_numpy(float)
            on_b[k] = tl.facilities["hours_on_backup"].to_numpy(float)
            until[k] = tl.facilities["hours_until_dark"].to_numpy(float)
    return TimelineBatch(seeds=seeds, facility_ids=model.facilities["id"].to_numpy(dtype=object), states=states,
                         hours_dark=dark, hours_on_backup=on_b, hours_until_dark=until, distinct_states=0,
                         **hourly)
