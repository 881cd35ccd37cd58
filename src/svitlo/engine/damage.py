"""Apply strike damage to a compiled grid: which buses, branches, generators and loads survive.

A destroyed bus takes its branches, generators and loads with it.

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> cg = compile_grid(svitlo.load_grid("case9"))
>>> st = apply_damage(cg, ["bus:4"])
>>> int((~st.branch_alive).sum()), int((~st.load_alive).sum())
(2, 1)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from svitlo.model.compiled import CompiledGrid

__all__ = ["DamageState", "apply_damage", "damage_from_indices"]


@dataclass(frozen=True, eq=False)
class DamageState:
    """Survival masks after damage (True = in service). ``destroyed`` lists canonical asset ids hit."""

    bus_alive: np.ndarray
    branch_alive: np.ndarray
    gen_alive: np.ndarray
    load_alive: np.ndarray
    destroyed: tuple[str, ...] = ()


def damage_from_indices(cg: CompiledGrid, *, buses: Iterable[int] = (), branches: Iterable[int] = (),
                        gens: Iterable[int] = (), loads: Iterable[int] = (),
                        destroyed: tuple[str, ...] = ()) -> DamageState:
    """Survival masks from destroyed asset indices (pure)."""
    bus_alive = cg.bus_in_service.copy()
    bus_alive[np.fromiter(buses, dtype=np.int64)] = False
    branch_alive = cg.br_in_service.copy()
    branch_alive[np.fromiter(branches, dtype=np.int64)] = False
    branch_alive &= bus_alive[cg.br_f] & bus_alive[cg.br_t]
    gen_alive = cg.gen_in_service.copy()
    gen_alive[np.fromiter(gens, dtype=np.int64)] = False
    gen_alive &= bus_alive[cg.gen_bus]
    load_alive = cg.load_in_service.copy()
    load_alive[np.fromiter(loads, dtype=np.int64)] = False
    load_alive &= bus_alive[cg.load_bus]
    return DamageState(bus_alive, branch_alive, gen_alive, load_alive, destroyed)


def apply_damage(cg: CompiledGrid, destroyed: Iterable[str]) -> DamageState:
    """Survival masks after destroying the assets named by id (unknown ids raise :class:`GridError`)."""
    idx: dict[str, list[int]] = {"bus": [], "branch": [], "gen": [], "load": []}
    names: dict[str, None] = {}   # first-seen order, without the quadratic list membership test
    for aid in destroyed:
        cls, i = cg.asset(aid)
        idx[cls].append(i)
        names.setdefault(str(cg.aliases.get(str(aid).strip(), str(aid).strip())))
    return damage_from_indices(cg, buses=idx["bus"], branches=idx["branch"], gens=idx["gen"], loads=idx["load"],
                               destroyed=tuple(names))
