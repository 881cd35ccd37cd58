"""svitlo — where the light stays on when a power grid is under attack.

The public API (functions first)::

    grid = svitlo.load_grid("case118")              # bundled case, {file: ...}, a pandapower net
    sc = svitlo.load_scenario("scenario.yaml")       # validated YAML
    prepared = svitlo.prepare(grid, sc)              # tiers, facilities, compiled arrays: once
    impact = svitlo.assess(prepared)                 # islands, shedding, flows -> Impact
    timeline = svitlo.simulate(prepared)             # hour by hour -> Timeline

Subpackages load on first use: ``svitlo.report``, ``svitlo.analyses``, ``svitlo.store``.

Examples
--------
>>> import svitlo
>>> imp = svitlo.assess("case14", {"strikes": [{"assets": ["bus:1", "bus:4"]}]})
>>> imp.metrics["islands"] >= 1
True
"""

import importlib
from typing import Any

from svitlo._version import __version__
from svitlo.engine.damage import DamageState, apply_damage
from svitlo.engine.impact import Impact
from svitlo.engine.state import StateResult, evaluate_state
from svitlo.errors import (
    FacilityError,
    GridError,
    InputError,
    MissingDependencyError,
    ScenarioError,
    SolverError,
    StoreError,
    SvitloError,
    SvitloWarning,
)
from svitlo.io.cases import CASES, load_grid
from svitlo.io.facilities import load_facilities
from svitlo.io.scenario_file import load_scenario, parse_scenario
from svitlo.model.compiled import CompiledGrid, compile_grid
from svitlo.model.grid import Grid, make_grid
from svitlo.pipeline import GridLike, Prepared, ScenarioLike, assess, prepare, simulate
from svitlo.scenarios.spec import Scenario
from svitlo.simulation.timeline import Timeline

__all__ = [
    "CASES",
    "CompiledGrid",
    "DamageState",
    "FacilityError",
    "Grid",
    "GridError",
    "GridLike",
    "Impact",
    "InputError",
    "MissingDependencyError",
    "Prepared",
    "Scenario",
    "ScenarioError",
    "ScenarioLike",
    "SolverError",
    "StateResult",
    "StoreError",
    "SvitloError",
    "SvitloWarning",
    "Timeline",
    "__version__",
    "apply_damage",
    "assess",
    "compile_grid",
    "evaluate_state",
    "load_facilities",
    "load_grid",
    "load_scenario",
    "make_grid",
    "parse_scenario",
    "prepare",
    "simulate",
]

_LAZY = ("report", "analyses", "store", "simulation", "engine", "io", "model", "scenarios", "facilities",
         "topology", "pipeline")


def __getattr__(name: str) -> Any:  # subpackages on first use (``svitlo.report.write_report`` after ``import svitlo``)
    if name in _LAZY:
        return importlib.import_module(f"svitlo.{name}")
    raise AttributeError(f"module 'svitlo' has no attribute {name!r}")
