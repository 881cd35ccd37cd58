"""The pipeline: prepare a grid for a scenario once, then assess it (one state) or simulate it (hour by hour).

The data path reads top-down::

    prepare:  load grid (io) -> tiers and population -> facilities read, attached, carved -> compile
    assess:   strikes -> damage -> islands -> dispatch & shedding -> DC flows -> cascade? -> AC check? -> Impact
    simulate: the same state solve hour by hour, with waves, repairs, backups and rolling outages -> Timeline

:func:`prepare` is the only code below the command line that reads files (grids, facility tables, scenario YAML);
the engine, the simulation and the analyses receive a :class:`Prepared` (compiled arrays and validated specs).
Every function is pure: inputs are never mutated.

Examples
--------
>>> import svitlo
>>> imp = svitlo.assess("case9", {"strikes": [{"assets": ["line:3"]}]})
>>> imp.metrics["islands"], round(imp.metrics["shed_mw"], 6)
(2, 0.0)
>>> p = prepare("case9", {"strikes": [{"assets": ["line:3"]}]})
>>> assess(p).metrics["islands"], p.compiled.n_bus
(2, 9)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias, cast

import numpy as np
import pandas as pd

from svitlo.engine.cascade import cascade_settings
from svitlo.engine.damage import apply_damage
from svitlo.engine.impact import Impact, build_impact
from svitlo.engine.settle import settle
from svitlo.engine.state import MODES, Mode, intact_flows
from svitlo.engine.viability import apply_unit_overrides, viability_options
from svitlo.errors import InputError, ScenarioError
from svitlo.facilities.attach import carve_facility_loads
from svitlo.facilities.supply import facility_index
from svitlo.io.cases import load_grid
from svitlo.io.facilities import load_facilities
from svitlo.io.scenario_file import load_scenario, names_scenario_file, parse_scenario
from svitlo.model.compiled import CompiledGrid, compile_grid
from svitlo.model.grid import Grid
from svitlo.scenarios.dispatch_spec import dispatch_options, tier_weights
from svitlo.scenarios.spec import Scenario
from svitlo.scenarios.strikes import protected_assets, resolve_strikes
from svitlo.simulation.facilities import facility_snapshot
from svitlo.simulation.timeline import RepairPolicy, Timeline, run_timeline

__all__ = ["Prepared", "prepare", "assess", "simulate", "apply_tiers", "as_scenario", "GridLike", "ScenarioLike"]

#: What the pipeline accepts as a grid: a :class:`Grid`, a bundled case name, a ``{file: ...}`` mapping, a
#: pandapower net, or ``None`` for the scenario's own ``grid:``.
GridLike: TypeAlias = Grid | str | Mapping[str, Any] | Any | None
#: What the pipeline accepts as a scenario: a :class:`Scenario`, a dict of scenario keys, a YAML path or ``None``.
ScenarioLike: TypeAlias = Scenario | Mapping[str, Any] | str | os.PathLike | None


@dataclass(frozen=True, eq=False)
class Prepared:
    """A grid prepared for a scenario: what every evaluation of it needs, built once by :func:`prepare`.

    Attributes
    ----------
    scenario
        The validated scenario.
    grid
        The grid after the scenario's tiers and population, with one carved load per facility.
    facilities
        The facility table attached to the grid (``None`` when the scenario has none).
    compiled
        The compiled arrays of ``grid`` (read-only).
    """

    scenario: Scenario
    grid: Grid
    facilities: pd.DataFrame | None
    compiled: CompiledGrid


@names_scenario_file(1)
def prepare(grid: GridLike | Prepared = None, scenario: ScenarioLike = None) -> Prepared:
    """Load the grid, apply the scenario's tiers and population, attach and carve its facilities, compile.

    Parameters
    ----------
    grid
        See :data:`GridLike`; ``None`` uses the scenario's ``grid:``. A :class:`Prepared` is returned as is.
    scenario
        See :data:`ScenarioLike`.
    """
    if isinstance(grid, Prepared):
        if scenario is not None:
            raise InputError("give either a Prepared grid or a scenario, not both", field="scenario",
                             value=type(scenario).__name__)
        return grid
    sc = as_scenario(scenario, grid)
    g = load_grid(sc.grid if grid is None else grid, base_dir=sc.base_dir, cache=True)  # the on-disk grid cache
    g = apply_unit_overrides(g, sc)  # viability.units: per-unit inertia, grid forming, black start, p_min
    g, fac = _attach_facilities(apply_tiers(g, sc), sc)  # facility demand carved out of its bus's load
    cg = compile_grid(g)
    _check_repair_assets(cg, sc)
    return Prepared(scenario=sc, grid=g, facilities=fac, compiled=cg)


def _check_repair_assets(cg: CompiledGrid, sc: Scenario) -> None:
    """Asset ids in ``repairs.order`` (entries with a ``:``; others are kinds) and ``repairs.access`` exist."""
    if sc.repairs is None:
        return
    named = [(f"repairs.order[{k}]", o) for k, o in enumerate(sc.repairs.order) if ":" in o]
    named += [(f"repairs.access[{k}].assets", a) for k, w in enumerate(sc.repairs.access) for a in w.assets]
    for field_name, asset in named:
        try:
            cg.asset(asset)
        except Exception:
            raise ScenarioError(f"unknown asset id in grid {cg.name!r}", source=sc.source or "scenario",
                                field=field_name, value=asset) from None


def _attach_facilities(grid: Grid, sc: Scenario) -> tuple[Grid, pd.DataFrame | None]:
    if sc.facilities is None:
        return grid, None
    src = None if isinstance(sc.facilities, str) else f"{sc.source or 'scenario'}: facilities"
    fac = load_facilities(sc.facilities, grid, base_dir=sc.base_dir, source=src)
    return carve_facility_loads(grid, fac)



def as_scenario(scenario: ScenarioLike, grid: Any = None) -> Scenario:
    """Normalise a scenario given as a :class:`Scenario`, a dict, or a YAML path."""
    if scenario is None:
        scenario = {}
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, (str, os.PathLike)):
        return load_scenario(scenario)
    if isinstance(scenario, Mapping):
        data = dict(scenario)
        if "grid" not in data:
            data["grid"] = grid.name if isinstance(grid, Grid) else (grid if isinstance(grid, str) else "custom")
        return parse_scenario(data, source="scenario (dict)")
    raise ScenarioError("expected a Scenario, a dict or a YAML path", value=type(scenario).__name__)


def apply_tiers(grid: Grid, scenario: Scenario) -> Grid:
    """Apply the scenario's tiers and population to a grid (returns a new grid; unknown ids raise)."""
    loads = grid.loads.copy()
    src = scenario.source or "scenario"
    if scenario.people_per_mw is not None:
        loads["population"] = np.where(loads["kind"] == "load", np.maximum(loads["p_mw"], 0.0) * scenario.people_per_mw,
                                       loads["population"])
    if scenario.tiers.default is not None:
        loads["tier"] = int(scenario.tiers.default)
    for bus, tier in scenario.tiers.buses.items():
        b = grid.aliases.get(bus, bus)
        if b not in grid.buses.index:
            raise ScenarioError("unknown bus id", source=src, field="tiers.buses", value=bus)
        loads.loc[loads["bus"] == b, "tier"] = int(tier)
    for lid, tier in scenario.tiers.loads.items():
        if lid not in loads.index:
            raise ScenarioError("unknown load id", source=src, field="tiers.loads", value=lid)
        loads.loc[lid, "tier"] = int(tier)
    for lid, pop in scenario.population.items():
        if lid not in loads.index:
            raise ScenarioError("unknown load id", source=src, field="population", value=lid)
        loads.loc[lid, "population"] = float(pop)
    if (scenario.people_per_mw is None and not scenario.tiers.buses and not scenario.tiers.loads
            and scenario.tiers.default is None and not scenario.population):
        return grid
    return grid.with_tables(loads=loads)


@names_scenario_file(1)
def assess(grid: GridLike | Prepared = None, scenario: ScenarioLike = None, *, seed: int | None = None,
           mode: str | None = None, destroyed: list[str] | None = None, compiled: CompiledGrid | None = None,
           cascade: bool | dict | None = None, ac: bool | None = None) -> Impact:
    """Assess one strike scenario: damage, islands, per-island dispatch and shedding, DC flows.

    Parameters
    ----------
    grid
        A :class:`Prepared` (from :func:`prepare`), or a grid as :data:`GridLike`.
    scenario
        See :data:`ScenarioLike` (not with a :class:`Prepared`). ``grid`` wins over ``scenario.grid``.
    seed
        Overrides the scenario seed (random strikes).
    mode
        Overrides the scenario mode (``"balance"`` or ``"opf"``).
    destroyed
        Extra asset ids to destroy, on top of the scenario's strikes.
    compiled
        A compiled form of ``grid`` (after the scenario's tiers) to reuse across calls; the scenario's
        facilities are then not read (prefer :func:`prepare`, which keeps them).
    cascade
        Overrides the scenario's ``cascade`` block: True/False, or a dict of thresholds (turns it on). The
        final state is reported; the steps go to ``extras["cascade"]`` (:mod:`svitlo.engine.cascade`).
    ac
        Overrides the scenario's ``ac_check``: an AC power flow per energised island of the final state
        (:mod:`svitlo.engine.ac`), in ``extras["ac_islands"]``, ``extras["ac_violations"]`` and ``info["ac"]``.

    Returns
    -------
    Impact
        Tables and metrics; see :class:`svitlo.engine.impact.Impact`.
    """
    if compiled is not None:
        sc = as_scenario(scenario, grid)
        g = grid if isinstance(grid, Grid) else None
        p = Prepared(scenario=sc, grid=g, facilities=None, compiled=compiled)  # type: ignore[arg-type]
    else:
        p = prepare(grid, scenario)
    sc, cg = p.scenario, p.compiled
    seed = sc.seed if seed is None else seed
    m = _check_mode(mode or sc.mode)
    ids = resolve_strikes(cg, sc.strikes, seed=seed, intact_flows=lambda: intact_flows(cg), weapons=sc.weapons,
                          damage=sc.damage, protected=protected_assets(cg, sc.protected))
    for extra_id in destroyed or []:
        canon = str(cg.aliases.get(extra_id, extra_id))
        cg.asset(canon)
        if canon not in ids:
            ids.append(canon)
    dmg = apply_damage(cg, ids)
    weights = tier_weights(sc.dispatch)
    opts = dispatch_options(sc.dispatch, m)
    casc = cascade_settings(sc.cascade, cascade)
    via = viability_options(sc)
    f_load = facility_index(p.facilities, cg).load if p.facilities is not None else None
    s = settle(cg, dmg, mode=m, options=opts, cascade=casc, facility_loads=f_load, viability=via)
    r, c = s.state, s.cascade
    extras: dict[str, pd.DataFrame] = {}
    info: dict[str, Any] = {}
    if p.facilities is not None:  # facility states over hour 0: grid, backup or dark
        extras["facilities"] = facility_snapshot(cg, r, p.facilities, seed=seed)
    if c is not None:
        extras["cascade"] = c.steps
        info["cascade"] = c.summary()
    if sc.ac_check if ac is None else ac:
        from svitlo.engine.ac import ac_check  # pandapower AC power flow

        if p.grid is None:
            raise InputError("the AC check needs the grid, not only its compiled arrays", field="ac",
                             value=True)
        a = ac_check(_ac_grid(p), cg, r, **sc.ac.model_dump())
        extras.update(a.tables)
        info["ac"] = a.summary()
    return build_impact(cg, r, scenario=sc.name, tier_weights=weights, extras=extras, info=info)


@names_scenario_file(1)
def simulate(grid: GridLike | Prepared = None, scenario: ScenarioLike = None, *, seed: int | None = None,
             repair_policy: RepairPolicy | None = None, use_strike_seeds: bool = True) -> Timeline:
    """Simulate a scenario hour by hour over its ``horizon_h`` (:mod:`svitlo.simulation.timeline`).

    Parameters
    ----------
    grid
        A :class:`Prepared`, or a grid as :data:`GridLike` (``None``: the scenario's ``grid:``).
    scenario
        See :data:`ScenarioLike` (not with a :class:`Prepared`).
    seed
        Overrides the scenario seed (random and geographic strikes, generator start and breakdown draws, random
        repair durations and refuel delays).
    repair_policy
        Which damaged assets free crews take next (default :func:`svitlo.simulation.repairs.crew_order_policy`,
        the scenario's ``repairs.order`` then the order of damage).
    use_strike_seeds
        ``False``: strikes with a ``seed`` of their own draw from ``seed`` too (as in a Monte Carlo).

    Returns
    -------
    Timeline
        Hourly metrics, facility states, per-hour grid states, events and impacts.

    Examples
    --------
    >>> tl = simulate("case9", {"strikes": [{"assets": ["line:3"]}], "horizon_h": 6,
    ...                         "repairs": {"crews": 1, "durations_h": {"line": 3}}})
    >>> tl.hourly["islands"].tolist()
    [2, 2, 2, 1, 1, 1]
    """
    p = prepare(grid, scenario)
    _check_mode(p.scenario.mode)
    return run_timeline(p.compiled, p.scenario, p.facilities, seed=p.scenario.seed if seed is None else int(seed),
                        repair_policy=repair_policy, use_strike_seeds=use_strike_seeds,
                        grid=_ac_grid(p) if p.scenario.ac_check else p.grid)


def _check_mode(mode: str) -> Mode:
    if mode not in MODES:
        raise InputError(f"unknown mode; expected one of {list(MODES)}", field="mode", value=mode)
    return cast(Mode, mode)


def _ac_grid(p: Prepared) -> Grid:
    """The prepared grid with its pandapower net for the AC check: a grid read from the on-disk cache carries
    none, so its source is imported again (tiers and facility loads applied as in :func:`prepare`)."""
    sc = p.scenario
    if p.grid is None or p.grid.source_net is not None or sc.grid is None:
        return p.grid
    g = load_grid(sc.grid, base_dir=sc.base_dir, cache=False)
    g, _ = _attach_facilities(apply_tiers(apply_unit_overrides(g, sc), sc), sc)
    return g
