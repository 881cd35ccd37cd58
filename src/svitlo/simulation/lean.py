"""A grid state without DC flows, for timelines that only need who is served (islands and the ``balance`` rule).

:func:`lean_state` returns the :class:`~svitlo.engine.state.StateResult` of
:func:`~svitlo.engine.state.evaluate_state` in ``balance`` mode with the angles and flows left at zero (the
timeline Monte Carlo records served and shed load, never flows). Islands come from a union-find over the
surviving branches (numba when installed), numbered like :func:`svitlo.topology.islands.islands`: by their
lowest bus index.

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> from svitlo.engine.damage import apply_damage
>>> from svitlo.engine.state import evaluate_state
>>> cg = compile_grid(svitlo.load_grid("case9"))
>>> d = apply_damage(cg, ["line:3", "bus:4"])
>>> a, b = lean_state(cg, d), evaluate_state(cg, d)
>>> a.labels.tolist() == b.labels.tolist(), bool((a.load_served_mw == b.load_served_mw).all())
(True, True)
"""

from __future__ import annotations

import importlib.util

import numpy as np

from svitlo.engine.damage import DamageState
from svitlo.engine.dispatch import balance_dispatch, export_limit_mw, external_units
from svitlo.engine.state import StateResult
from svitlo.engine.viability import ViabilityOptions, effective_p_min, island_viability
from svitlo.model.compiled import CompiledGrid

__all__ = ["lean_state", "island_labels"]


def _labels_py(n_bus: int, f: np.ndarray, t: np.ndarray, bus_alive: np.ndarray) -> np.ndarray:
    parent = np.arange(n_bus)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in zip(f.tolist(), t.tolist()):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    out = np.full(n_bus, -1, dtype=np.int64)
    n = 0
    root_label = np.full(n_bus, -1, dtype=np.int64)
    for i in range(n_bus):
        if bus_alive[i]:
            r = find(i)
            if root_label[r] < 0:
                root_label[r] = n
                n += 1
            out[i] = root_label[r]
    return out


_labels = _labels_py
if importlib.util.find_spec("numba") is not None:  # pragma: no branch - depends on the environment
    import numba as _nb

    @_nb.njit(cache=True)
    def _labels_nb(n_bus, f, t, bus_alive):  # pragma: no cover - compiled
        parent = np.arange(n_bus)
        for k in range(f.size):
            a = f[k]
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            b = t[k]
            while parent[b] != b:
                parent[b] = parent[parent[b]]
                b = parent[b]
            if a != b:
                if a < b:
                    parent[b] = a
                else:
                    parent[a] = b
        out = np.full(n_bus, -1, dtype=np.int64)
        root_label = np.full(n_bus, -1, dtype=np.int64)
        n = 0
        for i in range(n_bus):
            if bus_alive[i]:
                r = i
                while parent[r] != r:
                    r = parent[r]
                if root_label[r] < 0:
                    root_label[r] = n
                    n += 1
                out[i] = root_label[r]
        return out

    _labels = _labels_nb


def island_labels(cg: CompiledGrid, damage: DamageState) -> tuple[np.ndarray, int]:
    """Island per bus (-1 dead) and the number of islands, as :func:`svitlo.topology.islands.islands`."""
    ok = damage.branch_alive & damage.bus_alive[cg.br_f] & damage.bus_alive[cg.br_t]
    lab = _labels(cg.n_bus, np.ascontiguousarray(cg.br_f[ok], dtype=np.int64),
                  np.ascontiguousarray(cg.br_t[ok], dtype=np.int64), np.ascontiguousarray(damage.bus_alive))
    return lab, int(lab.max()) + 1 if lab.size and lab.max() >= 0 else 0


_UNITS: dict[int, tuple] = {}


def _unit_arrays(cg: CompiledGrid) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``effective_p_min``, ``external_units`` and ``export_limit_mw`` of ``cg``'s units, computed once per set
    of (read-only) unit arrays: grids that differ only in demand (cold-load pickup) share them."""
    arrays = (cg.gen_p_min_mw, cg.gen_p_max_mw, cg.gen_external)
    k = id(cg.gen_p_min_mw)
    got = _UNITS.get(k)
    if got is None or any(a is not b for a, b in zip(got[0], arrays)) or any(a.flags.writeable for a in arrays):
        got = (arrays, (effective_p_min(cg), external_units(cg), export_limit_mw(cg)))
        if not any(a.flags.writeable for a in arrays):   # held by reference: the id cannot be reused
            if len(_UNITS) > 64:
                _UNITS.clear()
            _UNITS[k] = got
    return got[1]


def lean_state(cg: CompiledGrid, damage: DamageState, *, viability: ViabilityOptions | None = None,
               pre_event: tuple[np.ndarray, np.ndarray] | None = None) -> StateResult:
    """``evaluate_state(cg, damage, mode="balance", viability=, pre_event=)`` without the DC flows
    (``theta_rad``, ``flow_mw``, ``p_bus_mw`` zero). With ``viability`` on, the island rules of
    :func:`svitlo.engine.viability.island_viability` (commitment, UFLS loads, ``p_min``) apply as there; without,
    ``viability`` is left ``None`` on the result (no reasons for dark islands)."""
    labels, n = island_labels(cg, damage)
    on = viability is not None and viability.enabled
    v = island_viability(cg, damage, labels, n, viability, pre=pre_event) if viability is not None and on else None
    p_min, external, export = _unit_arrays(cg)
    d = balance_dispatch(labels=labels, n_islands=n, gen_bus=cg.gen_bus, gen_p_mw=cg.gen_p_mw,
                         gen_p_max_mw=cg.gen_p_max_mw, gen_forms=cg.gen_forms_island,
                         gen_alive=damage.gen_alive if v is None else v.committed, load_bus=cg.load_bus,
                         load_p_mw=cg.load_p_mw if v is None else v.load_p_mw, load_tier=cg.load_tier,
                         load_alive=damage.load_alive, gen_p_min_mw=p_min if on else None,
                         gen_external=external, gen_export_mw=export)
    return StateResult(damage=damage, labels=labels, n_islands=n, energised=d.energised, capacity_mw=d.capacity_mw,
                       gen_p_mw=d.gen_p_mw, load_served_mw=d.load_served_mw, p_bus_mw=np.zeros(cg.n_bus),
                       theta_rad=np.zeros(cg.n_bus), flow_mw=np.zeros(cg.n_branch), mode="balance", viability=v)
