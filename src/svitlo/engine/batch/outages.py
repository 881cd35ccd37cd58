"""Strike scenarios as compact outage sets: CSR-style index lists per asset class.

Scenario ``s`` destroys buses ``bus_idx[bus_ptr[s]:bus_ptr[s+1]]``, branches
``branch_idx[branch_ptr[s]:branch_ptr[s+1]]`` and likewise generators and loads (indices into the arrays of a
:class:`~svitlo.model.compiled.CompiledGrid`). A destroyed bus takes its branches, generators and loads with it;
the engine derives those, so they need not be listed.

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> cg = compile_grid(svitlo.load_grid("case9"))
>>> o = outages_from_ids(cg, [["line:0", "bus:4"], [], ["gen:0"]])
>>> o.n_scenarios, o.branch_idx.tolist(), o.bus_idx.tolist(), o.gen_ptr.tolist()
(3, [0], [4], [0, 0, 0, 1])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from svitlo.engine.damage import DamageState
from svitlo.errors import InputError
from svitlo.model.compiled import CompiledGrid

__all__ = ["Outages", "outages_from_damage", "outages_from_ids", "outages_from_indices", "outages_from_universe"]

_CLASSES = ("bus", "branch", "gen", "load")


@dataclass(frozen=True, eq=False)
class Outages:
    """Destroyed assets of many scenarios, CSR-style per asset class (int64 arrays).

    Attributes
    ----------
    bus_ptr, bus_idx, branch_ptr, branch_idx, gen_ptr, gen_idx, load_ptr, load_idx
        ``*_ptr`` has ``n_scenarios + 1`` entries; scenario ``s`` destroys ``*_idx[*_ptr[s]:*_ptr[s+1]]``.
    """

    bus_ptr: np.ndarray
    bus_idx: np.ndarray
    branch_ptr: np.ndarray
    branch_idx: np.ndarray
    gen_ptr: np.ndarray
    gen_idx: np.ndarray
    load_ptr: np.ndarray
    load_idx: np.ndarray

    def __post_init__(self) -> None:
        n = None
        for cls in _CLASSES:
            ptr = np.ascontiguousarray(getattr(self, f"{cls}_ptr"), dtype=np.int64)
            idx = np.ascontiguousarray(getattr(self, f"{cls}_idx"), dtype=np.int64)
            object.__setattr__(self, f"{cls}_ptr", ptr)
            object.__setattr__(self, f"{cls}_idx", idx)
            if ptr.ndim != 1 or ptr.size < 1 or ptr[0] != 0 or np.any(np.diff(ptr) < 0) or ptr[-1] != idx.size:
                raise InputError("pointer array must start at 0, never decrease and end at the index count",
                                 source="Outages", field=f"{cls}_ptr", value=ptr[:8].tolist())
            if n is None:
                n = ptr.size - 1
            elif ptr.size - 1 != n:
                raise InputError(f"every class must describe the same number of scenarios ({n})",
                                 source="Outages", field=f"{cls}_ptr", value=ptr.size - 1)
            if np.any(idx < 0):
                raise InputError("negative asset index", source="Outages", field=f"{cls}_idx",
                                 value=int(idx[idx < 0][0]))

    @property
    def n_scenarios(self) -> int:
        """Number of scenarios."""
        return int(self.bus_ptr.size - 1)

    def scenario(self, s: int) -> dict[str, np.ndarray]:
        """Destroyed indices of scenario ``s`` by class (``bus``, ``branch``, ``gen``, ``load``)."""
        return {c: getattr(self, f"{c}_idx")[getattr(self, f"{c}_ptr")[s]:getattr(self, f"{c}_ptr")[s + 1]]
                for c in _CLASSES}

    def check(self, cg: CompiledGrid) -> None:
        """Raise :class:`InputError` if an index does not exist in ``cg``."""
        sizes = {"bus": cg.n_bus, "branch": cg.n_branch, "gen": cg.n_gen, "load": cg.n_load}
        for cls, n in sizes.items():
            idx = getattr(self, f"{cls}_idx")
            if idx.size and idx.max() >= n:
                raise InputError(f"index out of range for grid {cg.name!r} ({n} {cls} assets)",
                                 source="Outages", field=f"{cls}_idx", value=int(idx.max()))


def _csr_pairs(scen: np.ndarray, idx: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Pointer and index arrays from (scenario, index) pairs; sorted and unique within each scenario."""
    order = np.lexsort((idx, scen))
    idx, scen = idx[order], scen[order]
    keep = np.ones(idx.size, dtype=bool)
    keep[1:] = (idx[1:] != idx[:-1]) | (scen[1:] != scen[:-1])
    idx, scen = idx[keep], scen[keep]
    ptr = np.zeros(n + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(np.bincount(scen, minlength=n))
    return ptr, idx.astype(np.int64)


def _csr(lists: Sequence[Iterable[int]]) -> tuple[np.ndarray, np.ndarray]:
    arrs = [np.asarray(x if isinstance(x, np.ndarray) else list(x), dtype=np.int64).ravel() for x in lists]
    n = len(arrs)
    lens = np.fromiter((a.size for a in arrs), dtype=np.int64, count=n)
    idx = np.concatenate(arrs) if n and lens.sum() else np.zeros(0, dtype=np.int64)
    return _csr_pairs(np.repeat(np.arange(n, dtype=np.int64), lens), idx, n)


def outages_from_indices(*, buses: Sequence[Iterable[int]] | None = None,
                         branches: Sequence[Iterable[int]] | None = None,
                         gens: Sequence[Iterable[int]] | None = None,
                         loads: Sequence[Iterable[int]] | None = None) -> Outages:
    """:class:`Outages` from per-scenario index lists per class (missing classes: nothing destroyed).

    >>> outages_from_indices(branches=[[3, 1], [2]]).branch_idx.tolist()
    [1, 3, 2]
    """
    given = [x for x in (buses, branches, gens, loads) if x is not None]
    n = len(given[0]) if given else 0
    if any(len(x) != n for x in given):
        raise InputError("every class needs one index list per scenario", source="outages_from_indices",
                         field="lengths", value=[len(x) for x in given])
    parts = {}
    for cls, lists in zip(_CLASSES, (buses, branches, gens, loads)):
        parts[f"{cls}_ptr"], parts[f"{cls}_idx"] = _csr(lists if lists is not None else [()] * n)
    return Outages(**parts)


def outages_from_universe(ptr: np.ndarray, flat: np.ndarray, offsets: np.ndarray) -> Outages:
    """:class:`Outages` from indices into the concatenation of buses, branches, generators and loads
    (``offsets``: the five start positions), scenario ``s`` holding ``flat[ptr[s]:ptr[s+1]]``.

    >>> outages_from_universe(np.array([0, 2, 3]), np.array([1, 5, 4]), np.array([0, 3, 6, 8, 9])).branch_idx.tolist()
    [2, 1]
    """
    ptr = np.asarray(ptr, dtype=np.int64)
    flat = np.asarray(flat, dtype=np.int64)
    n = ptr.size - 1
    scen = np.repeat(np.arange(n, dtype=np.int64), np.diff(ptr))
    cls = np.searchsorted(offsets, flat, side="right") - 1
    parts = {}
    for code, name in enumerate(_CLASSES):
        sel = cls == code
        parts[f"{name}_ptr"], parts[f"{name}_idx"] = _csr_pairs(scen[sel], flat[sel] - offsets[code], n)
    return Outages(**parts)


def outages_from_ids(cg: CompiledGrid, scenarios: Sequence[Iterable[str]]) -> Outages:
    """:class:`Outages` from lists of asset ids (``"line:3"``, ``"bus:7"``, ...); unknown ids raise
    :class:`~svitlo.errors.GridError`. Ids are looked up in one vectorised pass (aliases resolved)."""
    import pandas as pd

    per = [list(ids) for ids in scenarios]
    n = len(per)
    lens = np.fromiter((len(x) for x in per), dtype=np.int64, count=n)
    flat = [aid for ids in per for aid in ids]
    keys = list(cg._index)
    cls_code = {c: j for j, c in enumerate(_CLASSES)}
    codes = np.fromiter((cls_code[cg._index[k][0]] for k in keys), dtype=np.int64, count=len(keys))
    pos = np.fromiter((cg._index[k][1] for k in keys), dtype=np.int64, count=len(keys))
    hit = pd.Index(keys).get_indexer(np.asarray(flat, dtype=object)) if flat else np.zeros(0, dtype=np.int64)
    cls = np.where(hit >= 0, codes[np.maximum(hit, 0)], -1) if flat else hit
    idx = np.where(hit >= 0, pos[np.maximum(hit, 0)], -1) if flat else hit
    for j in np.flatnonzero(hit < 0):  # aliases, stray spaces; unknown ids raise here
        c, i = cg.asset(flat[j])
        cls[j], idx[j] = cls_code[c], i
    scen = np.repeat(np.arange(n, dtype=np.int64), lens)
    parts = {}
    for code, name in enumerate(_CLASSES):
        sel = cls == code
        parts[f"{name}_ptr"], parts[f"{name}_idx"] = _csr_pairs(scen[sel], idx[sel].astype(np.int64), n)
    return Outages(**parts)


def outages_from_damage(states: Sequence[DamageState], *, cg: CompiledGrid | None = None) -> Outages:
    """:class:`Outages` from damage states: every asset not alive counts as destroyed.

    With ``cg``, assets already out of service before the strike are left out (the result is the same either
    way; the lists are only shorter).
    """
    lists: dict[str, list[np.ndarray]] = {c: [] for c in _CLASSES}
    for st in states:
        masks = {"bus": st.bus_alive, "branch": st.branch_alive, "gen": st.gen_alive, "load": st.load_alive}
        base = ({"bus": cg.bus_in_service, "branch": cg.br_in_service, "gen": cg.gen_in_service,
                 "load": cg.load_in_service} if cg is not None else None)
        for c, m in masks.items():
            dead = ~np.asarray(m, dtype=bool)
            if base is not None:
                dead &= base[c]
            lists[c].append(np.flatnonzero(dead))
    return outages_from_indices(buses=lists["bus"], branches=lists["branch"], gens=lists["gen"],
                                loads=lists["load"])
