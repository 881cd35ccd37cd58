"""The one rule for whether the grid supplies a facility, on arrays (used by the timeline, ``assess`` and sweeps).

A facility is **on grid** when its bus is energised and the load carved for it
(:func:`svitlo.facilities.attach.carve_facility_loads`) is in service and fully served — within
``SHED_TOL_MW + SHED_TOL_REL * demand``. A partly shed facility is off grid: it runs on its own backup (or goes
dark) and takes nothing from the grid. A facility without a carved load is on grid whenever its bus is energised.
Whether its backup then carries it, and for how long, is :mod:`svitlo.facilities.backup`.

Examples
--------
>>> import numpy as np
>>> fidx = FacilityIndex(ids=np.array(["h1", "h2"], dtype=object), bus=np.array([0, 1]), load=np.array([0, -1]),
...                      table=None)
>>> on_grid(fidx, bus_energised=np.array([True, True]), load_shed_mw=np.array([0.5]),
...         load_p_mw=np.array([1.0])).tolist()
[False, True]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from svitlo.model.compiled import CompiledGrid

__all__ = ["FacilityIndex", "facility_index", "on_grid", "without_grid", "SHED_TOL_MW", "SHED_TOL_REL"]

#: Absolute part (MW) of the tolerance below which a carved load counts as fully served.
SHED_TOL_MW = 1e-12
#: Relative part of that tolerance (of the load's demand).
SHED_TOL_REL = 1e-9


@dataclass(frozen=True, eq=False)
class FacilityIndex:
    """Facility positions in a compiled grid: ids, bus index, carved load index (-1 when none), and the table."""

    ids: np.ndarray
    bus: np.ndarray
    load: np.ndarray
    table: Any


def facility_index(fac: pd.DataFrame, cg: CompiledGrid) -> FacilityIndex:
    """Index a facility table (with ``grid_load`` from carving) against the compiled grid."""
    bpos = {b: i for i, b in enumerate(cg.bus_ids)}
    lpos = {lid: i for i, lid in enumerate(cg.load_ids)}
    loads = fac["grid_load"] if "grid_load" in fac else pd.Series([""] * len(fac))
    return FacilityIndex(ids=fac["id"].astype(str).to_numpy(dtype=object),
                         bus=np.array([bpos[b] for b in fac["bus"]], dtype=np.int64),
                         load=np.array([lpos.get(x, -1) if x else -1 for x in loads], dtype=np.int64),
                         table=fac.reset_index(drop=True))


def on_grid(fac: FacilityIndex, *, bus_energised: np.ndarray, load_shed_mw: np.ndarray, load_p_mw: np.ndarray,
            load_alive: np.ndarray | None = None) -> np.ndarray:
    """Per facility: whether the grid supplies it (see the module docstring for the rule).

    Parameters
    ----------
    bus_energised
        Per bus of the grid: alive and in an energised island.
    load_shed_mw, load_p_mw
        Per load: shed and demand (MW). A destroyed load counts as fully shed.
    load_alive
        Per load: in service and not destroyed (``None``: all, the shed tells).
    """
    on = np.asarray(bus_energised, bool)[fac.bus].copy()
    has = fac.load >= 0
    j = fac.load[has]
    tol = SHED_TOL_MW + SHED_TOL_REL * np.abs(load_p_mw[j])
    ok = load_shed_mw[j] <= tol
    if load_alive is not None:
        ok &= load_alive[j]
    on[has] &= ok
    return on


def without_grid(fac: FacilityIndex, bus_energised: np.ndarray, load_shed_mw: np.ndarray,
                 load_p_mw: np.ndarray) -> list[str]:
    """Ids of the facilities without (full) grid supply (:func:`on_grid` negated)."""
    on = on_grid(fac, bus_energised=bus_energised, load_shed_mw=load_shed_mw, load_p_mw=load_p_mw)
    return [str(x) for x in fac.ids[~on]]
