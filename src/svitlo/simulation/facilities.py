"""Facilities on an evaluated grid state: which the grid supplies (:mod:`svitlo.facilities.supply`'s rule) and
their states over the first hour (what ``assess`` reports).

Examples
--------
>>> import pandas as pd, svitlo
>>> from svitlo.engine.damage import apply_damage
>>> from svitlo.engine.state import evaluate_state
>>> cg = svitlo.compile_grid(svitlo.load_grid("case9"))
>>> fidx = facility_index(pd.DataFrame({"id": ["h1"], "bus": ["bus:4"], "grid_load": [""]}), cg)
>>> facility_on_grid(cg, evaluate_state(cg, apply_damage(cg, ["bus:4"])), fidx).tolist()
[False]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from svitlo.engine.state import StateResult
from svitlo.facilities.backup import STATES, backup_left_h, backup_spec, initial_state, start_draws, step_backup
from svitlo.facilities.supply import FacilityIndex, facility_index, on_grid
from svitlo.model.compiled import CompiledGrid

__all__ = ["facility_on_grid", "facility_snapshot", "facility_index"]


def facility_on_grid(cg: CompiledGrid, r: StateResult, fac: FacilityIndex) -> np.ndarray:
    """Per facility: whether the grid supplies it in state ``r`` (:func:`svitlo.facilities.supply.on_grid`)."""
    lab = r.labels
    bus_en = (lab >= 0) & (r.energised[np.maximum(lab, 0)] if r.energised.size else np.zeros(lab.size, bool))
    demand = np.where(cg.load_in_service, cg.load_p_mw, 0.0)
    shed = np.where(r.damage.load_alive, demand - r.load_served_mw, demand)
    return on_grid(fac, bus_energised=bus_en, load_shed_mw=shed, load_p_mw=cg.load_p_mw,
                   load_alive=r.damage.load_alive)


def facility_snapshot(cg: CompiledGrid, r: StateResult, fac: pd.DataFrame, *, seed: int | None) -> pd.DataFrame:
    """Facility states over the first hour of a grid state: ``id, kind, name, bus, lat, lon, tier, demand_kw,
    population, on_grid, state, backup_left_h`` (hours left at the end of hour 0).

    ``fac`` is a facility table after :func:`svitlo.facilities.attach.carve_facility_loads`.
    """
    on = facility_on_grid(cg, r, facility_index(fac, cg))
    spec = backup_spec(fac)
    st, step = step_backup(spec, initial_state(spec), on, start_draws(seed, len(fac), 1))
    out = fac[["id", "kind", "name", "bus", "lat", "lon", "tier", "demand_kw", "population"]].copy()
    out["on_grid"] = on
    out["state"] = [STATES[s] for s in step.state]
    out["backup_left_h"] = backup_left_h(spec, st)
    return out.reset_index(drop=True)
