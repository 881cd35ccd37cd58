"""Facility backup power hour by hour: generators (fuel, failure to start) and batteries (pure array steps).

Rules, per facility and hour (time runs continuously inside an hour):

* **On grid** (its bus is energised and its carved load fully served): state ``grid``; a running generator
  stops; the battery recharges by ``capacity / BATTERY_RECHARGE_H`` per hour.
* **Grid lost**: the generator (if it has one and fuel) tries to start once per outage; it fails with the
  facility's ``gen_fail_prob`` against a pre-drawn uniform number (seeded), and a failed generator stays off
  until the grid returns. A running generator burns fuel at its rated rate — ``fuel_h`` counts hours at rated
  load, and we assume it runs at rated load (conservative; a generator smaller than the demand is taken to
  carry the facility's essential circuits). The battery covers what the generator does not, so it is kept as
  the last reserve. A generator that runs dry stops and starts again (a new draw) after a refuel.
* The state of an hour is the state at its start: ``backup`` if any backup covers its beginning, ``dark``
  otherwise. The exact time backup runs out (fractional hours) is kept for ``hours_until_dark``.

Examples
--------
>>> import pandas as pd
>>> fac = pd.DataFrame({"demand_kw": [100.0], "gen_kw": [100.0], "fuel_h": [1.5], "gen_fail_prob": [0.0],
...                     "battery_kwh": [50.0]})
>>> spec = backup_spec(fac)
>>> st = initial_state(spec)
>>> u = np.ones((1, 4))
>>> for h in range(3):
...     st, step = step_backup(spec, st, np.array([False]), u)
...     print(STATES[step.state[0]], round(float(step.covered_h[0]), 2), round(float(backup_left_h(spec, st)[0]), 2))
backup 1.0 1.0
backup 1.0 0.0
dark 0.0 0.0
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from svitlo.engine.state import StateResult
from svitlo.facilities.defaults import BATTERY_RECHARGE_H
from svitlo.model.compiled import CompiledGrid

__all__ = ["STATES", "BackupSpec", "BackupState", "BackupStep", "backup_spec", "initial_state", "step_backup",
           "refuel", "backup_left_h", "start_draws", "facility_on_grid", "facility_indices", "facility_snapshot"]

#: State names by code.
STATES = ("grid", "backup", "dark")
GRID, BACKUP, DARK = 0, 1, 2


@dataclass(frozen=True, eq=False)
class BackupSpec:
    """Per facility: generator present, tank (h at rated load), failure-to-start probability, battery (h at
    demand) and battery recharge per grid hour (h of battery)."""

    has_gen: np.ndarray
    tank_h: np.ndarray
    fail_prob: np.ndarray
    battery_cap_h: np.ndarray
    recharge_h_per_h: np.ndarray


@dataclass(frozen=True, eq=False)
class BackupState:
    """Per facility: fuel left (h), battery left (h), generator running, failed in this outage, starts tried."""

    fuel_h: np.ndarray
    battery_h: np.ndarray
    running: np.ndarray
    failed: np.ndarray
    starts: np.ndarray


@dataclass(frozen=True, eq=False)
class BackupStep:
    """What happened in one hour: state code, backup hours used, generator start tried/failed, ran out."""

    state: np.ndarray
    covered_h: np.ndarray
    tried_start: np.ndarray
    start_failed: np.ndarray
    ran_out: np.ndarray


def backup_spec(fac: pd.DataFrame) -> BackupSpec:
    """Backup parameters from a facility table (columns ``demand_kw, gen_kw, fuel_h, gen_fail_prob,
    battery_kwh``)."""
    demand = fac["demand_kw"].to_numpy(float)
    cap = fac["battery_kwh"].to_numpy(float) / demand
    has_gen = fac["gen_kw"].to_numpy(float) > 0
    return BackupSpec(has_gen=has_gen, tank_h=np.where(has_gen, fac["fuel_h"].to_numpy(float), 0.0),
                      fail_prob=fac["gen_fail_prob"].to_numpy(float), battery_cap_h=cap,
                      recharge_h_per_h=cap / BATTERY_RECHARGE_H)


def initial_state(spec: BackupSpec) -> BackupState:
    """Full tanks and batteries, generators off."""
    n = spec.tank_h.size
    return BackupState(fuel_h=spec.tank_h.copy(), battery_h=spec.battery_cap_h.copy(),
                       running=np.zeros(n, bool), failed=np.zeros(n, bool), starts=np.zeros(n, np.int64))


def start_draws(seed: int | None, n_facilities: int, n_hours: int) -> np.ndarray:
    """Uniform draws for generator starts, one row per facility (a facility tries at most one start an hour).

    Drawn from their own stream of the scenario seed, apart from the strike streams.
    """
    ss = np.random.SeedSequence(0 if seed is None else int(seed), spawn_key=(0x6765,))
    return np.random.default_rng(ss).random((n_facilities, max(n_hours, 1)))


def step_backup(spec: BackupSpec, st: BackupState, on_grid: np.ndarray,
                draws: np.ndarray) -> tuple[BackupState, BackupStep]:
    """Advance every facility by one hour given whether the grid supplies it (pure)."""
    n = on_grid.size
    off = ~on_grid
    try_start = off & spec.has_gen & ~st.running & ~st.failed & (st.fuel_h > 0)
    idx = np.minimum(st.starts, draws.shape[1] - 1)
    u = draws[np.arange(n), idx] if n else np.zeros(0)
    fails = try_start & (u < spec.fail_prob)
    running = np.where(on_grid, False, st.running | (try_start & ~fails))
    failed = np.where(on_grid, False, st.failed | fails)
    use_g = np.where(off & running, np.minimum(st.fuel_h, 1.0), 0.0)
    use_b = np.where(off, np.minimum(st.battery_h, 1.0 - use_g), 0.0)
    covered = use_g + use_b
    fuel = st.fuel_h - use_g
    running = running & (fuel > 1e-12)
    battery = np.where(on_grid, np.minimum(spec.battery_cap_h, st.battery_h + spec.recharge_h_per_h),
                       st.battery_h - use_b)
    state = np.where(on_grid, GRID, np.where(covered > 0, BACKUP, DARK))
    ran_out = off & (covered < 1.0 - 1e-12)
    new = BackupState(fuel_h=fuel, battery_h=battery, running=running, failed=failed,
                      starts=st.starts + try_start.astype(np.int64))
    return new, BackupStep(state=state, covered_h=covered, tried_start=try_start, start_failed=fails,
                           ran_out=ran_out)


def refuel(spec: BackupSpec, st: BackupState, mask: np.ndarray, amount_h: np.ndarray | None) -> BackupState:
    """Add ``amount_h`` hours of fuel (``None``: fill the tank) to facilities in ``mask``; tanks never hold
    more than their initial fuel (pure)."""
    add = spec.tank_h - st.fuel_h if amount_h is None else np.asarray(amount_h, float)
    fuel = np.where(mask & spec.has_gen, np.minimum(spec.tank_h, st.fuel_h + np.maximum(add, 0.0)), st.fuel_h)
    return replace(st, fuel_h=fuel)


def backup_left_h(spec: BackupSpec, st: BackupState) -> np.ndarray:
    """Hours of backup left at the facility's demand: fuel (if the generator is usable) plus battery."""
    return np.where(spec.has_gen & ~st.failed, st.fuel_h, 0.0) + st.battery_h


def facility_on_grid(cg: CompiledGrid, r: StateResult, load_idx: np.ndarray, bus_idx: np.ndarray) -> np.ndarray:
    """Whether the grid supplies each facility: its bus is energised and its carved load (``load_idx``,
    -1 if none) is in service and fully served."""
    lab = r.labels[bus_idx]
    en = (lab >= 0) & np.where(lab >= 0, r.energised[np.maximum(lab, 0)], False) if lab.size else lab >= 0
    has = load_idx >= 0
    j = np.maximum(load_idx, 0)
    p = cg.load_p_mw[j] if j.size else np.zeros(0)
    served = r.load_served_mw[j] if j.size else np.zeros(0)
    ok = r.damage.load_alive[j] & (served >= p * (1.0 - 1e-9) - 1e-12) if j.size else has
    return en & np.where(has, ok, True)


def facility_indices(cg: CompiledGrid, fac: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Index of each facility's carved load (-1 if none) and of its bus in the compiled grid."""
    load_pos = {lid: i for i, lid in enumerate(cg.load_ids)}
    bus_pos = {b: i for i, b in enumerate(cg.bus_ids)}
    f_load = np.array([load_pos.get(x, -1) if x else -1 for x in fac["grid_load"]], dtype=np.int64)
    f_bus = np.array([bus_pos[b] for b in fac["bus"]], dtype=np.int64)
    return f_load, f_bus


def facility_snapshot(cg: CompiledGrid, r: StateResult, fac: pd.DataFrame, *, seed: int | None) -> pd.DataFrame:
    """Facility states over the first hour of a grid state (what ``assess`` reports): ``id, kind, name, bus,
    lat, lon, tier, demand_kw, population, on_grid, state, backup_left_h`` (hours left at the end of hour 0).

    ``fac`` is a facility table after :func:`svitlo.facilities.attach.carve_facility_loads`.
    """
    on_grid = facility_on_grid(cg, r, *facility_indices(cg, fac))
    spec = backup_spec(fac)
    st, step = step_backup(spec, initial_state(spec), on_grid, start_draws(seed, len(fac), 1))
    out = fac[["id", "kind", "name", "bus", "lat", "lon", "tier", "demand_kw", "population"]].copy()
    out["on_grid"] = on_grid
    out["state"] = [STATES[s] for s in step.state]
    out["backup_left_h"] = backup_left_h(spec, st)
    return out.reset_index(drop=True)
