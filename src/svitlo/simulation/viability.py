"""Island viability over time: frequency at each change, UFLS load back the hour after, black start.

The static rules are those of :mod:`svitlo.engine.viability`; over a timeline:

* at each hour the grid changes (strikes, repairs), sudden deficits are measured against the previous hour's
  state (an island that was already running alone loses nothing new);
* the hour after, the transient is over: operators reconnect UFLS-shed load by priority within the islands'
  capacity (the rules re-applied without the frequency step);
* an island lost to a frequency collapse stays dark until the grid changes again; a dark island comes back only
  through a black-start unit (``black_start``; external grids always) or by reconnection to a bus that was live
  the hour before. Cold-load pickup is not modelled: a restored island picks up its full load at once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from svitlo.engine.state import StateResult, evaluate_state
from svitlo.engine.viability import COLLAPSE
from svitlo.model.compiled import CompiledGrid
from svitlo.simulation.events import EventLog

__all__ = ["black_start_gate", "collapsed_units", "viability_events", "injections"]


def injections(r: StateResult) -> tuple[np.ndarray, np.ndarray]:
    """Injections of a state per generator and per load (``-served``; MW), the ``pre_event`` of the next."""
    return r.gen_p_mw, -np.where(r.damage.load_alive, r.load_served_mw, 0.0)


def black_start_gate(cg: CompiledGrid, r: StateResult, live: np.ndarray, ev: EventLog, h: int, **kw: Any
                     ) -> tuple[StateResult, np.ndarray]:
    """Keep dark an island that was dark in the previous hour unless it reconnects to a bus that was live or
    holds a black-start unit. Returns the state and the units held off (until the grid changes again)."""
    held = np.zeros(cg.n_gen, dtype=bool)
    g_isl = np.where(r.damage.gen_alive, r.labels[cg.gen_bus], -1)
    for i in np.flatnonzero(r.energised):
        if live[r.labels == i].any():
            continue  # reconnected to (or still part of) a live island
        units = np.flatnonzero(g_isl == i)
        starters = units[cg.gen_black_start[units]]
        if starters.size:
            ev.add(h, "black_start", f"island:{i}", f"Island {i} black-started by {cg.gen_ids[starters[0]]}.")
            continue
        held[units] = True
        ev.add(h, "black_start", f"island:{i}", f"Island {i} stays dark: no black-start unit and no live "
                                                "neighbour to reconnect to.")
    if held.any():
        r = evaluate_state(cg, replace(r.damage, gen_alive=r.damage.gen_alive & ~held), **kw)
    return r, held


def collapsed_units(cg: CompiledGrid, r: StateResult) -> np.ndarray:
    """Units in islands lost to frequency collapse (tripped by under-frequency protection)."""
    v = r.viability
    isl = np.where(r.damage.gen_alive, r.labels[cg.gen_bus], -1)
    bad = np.zeros(max(r.n_islands, 1), dtype=bool)
    if v is not None and r.n_islands:
        bad[: r.n_islands] = v.reason == COLLAPSE
    return (isl >= 0) & bad[np.maximum(isl, 0)]


def viability_events(ev: EventLog, h: int, r: StateResult) -> None:
    """Events for islands where frequency fell, UFLS shed load or the island collapsed."""
    v = r.viability
    if v is None:
        return
    for i in range(r.n_islands):
        if v.reason[i] == COLLAPSE:
            ev.add(h, "frequency_collapse", f"island:{i}",
                   f"Island {i} separated with a {v.deficit_mw[i]:.1f} MW deficit: frequency fell below the "
                   "collapse threshold and the island went dark.")
        elif v.ufls_shed_mw[i] > 0:
            ev.add(h, "ufls", f"island:{i}",
                   f"Island {i} separated with a {v.deficit_mw[i]:.1f} MW deficit: frequency fell to "
                   f"{v.nadir_hz[i]:.2f} Hz; under-frequency load shedding cut {v.ufls_shed_mw[i]:.1f} MW in "
                   f"{v.ufls_stages[i]} stage{'s' if v.ufls_stages[i] != 1 else ''}.")
        elif v.nadir_hz[i] < 49.95:
            ev.add(h, "frequency", f"island:{i}",
                   f"Island {i} separated with a {v.deficit_mw[i]:.1f} MW deficit: frequency dipped to "
                   f"{v.nadir_hz[i]:.2f} Hz.")
