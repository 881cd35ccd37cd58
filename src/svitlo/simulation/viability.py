"""Island viability over time: frequency at each change, UFLS load back the hour after, black start.

The static rules are those of :mod:`svitlo.engine.viability`; over a timeline:

* at each hour the grid changes (strikes, repairs), sudden deficits are measured against the previous hour's
  state (an island that was already running alone loses nothing new);
* the hour after, the transient is over: operators reconnect UFLS-shed load by priority within the islands'
  capacity (the rules re-applied without the frequency step);
* an island lost to a frequency collapse stays dark until the grid changes again; a dark island comes back only
  through a black-start unit (``black_start``; external grids always) or by reconnection to a bus that was live
  the hour before;
* an island that separates with a surplus and trips on over-frequency is lost like a collapsed one;
* load back after an outage picks up cold (:mod:`svitlo.simulation.pickup`): more demand for a few hours,
  rationed by tier where the island cannot carry it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from svitlo.engine.state import StateResult, evaluate_state
from svitlo.engine.viability import COLLAPSE, GF_SHARE, INERTIA, OVERFREQ, ViabilityOptions, unit_inertia_mws
from svitlo.model.compiled import CompiledGrid
from svitlo.simulation.events import EventLog
from svitlo.simulation.pickup import ColdLoadPickup, PickupState

__all__ = ["black_start_gate", "held_dark", "restarting_islands", "collapsed_units", "viability_events",
           "injections", "ration_pickup", "pickup_events"]


def injections(r: StateResult) -> tuple[np.ndarray, np.ndarray]:
    """Injections of a state per generator and per load (``-served``; MW), the ``pre_event`` of the next."""
    return r.gen_p_mw, -np.where(r.damage.load_alive, r.load_served_mw, 0.0)


def restarting_islands(cg: CompiledGrid, r: StateResult, live: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """``(island, units)`` for every lit island of ``r`` with no bus in ``live`` (dark the hour before): the
    islands the black-start rule decides on."""
    g_isl = np.where(r.damage.gen_alive, r.labels[cg.gen_bus], -1)
    return [(int(i), np.flatnonzero(g_isl == i)) for i in np.flatnonzero(r.energised)
            if not live[r.labels == i].any()]  # else reconnected to (or still part of) a live island


def held_dark(cg: CompiledGrid, r: StateResult, live: np.ndarray) -> np.ndarray:
    """The units :func:`black_start_gate` holds off: those of a lit island that was dark the hour before and
    holds no black-start unit."""
    held = np.zeros(cg.n_gen, dtype=bool)
    for _, units in restarting_islands(cg, r, live):
        if not cg.gen_black_start[units].any():
            held[units] = True
    return held


def black_start_gate(cg: CompiledGrid, r: StateResult, live: np.ndarray, ev: EventLog, h: int, **kw: Any
                     ) -> tuple[StateResult, np.ndarray]:
    """Keep dark an island that was dark in the previous hour unless it reconnects to a bus that was live or
    holds a black-start unit. Returns the state and the units held off (until the grid changes again)."""
    held = np.zeros(cg.n_gen, dtype=bool)
    for i, units in restarting_islands(cg, r, live):
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
        bad[: r.n_islands] = (v.reason == COLLAPSE) | (v.reason == OVERFREQ)
    return (isl >= 0) & bad[np.maximum(isl, 0)]


def viability_events(ev: EventLog, h: int, r: StateResult) -> None:
    """Events for islands where frequency fell or rose, UFLS shed load or the island collapsed."""
    v = r.viability
    if v is None:
        return
    for i in range(r.n_islands):
        if v.reason[i] == COLLAPSE:
            ev.add(h, "frequency_collapse", f"island:{i}",
                   f"Island {i} separated with a {v.deficit_mw[i]:.1f} MW deficit: frequency fell below the "
                   "collapse threshold and the island went dark.")
        elif v.reason[i] == OVERFREQ:
            ev.add(h, "over_frequency", f"island:{i}",
                   f"Island {i} separated with a {-v.deficit_mw[i]:.1f} MW surplus: frequency rose to "
                   f"{v.peak_hz[i]:.2f} Hz despite inverters cutting back (LFSM-O); generators' over-frequency "
                   "protection tripped and the island went dark.")
        elif v.deficit_mw[i] < 0 and v.peak_hz[i] > v.nadir_hz[i] + 0.05:  # a surplus (the nadir stays nominal)
            ev.add(h, "frequency", f"island:{i}",
                   f"Island {i} separated with a {-v.deficit_mw[i]:.1f} MW surplus: frequency rose to "
                   f"{v.peak_hz[i]:.2f} Hz and settled as governors and inverters cut back.")
        elif v.ufls_shed_mw[i] > 0:
            ev.add(h, "ufls", f"island:{i}",
                   f"Island {i} separated with a {v.deficit_mw[i]:.1f} MW deficit: frequency fell to "
                   f"{v.nadir_hz[i]:.2f} Hz; under-frequency load shedding cut {v.ufls_shed_mw[i]:.1f} MW in "
                   f"{v.ufls_stages[i]} stage{'s' if v.ufls_stages[i] != 1 else ''}.")
        elif v.nadir_hz[i] < 49.95:
            ev.add(h, "frequency", f"island:{i}",
                   f"Island {i} separated with a {v.deficit_mw[i]:.1f} MW deficit: frequency dipped to "
                   f"{v.nadir_hz[i]:.2f} Hz.")


def ration_pickup(cg: CompiledGrid, r: StateResult, mult: np.ndarray, solve: Callable[[np.ndarray], StateResult],
                  *, opts: ViabilityOptions) -> tuple[StateResult, np.ndarray]:
    """Pick cold load up in blocks, by priority tier, in islands the viability rules darken under the pickup
    (grid-forming share or inertia below minimum for the surge).

    Each such island carries as much demand as its grid-forming capacity and kinetic energy allow
    (``Σ H p_max / min_inertia_s`` and ``grid-forming p_max / min_grid_forming_share``); its warm loads come
    first, then its cold loads tier by tier (tier 1 first), the last one in part. ``cg`` carries the hour's
    demand, ``mult`` the pickup multipliers, ``solve(scale)`` re-solves the hour with each load's demand times
    ``scale``. Returns the state and the share of each load held off (all zero, and ``r``, when nothing can be
    picked up that way).
    """
    v = r.viability
    off = np.zeros(cg.n_load)
    if v is None or not r.n_islands:
        return r, off
    l_isl = np.where(r.damage.load_alive, r.labels[cg.load_bus], -1)
    bad = ~v.lit & ((v.reason == GF_SHARE) | (v.reason == INERTIA))
    cold = (mult > 1.0) & (l_isl >= 0) & bad[np.maximum(l_isl, 0)]
    if not cold.any():
        return r, off
    g_isl = np.where(r.damage.gen_alive, r.labels[cg.gen_bus], -1)
    pmax = np.maximum(cg.gen_p_max_mw, 0.0)
    ke = unit_inertia_mws(cg)
    p = np.maximum(cg.load_p_mw, 0.0)
    scale = np.ones(cg.n_load)
    for i in np.unique(l_isl[cold]):
        gi = g_isl == i
        limit = math.inf
        if opts.min_inertia_s > 0:
            limit = float(ke[gi].sum()) / opts.min_inertia_s
        gf, cap = float(pmax[gi & cg.gen_forms_island].sum()), float(pmax[gi].sum())
        if opts.min_grid_forming_share > 0 and gf / opts.min_grid_forming_share < cap:
            limit = min(limit, gf / opts.min_grid_forming_share)
        room = limit * (1.0 - 1e-9) - float(p[(l_isl == i) & ~cold].sum())
        if not room > 0.0:
            continue  # dark even without its cold load
        ci = np.flatnonzero(cold & (l_isl == i))
        for k in ci[np.lexsort((ci, cg.load_tier[ci]))]:
            take = min(p[k], room)
            scale[k] = take / p[k] if p[k] > 0 else 1.0
            room -= take
    if np.all(scale == 1.0):
        return r, off
    return solve(scale), 1.0 - scale


def pickup_events(ev: EventLog, h: int, cg: CompiledGrid, r: StateResult, state: PickupState, mult: np.ndarray,
                  cfg: ColdLoadPickup | None) -> None:
    """An event for the load picked up cold this hour (``cg`` with normal demand), and for what waits."""
    if cfg is None:
        return
    cold = (state.out_h >= max(cfg.min_outage_h, 1)) & (mult > 1.0) & r.damage.load_alive
    served = np.where(r.damage.load_alive, r.load_served_mw, 0.0)
    picked = cold & (served > 1e-9)
    if cg.load_p_mw[picked].sum() < 0.05:  # nothing worth a line in the story
        return
    p = cg.load_p_mw
    back, draw = float(p[picked].sum()), float(served[picked].sum())
    lab = np.where(r.damage.load_alive, r.labels[cg.load_bus], -1)
    lit = (lab >= 0) & (r.energised[np.maximum(lab, 0)] if r.energised.size else False)
    wait = float((np.maximum(p * mult - served, 0.0) / mult)[cold & lit].sum())
    out_h = int(state.out_h[picked].max())
    text = (f"{back:.1f} MW of load back after up to {out_h} h without power picks up cold: it draws "
            f"{draw:.1f} MW this hour (x{cfg.factor:g} at first, normal again within {cfg.decay_h:g} h).")
    if wait > 1e-6:
        text += f" {wait:.1f} MW of it waits: the islands ration the pickup by priority tier."
    ev.add(h, "cold_load_pickup", "grid", text)
