"""Evaluate one damaged state on a compiled grid: islands → dispatch & shedding → DC flows.

This is the array-level core that :func:`svitlo.assess` wraps into an :class:`~svitlo.engine.impact.Impact`.

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> from svitlo.engine.damage import apply_damage
>>> cg = compile_grid(svitlo.load_grid("case9"))
>>> r = evaluate_state(cg, apply_damage(cg, ["bus:4"]))
>>> r.n_islands, round(float(r.load_served_mw.sum()), 6)
(1, 225.0)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from svitlo.engine.damage import DamageState
from svitlo.engine.dcflow import dc_flows, slack_references
from svitlo.engine.dispatch import balance_dispatch, export_limit_mw, external_units
from svitlo.engine.viability import IslandViability, ViabilityOptions, effective_p_min, island_viability
from svitlo.errors import InputError
from svitlo.model.compiled import CompiledGrid
from svitlo.topology.islands import islands

__all__ = ["StateResult", "evaluate_state", "bus_injections_mw", "bus_energised", "intact_flows", "MODES", "Mode"]

Mode = Literal["balance", "opf"]
#: The dispatch modes (checked at the edge: an unknown mode is an :class:`~svitlo.errors.InputError`).
MODES: tuple[str, ...] = ("balance", "opf")


@dataclass(frozen=True, eq=False)
class StateResult:
    """Arrays describing one evaluated state (MW, rad). ``labels`` = island per bus (-1 dead)."""

    damage: DamageState
    labels: np.ndarray
    n_islands: int
    energised: np.ndarray
    capacity_mw: np.ndarray
    gen_p_mw: np.ndarray
    load_served_mw: np.ndarray
    p_bus_mw: np.ndarray
    theta_rad: np.ndarray
    flow_mw: np.ndarray
    mode: str = "balance"
    info: dict | None = None
    extras: dict | None = None  # further tables by name (e.g. ``binding`` from ``opf``), for Impact.extras
    viability: IslandViability | None = None  # per-island reasons, frequency, UFLS, commitment


def bus_injections_mw(cg: CompiledGrid, gen_p_mw: np.ndarray, load_served_mw: np.ndarray) -> np.ndarray:
    """Net injection per bus (MW): generation minus served load."""
    p = np.bincount(cg.gen_bus, weights=gen_p_mw, minlength=cg.n_bus)
    p -= np.bincount(cg.load_bus, weights=load_served_mw, minlength=cg.n_bus)
    return p


def evaluate_state(cg: CompiledGrid, damage: DamageState, *, mode: Mode = "balance",
                   options: dict | None = None, viability: ViabilityOptions | None = None,
                   pre_event: tuple[np.ndarray, np.ndarray] | None = None) -> StateResult:
    """Islands, dispatch with priority shedding, and DC flows for one damaged state (pure).

    Parameters
    ----------
    mode
        ``"balance"``: the fast rule of :mod:`svitlo.engine.dispatch`. ``"opf"``: DC optimal load shedding
        under ratings (:mod:`svitlo.engine.opf`).
    options
        Mode-specific options (e.g. ``tier_weights`` for ``opf``).
    viability
        Island viability rules (:mod:`svitlo.engine.viability`); None or disabled: every island holding a
        grid-forming unit is lit and ``p_min`` is not enforced. Reasons for dark islands are reported either way.
    pre_event
        Injections before the event (per generator, per load as ``-served``; MW) for the sudden deficits;
        default: the pre-strike state (:func:`svitlo.engine.viability.pre_event`).
    """
    labels, n = islands(cg.n_bus, cg.br_f, cg.br_t, damage.branch_alive, damage.bus_alive)
    info: dict = {}
    extras: dict = {}
    milp = None
    if mode == "opf" and viability is not None and viability.enabled:  # exact commitment MILP
        from svitlo.model.tiers import tier_weight_array

        milp = tier_weight_array(cg.load_tier, (options or {}).get("tier_weights"))
    v = island_viability(cg, damage, labels, n, viability or ViabilityOptions(), pre=pre_event, milp_weights=milp)
    on = viability is not None and viability.enabled
    gen_alive = v.committed if on else damage.gen_alive
    load_p = v.load_p_mw if on else cg.load_p_mw
    if mode == "balance":
        d = balance_dispatch(labels=labels, n_islands=n, gen_bus=cg.gen_bus, gen_p_mw=cg.gen_p_mw,
                             gen_p_max_mw=cg.gen_p_max_mw, gen_forms=cg.gen_forms_island,
                             gen_alive=gen_alive, load_bus=cg.load_bus, load_p_mw=load_p,
                             load_tier=cg.load_tier, load_alive=damage.load_alive,
                             gen_p_min_mw=effective_p_min(cg) if on else None,
                             gen_external=external_units(cg), gen_export_mw=export_limit_mw(cg))
        gen_p, served, energised, cap = d.gen_p_mw, d.load_served_mw, d.energised, d.capacity_mw
    elif mode == "opf":
        from svitlo.engine.opf import opf_dispatch  # optional stack (highspy)

        ocg, odmg, oopt = cg, damage, dict(options or {})
        if on:  # committed units only, held within [p_min, p_max]; loads after UFLS
            ocg = replace(cg, load_p_mw=np.where(damage.load_alive, load_p, cg.load_p_mw))
            odmg = replace(damage, gen_alive=gen_alive)
            oopt["p_min"] = "case"
        o = opf_dispatch(ocg, odmg, labels, n, **oopt)
        gen_p, served, energised, cap = o.gen_p_mw, o.load_served_mw, o.energised, o.capacity_mw
        info.update(o.info)
        extras.update(o.tables)
    else:
        raise InputError(f"unknown mode; expected one of {list(MODES)}", field="mode", value=mode)
    p_bus = bus_injections_mw(cg, gen_p, served)
    refs = slack_references(cg, labels, n, gen_alive)
    theta, flow = dc_flows(n_bus=cg.n_bus, br_f=cg.br_f, br_t=cg.br_t, br_b_pu=cg.br_b_pu,
                           br_shift_rad=cg.br_shift_rad, branch_alive=damage.branch_alive, labels=labels,
                           p_bus_mw=p_bus, base_mva=cg.base_mva, refs=refs)
    return StateResult(damage=damage, labels=labels, n_islands=n, energised=energised, capacity_mw=cap,
                       gen_p_mw=gen_p, load_served_mw=served, p_bus_mw=p_bus, theta_rad=theta, flow_mw=flow,
                       mode=mode, info=info, extras=extras, viability=v)


def bus_energised(cg: CompiledGrid, damage: DamageState) -> np.ndarray:
    """Per bus: alive and in an island holding a surviving island-forming generator."""
    from svitlo.engine.dispatch import energised_islands

    labels, n = islands(cg.n_bus, cg.br_f, cg.br_t, damage.branch_alive, damage.bus_alive)
    en = energised_islands(labels, n, cg.gen_bus, cg.gen_forms_island, damage.gen_alive)
    return (labels >= 0) & en[np.maximum(labels, 0)]


def intact_flows(cg: CompiledGrid) -> np.ndarray:
    """Branch flows (MW) of the undamaged grid under the balance rule."""
    from svitlo.engine.damage import apply_damage

    return evaluate_state(cg, apply_damage(cg, [])).flow_mw
