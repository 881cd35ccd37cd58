"""``assess``: one scenario on one grid, end to end (pure: inputs are never mutated).

Examples
--------
>>> import svitlo
>>> imp = svitlo.assess("case9", {"strikes": [{"assets": ["line:3"]}]})
>>> imp.metrics["islands"], round(imp.metrics["shed_mw"], 6)
(2, 0.0)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from svitlo.engine.backup import facility_snapshot
from svitlo.engine.cascade import cascade_settings, run_cascade
from svitlo.engine.damage import apply_damage
from svitlo.engine.impact import Impact, build_impact, default_tier_weights
from svitlo.engine.state import evaluate_state
from svitlo.errors import ScenarioError
from svitlo.facilities.attach import prepare_facilities
from svitlo.io.cases import load_grid
from svitlo.io.scenario_file import load_scenario, parse_scenario
from svitlo.model.compiled import CompiledGrid, compile_grid
from svitlo.model.grid import Grid
from svitlo.scenarios.spec import Scenario
from svitlo.scenarios.strikes import resolve_strikes

__all__ = ["assess", "prepare_grid", "as_scenario", "intact_flows"]


def as_scenario(scenario: Scenario | dict | str | os.PathLike | None, grid: Any = None) -> Scenario:
    """Normalise a scenario given as a :class:`Scenario`, a dict, or a YAML path."""
    if scenario is None:
        scenario = {}
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, (str, Path)):
        return load_scenario(scenario)
    if isinstance(scenario, dict):
        data = dict(scenario)
        if "grid" not in data:
            data["grid"] = grid.name if isinstance(grid, Grid) else (grid if isinstance(grid, str) else "custom")
        return parse_scenario(data, source="scenario (dict)")
    raise ScenarioError("expected a Scenario, a dict or a YAML path", value=type(scenario).__name__)


def prepare_grid(grid: Grid, scenario: Scenario) -> Grid:
    """Apply the scenario's tiers and population to a grid (returns a new grid; unknown ids raise)."""
    loads = grid.loads.copy()
    src = "scenario"
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


def intact_flows(cg: CompiledGrid) -> np.ndarray:
    """Branch flows (MW) of the undamaged grid under the balance rule."""
    return evaluate_state(cg, apply_damage(cg, [])).flow_mw


def assess(grid: Grid | str | Any, scenario: Scenario | dict | str | os.PathLike | None = None, *,
           seed: int | None = None, mode: str | None = None, destroyed: list[str] | None = None,
           compiled: CompiledGrid | None = None, cascade: bool | dict | None = None,
           ac: bool | None = None) -> Impact:
    """Assess one strike scenario: damage, islands, per-island dispatch and shedding, DC flows.

    Parameters
    ----------
    grid
        A :class:`Grid`, a bundled case name, or anything :func:`svitlo.load_grid` accepts.
    scenario
        A :class:`Scenario`, a dict of scenario keys, or a YAML path. ``grid`` wins over ``scenario.grid``.
    seed
        Overrides the scenario seed (random strikes).
    mode
        Overrides the scenario mode (``"balance"`` or ``"opf"``).
    destroyed
        Extra asset ids to destroy, on top of the scenario's strikes.
    compiled
        A compiled form of ``grid`` (after the scenario's tiers) to reuse across calls. With it, the scenario's
        facilities are not read again: no ``facilities`` table is added.
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
    sc = as_scenario(scenario, grid)
    fac = None
    if compiled is not None:
        cg = compiled
    else:
        g = load_grid(sc.grid if grid is None else grid, base_dir=sc.base_dir)
        g, fac = prepare_facilities(prepare_grid(g, sc), sc)  # facility demand carved out of its bus's load
        cg = compile_grid(g)
    ids = resolve_strikes(cg, sc.strikes, seed=sc.seed if seed is None else seed,
                          intact_flows=lambda: intact_flows(cg), weapons=sc.weapons)
    for a in destroyed or []:
        canon = str(cg.aliases.get(a, a))
        cg.asset(canon)
        if canon not in ids:
            ids.append(canon)
    dmg = apply_damage(cg, ids)
    m = mode or sc.mode
    weights = default_tier_weights()
    opts = {"tier_weights": weights} if m == "opf" else None
    casc = cascade_settings(sc.cascade, cascade)
    c = run_cascade(cg, dmg, mode=m, options=opts, **casc) if casc is not None else None
    r = c.final if c is not None else evaluate_state(cg, dmg, mode=m, options=opts)
    imp = build_impact(cg, r, scenario=sc.name, tier_weights=weights)
    if fac is not None:  # facility states over hour 0: grid, backup or dark
        imp.extras["facilities"] = facility_snapshot(cg, r, fac, seed=sc.seed if seed is None else seed)
    if c is not None:
        imp.extras["cascade"] = c.steps
        imp.info["cascade"] = c.summary()
    if sc.ac_check if ac is None else ac:
        from svitlo.engine.ac import ac_check  # pandapower AC power flow

        src = g if compiled is None else load_grid(sc.grid if grid is None else grid, base_dir=sc.base_dir)
        a = ac_check(src, cg, r)
        imp.extras.update(a.tables)
        imp.info["ac"] = a.summary()
    return imp
