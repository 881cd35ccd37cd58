"""svitlo — where the light stays on when a power grid is under attack.

The public API (functions first)::

    grid = svitlo.load_grid("case118")              # bundled case, {file: ...}, a pandapower net
    sc = svitlo.load_scenario("scenario.yaml")       # validated YAML
    impact = svitlo.assess(grid, sc)                 # islands, shedding, flows -> Impact

Examples
--------
>>> import svitlo
>>> imp = svitlo.assess("case14", {"strikes": [{"assets": ["bus:1", "bus:4"]}]})
>>> imp.metrics["islands"] >= 1
True
"""

from svitlo.engine.assess import assess
from svitlo.engine.damage import DamageState, apply_damage
from svitlo.engine.impact import Impact
from svitlo.engine.state import StateResult, evaluate_state
from svitlo.engine.timeline import Timeline, simulate
from svitlo.errors import (
                           FacilityError,
                           GridError,
                           InputError,
                           ScenarioError,
                           SolverError,
                           StoreError,
                           SvitloError,
                           SvitloWarning,
)
from svitlo.facilities.io import load_facilities
from svitlo.io.cases import CASES, load_grid
from svitlo.io.scenario_file import load_scenario, parse_scenario
from svitlo.model.compiled import CompiledGrid, compile_grid
from svitlo.model.grid import Grid, make_grid
from svitlo.scenarios.spec import Scenario

__version__ = "0.1.0"

__all__ = [
    "assess", "load_grid", "load_scenario", "parse_scenario", "compile_grid", "make_grid", "apply_damage",
    "evaluate_state", "simulate", "load_facilities",
    "Grid", "Timeline", "CompiledGrid", "Scenario", "Impact", "DamageState", "StateResult", "CASES",
    "SvitloError", "InputError", "GridError", "ScenarioError", "FacilityError", "SolverError", "StoreError",
    "SvitloWarning", "__version__",
]
