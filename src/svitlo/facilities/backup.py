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
* **Failure while running** (optional, ``run_fail_prob`` > 0): a generator that runs in an hour breaks down in
  it with probability ``run_fail_prob`` against a pre-drawn uniform number of its own stream; it carries the
  hour (hourly resolution: the breakdown is taken at the end of the hour) and then stays off, like a failed
  start, until the grid returns. ``run_fail_prob = 1 - exp(-1 h / MTTF)``; NREL REopt takes a mean time to
  failure of ~1,100 h for backup generators (DESIGN §8).
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

from svitlo.facilities.defaults import BATTERY_RECHARGE_H

__all__ = ["STATES", "GRID", "BACKUP", "DARK", "BackupSpec", "BackupState", "BackupStep", "backup_spec",
           "initial_state", "step_backup", "refuel", "backup_left_h", "start_draws", "run_draws",
           "backup_duration_h", "dark_within_probability"]

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
    run_fail_prob: np.ndarray | None = None  # breakdown probability per running hour (None: never)
    capacity_h: np.ndarray | None = None  # tank capacity (h at rated load; None: the initial fuel, tank_h)

    def tank_capacity_h(self) -> np.ndarray:
        """What a tank holds at most (h at rated load): ``capacity_h`` (from the facility's ``tank_l``) or, when
        not given, the initial fuel."""
        return self.tank_h if self.capacity_h is None else np.maximum(self.capacity_h, self.tank_h)


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
    battery_kwh``; optional ``tank_l`` and ``fuel_l_per_h``: the tank's capacity)."""
    demand = fac["demand_kw"].to_numpy(float)
    cap = fac["battery_kwh"].to_numpy(float) / demand
    has_gen = fac["gen_kw"].to_numpy(float) > 0
    tank = np.where(has_gen, fac["fuel_h"].to_numpy(float), 0.0)
    capacity = None
    if "tank_l" in fac and "fuel_l_per_h" in fac and fac["tank_l"].notna().any():
        with np.errstate(invalid="ignore", divide="ignore"):
            t = fac["tank_l"].to_numpy(float) / fac["fuel_l_per_h"].to_numpy(float)
        capacity = np.where(has_gen & np.isfinite(t), np.maximum(t, tank), tank)
    return BackupSpec(has_gen=has_gen, tank_h=tank,
                      fail_prob=fac["gen_fail_prob"].to_numpy(float), battery_cap_h=cap,
                      recharge_h_per_h=cap / BATTERY_RECHARGE_H, capacity_h=capacity)


def refuel_amount_h(fac: pd.DataFrame, mask: np.ndarray, *, fuel_h: float | None, fuel_l: float | None,
                    field: str = "refuel", source: str = "scenario") -> np.ndarray | None:
    """Hours of fuel (at rated load) a delivery brings to each facility: ``fuel_h``, or ``fuel_l`` litres over
    the facility's ``fuel_l_per_h`` (``None``: fill the tank).

    Raises
    ------
    ScenarioError
        A delivery in litres to a facility with a generator but no ``fuel_l_per_h`` (its fuel given in hours):
        litres cannot be converted, and the delivery would silently do nothing.
    """
    if fuel_l is None:
        return None if fuel_h is None else np.full(len(fac), float(fuel_h))
    from svitlo.errors import ScenarioError

    rate = fac["fuel_l_per_h"].to_numpy(float) if "fuel_l_per_h" in fac else np.full(len(fac), np.nan)
    has_gen = fac["gen_kw"].to_numpy(float) > 0
    bad = np.flatnonzero(np.asarray(mask, bool) & has_gen & ~(rate > 0))
    if bad.size:
        fid = str(fac["id"].iloc[int(bad[0])])
        raise ScenarioError(f"facility {fid!r} has no fuel_l_per_h (l/h at rated load) to turn litres into hours; "
                            "give fuel_h, or add fuel_l_per_h to the facility", source=source,
                            field=f"{field}.fuel_l", value=fuel_l)
    with np.errstate(invalid="ignore", divide="ignore"):
        a = float(fuel_l) / rate
    return np.where(np.isfinite(a), a, 0.0)


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


def run_draws(seed: int | None, n_facilities: int, n_hours: int) -> np.ndarray:
    """Uniform draws for breakdowns of running generators, shape ``(n_facilities, n_hours)`` (own stream)."""
    ss = np.random.SeedSequence(0 if seed is None else int(seed), spawn_key=(0x7275,))
    return np.random.default_rng(ss).random((n_facilities, max(n_hours, 1)))


def step_backup(spec: BackupSpec, st: BackupState, on_grid: np.ndarray,
                draws: np.ndarray, run_u: np.ndarray | None = None) -> tuple[BackupState, BackupStep]:
    """Advance every facility by one hour given whether the grid supplies it (pure).

    ``run_u`` are this hour's uniform numbers for breakdowns while running (used when ``spec.run_fail_prob``
    is set)."""
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
    if spec.run_fail_prob is not None and run_u is not None:
        broke = (use_g > 0) & (run_u < spec.run_fail_prob)
        running = running & ~broke
        failed = failed | broke
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
    """Add ``amount_h`` hours of fuel (``None``: fill the tank) to facilities in ``mask``; a tank never holds
    more than its capacity (:meth:`BackupSpec.tank_capacity_h`: the facility's ``tank_l``, else its initial
    fuel), what does not fit is not delivered (pure)."""
    cap = spec.tank_capacity_h()
    add = cap - st.fuel_h if amount_h is None else np.asarray(amount_h, float)
    fuel = np.where(mask & spec.has_gen, np.minimum(cap, st.fuel_h + np.maximum(add, 0.0)), st.fuel_h)
    return replace(st, fuel_h=fuel)


def backup_left_h(spec: BackupSpec, st: BackupState) -> np.ndarray:
    """Hours of backup left at the facility's demand: fuel (if the generator is usable) plus battery."""
    return np.where(spec.has_gen & ~st.failed, st.fuel_h, 0.0) + st.battery_h



def backup_duration_h(spec: BackupSpec, *, generator_starts: np.ndarray) -> np.ndarray:
    """Hours a facility that loses the grid at hour 0 stays powered if nothing is repaired or refuelled (closed
    form of :func:`step_backup` over an outage: the generator, if it starts, runs its tank dry, then the battery
    covers; a generator that fails stays off and only the battery covers).

    Examples
    --------
    >>> fac = pd.DataFrame({"demand_kw": [100.0], "gen_kw": [100.0], "fuel_h": [1.5], "gen_fail_prob": [0.0],
    ...                     "battery_kwh": [50.0]})
    >>> backup_duration_h(backup_spec(fac), generator_starts=np.array([True])).tolist()
    [2.0]
    """
    tank = np.where(spec.has_gen & np.asarray(generator_starts, bool), np.nan_to_num(spec.tank_h), 0.0)
    return np.maximum(tank, 0.0) + np.maximum(np.nan_to_num(spec.battery_cap_h), 0.0)


def dark_within_probability(spec: BackupSpec, horizon_h: float) -> np.ndarray:
    """Probability that a facility losing the grid at hour 0 goes dark within ``horizon_h`` hours without repair
    or refuel: its generator fails to start (probability ``fail_prob``) and the battery alone is shorter, or it
    starts and fuel plus battery are (derived from :func:`backup_duration_h`)."""
    fail = np.where(spec.has_gen, np.nan_to_num(spec.fail_prob), 1.0)
    starts = backup_duration_h(spec, generator_starts=np.ones(spec.has_gen.size, bool))
    fails = backup_duration_h(spec, generator_starts=np.zeros(spec.has_gen.size, bool))
    return fail * (fails < horizon_h) + (1.0 - fail) * (starts < horizon_h)
