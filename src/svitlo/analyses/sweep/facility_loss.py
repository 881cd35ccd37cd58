"""Which critical facilities lose grid power in a swept scenario (hour 0, before any repair).

A facility loses grid power when its bus is destroyed or in a de-energised island, or when any part of the
load carved for it (:func:`svitlo.facilities.carve_facility_loads`) is shed: a rationed hospital runs on its
backup. This is the rule of :func:`svitlo.engine.backup.facility_on_grid` (the timeline's), applied here to
the per-load shed of a batch of scenarios. Whether its backup then carries it, and for how long, is a timeline question; the sweep stores the
facilities without grid supply per scenario and the report gives each facility's probability of losing it.

Examples
--------
>>> import svitlo
>>> from svitlo.engine.damage import apply_damage
>>> from svitlo.engine.state import evaluate_state
>>> g = svitlo.load_grid("case9")
>>> fac = facility_index(pd.DataFrame({"id": ["h1"], "bus": ["bus:4"], "grid_load": [""]}),
...                      svitlo.compile_grid(g))
>>> cg = svitlo.compile_grid(g)
>>> r = evaluate_state(cg, apply_damage(cg, ["bus:4"]))
>>> without_grid(fac, bus_energised(cg, r.damage), np.zeros(cg.n_load))
['h1']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from svitlo.engine.damage import DamageState
from svitlo.engine.dispatch import energised_islands
from svitlo.model.compiled import CompiledGrid
from svitlo.topology.islands import islands

__all__ = ["FacilityIndex", "facility_index", "bus_energised", "without_grid", "SHED_TOL_MW",
           "SHED_TOL_REL"]

#: Absolute part (MW) of the tolerance below which a carved load counts as fully served.
SHED_TOL_MW = 1e-12
#: Relative part of that tolerance (of the load's demand).
SHED_TOL_REL = 1e-9


@dataclass(frozen=True, eq=False)
class FacilityIndex:
    """Facility positions in a compiled grid and their table (for reports)."""

    ids: np.ndarray
    bus: np.ndarray
    load: np.ndarray  # carved load index, -1 when none
    table: pd.DataFrame


def facility_index(fac: pd.DataFrame, cg: CompiledGrid) -> FacilityIndex:
    """Index a facility table (with ``grid_load`` from carving) against the compiled grid."""
    bpos = {b: i for i, b in enumerate(cg.bus_ids)}
    lpos = {lid: i for i, lid in enumerate(cg.load_ids)}
    loads = fac["grid_load"] if "grid_load" in fac else pd.Series([""] * len(fac))
    return FacilityIndex(ids=fac["id"].astype(str).to_numpy(dtype=object),
                         bus=np.array([bpos[b] for b in fac["bus"]], dtype=np.int64),
                         load=np.array([lpos.get(x, -1) if x else -1 for x in loads], dtype=np.int64),
                         table=fac.reset_index(drop=True))


def bus_energised(cg: CompiledGrid, damage: DamageState) -> np.ndarray:
    """Per bus: alive and in an island holding a surviving island-forming generator."""
    labels, n = islands(cg.n_bus, cg.br_f, cg.br_t, damage.branch_alive, damage.bus_alive)
    en = energised_islands(labels, n, cg.gen_bus, cg.gen_forms_island, damage.gen_alive)
    return (labels >= 0) & en[np.maximum(labels, 0)]


def without_grid(fac: FacilityIndex, bus_en: np.ndarray, load_shed_mw: np.ndarray,
                 load_p_mw: np.ndarray | None = None) -> list[str]:
    """Ids of facilities without (full) grid supply, given bus energisation and shed per load (MW).

    ``load_p_mw`` (demand per load) sets the relative tolerance; without it only the absolute one applies.
    """
    dark = ~bus_en[fac.bus]
    has = fac.load >= 0
    j = fac.load[has]
    tol = SHED_TOL_MW + (SHED_TOL_REL * load_p_mw[j] if load_p_mw is not None else 0.0)
    dark[has] |= load_shed_mw[j] > tol
    return [str(x) for x in fac.ids[dark]]
