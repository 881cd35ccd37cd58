"""The state svitlo reports for a damage: evaluation, then the cascade, then the facility on/off-grid rule.

``assess``, the timeline (at every change of state) and the sweep's exact path all call :func:`settle`, so one
damage gives one state whichever path asks:

1. :func:`svitlo.engine.state.evaluate_state` (islands, dispatch and shedding, DC flows);
2. when the scenario's ``cascade:`` is on, :func:`svitlo.engine.cascade.run_cascade` from that damage
   (tripped branches are out of service in the settled state);
3. **a facility is either on grid or off grid.** A facility's carved load (``facility_loads``) that the grid
   serves only in part cannot take that part: the facility switches to its own backup (or goes dark) and its
   carved load leaves the grid, which re-dispatches the power it frees to the other loads of the island. The
   state is evaluated again (with the cascade, when on) until every carved load is fully served or off grid.
   Facility loads are tier-ranked like any load, so this only happens to facilities in the tier being shed.

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> from svitlo.engine.damage import apply_damage
>>> cg = compile_grid(svitlo.load_grid("case9"))
>>> s = settle(cg, apply_damage(cg, ["line:3"]), cascade={"max_steps": 5})
>>> s.state.n_islands, s.cascade.converged, s.off_grid.size
(2, True, 0)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from svitlo.engine.cascade import CascadeResult, run_cascade
from svitlo.engine.damage import DamageState
from svitlo.engine.state import StateResult, evaluate_state
from svitlo.facilities.supply import SHED_TOL_MW, SHED_TOL_REL
from svitlo.model.compiled import CompiledGrid

__all__ = ["Settled", "settle", "partial_loads"]


@dataclass(frozen=True, eq=False)
class Settled:
    """The settled state, the cascade that led to it (None when off) and the facility loads (indices) the
    on/off-grid rule took off the grid."""

    state: StateResult
    cascade: CascadeResult | None
    off_grid: np.ndarray


def partial_loads(cg: CompiledGrid, state: StateResult, loads: np.ndarray) -> np.ndarray:
    """The loads among ``loads`` (indices) that are alive and energised but served only in part (beyond the
    tolerance of :func:`svitlo.facilities.supply.on_grid`)."""
    loads = np.asarray(loads, dtype=np.int64)
    loads = loads[loads >= 0]
    p = cg.load_p_mw[loads]
    s = state.load_served_mw[loads]
    lab = state.labels[cg.load_bus[loads]]
    en = (lab >= 0) & state.energised[np.maximum(lab, 0)] if lab.size else lab >= 0
    part = state.damage.load_alive[loads] & en & (p > 0) & (p - s > SHED_TOL_MW + SHED_TOL_REL * np.abs(p))
    return loads[part]


def settle(cg: CompiledGrid, damage: DamageState, *, mode: Literal["balance", "opf"] = "balance",
           options: dict | None = None, cascade: dict[str, Any] | None = None,
           facility_loads: np.ndarray | None = None, viability: Any = None,
           pre_event: tuple[np.ndarray, np.ndarray] | None = None) -> Settled:
    """Evaluate ``damage``, run the cascade when ``cascade`` (keyword arguments of
    :func:`~svitlo.engine.cascade.run_cascade`) is given, and apply the facility on/off-grid rule to
    ``facility_loads`` (load indices; pure, see the module docstring). ``viability`` and ``pre_event`` pass to
    :func:`~svitlo.engine.state.evaluate_state` (island viability rules; the injections before the event)."""

    def run(d: DamageState) -> tuple[StateResult, CascadeResult | None]:
        if cascade is None:
            return evaluate_state(cg, d, mode=mode, options=options, viability=viability, pre_event=pre_event), None
        c = run_cascade(cg, d, mode=mode, options=options, viability=viability, **cascade)
        return c.final, c

    state, casc = run(damage)
    off = np.zeros(0, dtype=np.int64)
    fl = np.zeros(0, dtype=np.int64) if facility_loads is None else np.asarray(facility_loads, dtype=np.int64)
    for _ in range(int(fl.size)):
        part = partial_loads(cg, state, fl)
        if not part.size:
            break
        off = np.union1d(off, part)
        alive = state.damage.load_alive.copy()
        alive[part] = False
        state, c2 = run(dataclasses.replace(state.damage, load_alive=alive))
        casc = _merge(casc, c2)
    return Settled(state=state, cascade=casc, off_grid=off)


def _merge(first: CascadeResult | None, then: CascadeResult | None) -> CascadeResult | None:
    """One cascade record for a cascade resumed after facilities left the grid."""
    if first is None or then is None:
        return then
    steps = then.steps.copy()
    steps["step"] = steps["step"] + len(first.steps)
    import pandas as pd

    return dataclasses.replace(then, steps=pd.concat([first.steps, steps], ignore_index=True),
                               tripped=first.tripped + then.tripped)
