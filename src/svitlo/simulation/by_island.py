"""Settled grid states assembled island by island, each island's outcome solved once per distinct island.

The timeline kernel (:mod:`svitlo.simulation.grid_states`) settles a grid state with the ``balance`` rule, the
island viability rules, cold-load pickup rationing, the black-start gate and the partial-facility rule. Every
one of these acts on each island alone: an island's dispatch, shedding, viability verdict, UFLS cut,
commitment, rationed pickup and held units depend only on its own buses, surviving units and loads, their
demand, the injections of its units and loads the hour before and which of its buses were live. Timelines
reach many distinct grid states (lognormal repair times make the sets of assets out nearly unique, and
cold-load pickup multiplies them: the demand of re-energised load changes hour by hour), but these are made of
far fewer distinct islands, since most of a state's islands are the same as in other states.

:class:`IslandMemo` solves a state by solving each island as a grid state of its own (every other bus dead)
the first time that island is met, keyed on what its outcome depends on, and assembles the state from the
islands' outcomes. The sums of the ``balance`` rule run per island over its own loads and units in index
order, so an island solved alone gives the same floats, bit for bit, as inside the whole grid (a test compares
assembled states with whole-grid solves, and the kernel's timelines with :func:`svitlo.simulate`).

The assembled :class:`~svitlo.engine.state.StateResult` carries what the kernel reads: damage masks (with the
units held dark and partial facility loads taken off), islands, energised islands, capacity, dispatch and
served load, and the viability verdict per island. Its ``deficit_mw`` after a solve without the frequency step
is that of the first history that met the island (nothing reads it there), and ``load_p_mw`` of a load in an
island without a grid-forming unit is its demand in that first solve (never served, and never read).

Examples
--------
>>> import numpy as np, svitlo
>>> from svitlo.model.compiled import compile_grid
>>> from svitlo.engine.damage import apply_damage
>>> from svitlo.simulation.lean import lean_state
>>> cg = compile_grid(svitlo.load_grid("case9"))
>>> memo = IslandMemo(cg)
>>> d = apply_damage(cg, ["line:3", "line:6"])
>>> r, _ = memo.solve(d, lambda sub: (lean_state(cg, sub), None), tag="plain", extra=lambda i: b"")
>>> ref = lean_state(cg, d)
>>> bool((r.load_served_mw == ref.load_served_mw).all() and (r.gen_p_mw == ref.gen_p_mw).all())
True
>>> r.n_islands, memo.misses                      # three islands, each solved alone
(3, 3)
>>> d2 = apply_damage(cg, ["line:3", "line:6", "load:0"])   # one island changes, two are met again
>>> r2, _ = memo.solve(d2, lambda sub: (lean_state(cg, sub), None), tag="plain", extra=lambda i: b"")
>>> memo.hits, memo.misses, bool((r2.load_served_mw == lean_state(cg, d2).load_served_mw).all())
(2, 4, True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from svitlo.engine.damage import DamageState
from svitlo.engine.state import StateResult
from svitlo.engine.viability import IslandViability
from svitlo.model.compiled import CompiledGrid
from svitlo.simulation.lean import island_labels

__all__ = ["IslandMemo", "Islands", "split_islands"]

_PER_ISLAND = ("lit", "reason", "deficit_mw", "nadir_hz", "peak_hz", "ufls_stages", "ufls_shed_mw", "decommitted")


@dataclass(frozen=True, eq=False)
class Islands:
    """The islands of a damaged state: island per bus (-1 dead), their count, and per island the indices of
    its buses, surviving units and surviving loads, and whether a surviving unit of it forms an island."""

    labels: np.ndarray
    n: int
    buses: list[np.ndarray]
    gens: list[np.ndarray]
    loads: list[np.ndarray]
    forming: np.ndarray
    all_gens: np.ndarray    # the surviving units island by island (``gens`` joined)
    all_loads: np.ndarray


def split_islands(cg: CompiledGrid, damage: DamageState, *, labels: tuple[np.ndarray, int] | None = None
                  ) -> Islands:
    """Islands of ``damage`` (numbered as :func:`svitlo.topology.islands.islands`) with their members.

    ``labels``: the island per bus and the count of a state with the same live buses and branches as
    ``damage`` (they depend on nothing else), when known; else computed."""
    lab, n = island_labels(cg, damage) if labels is None else labels
    g_isl = np.where(damage.gen_alive, lab[cg.gen_bus], -1)
    l_isl = np.where(damage.load_alive, lab[cg.load_bus], -1)

    def groups(isl: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        order = np.argsort(isl, kind="stable")
        cuts = np.searchsorted(isl[order], np.arange(n + 1))
        return [order[cuts[i]:cuts[i + 1]] for i in range(n)], order[cuts[0]:]

    forming = np.zeros(max(n, 1), dtype=bool)
    forming[g_isl[(g_isl >= 0) & cg.gen_forms_island]] = True
    (gens, all_g), (loads, all_l) = groups(g_isl), groups(l_isl)
    return Islands(labels=lab, n=n, buses=groups(lab)[0], gens=gens, loads=loads, forming=forming[:n],
                   all_gens=all_g, all_loads=all_l)


#: One island's outcome, packed as floats: a row (energised, capacity in MW, then the viability verdict's
#: per-island scalars), per unit of the island a row (dispatch in MW, alive, tripped, then committed), per load a
#: row (served in MW, alive, then demand left after UFLS in MW), whether tripped units were given, whether a
#: verdict was.
_Part = tuple


class IslandMemo:
    """Island outcomes solved once per distinct island (see the module docstring); ``hits``/``misses`` count
    islands."""

    def __init__(self, cg: CompiledGrid) -> None:
        self.cg = cg
        self.memo: dict[tuple, _Part] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self.memo)

    def _sub(self, damage: DamageState, isl: Islands, i: int) -> DamageState:
        cg = self.cg
        bus = np.zeros(cg.n_bus, dtype=bool)
        bus[isl.buses[i]] = True
        gen = np.zeros(cg.n_gen, dtype=bool)
        gen[isl.gens[i]] = True
        load = np.zeros(cg.n_load, dtype=bool)
        load[isl.loads[i]] = True
        return replace(damage, bus_alive=bus, branch_alive=damage.branch_alive & bus[cg.br_f] & bus[cg.br_t],
                       gen_alive=gen, load_alive=load)

    def solve(self, damage: DamageState, run: Callable[[DamageState], tuple[StateResult, np.ndarray | None]], *,
              tag: object, extra: Callable[[int], object], isl: Islands | None = None
              ) -> tuple[StateResult, np.ndarray | None]:
        """The state ``run`` would settle for ``damage``, assembled island by island.

        ``run(sub)`` settles a damage state (its result and the units it holds off, or None) and is called
        with one island alive at a time, for islands not met before; ``tag`` names the rules ``run`` applies
        and ``extra(i)`` gives what else island ``i``'s outcome depends on (its loads' demand, the injections
        before, live buses) when it holds a surviving grid-forming unit: both are part of the island's key with
        its buses, surviving units and loads.
        """
        cg = self.cg
        isl = split_islands(cg, damage) if isl is None else isl
        n = isl.n
        if n == 0:
            return run(damage)
        parts: list[_Part] = []
        for i in range(n):
            # an island without a surviving grid-forming unit stays dark whatever its demand, its injections
            # before or the buses live before: its members alone decide its outcome
            k = (tag, isl.buses[i].tobytes(), isl.gens[i].tobytes(), isl.loads[i].tobytes(),
                 extra(i) if isl.forming[i] else None)
            part = self.memo.get(k)
            if part is None:
                self.misses += 1
                r, tripped = run(self._sub(damage, isl, i))
                assert r.n_islands == 1, "an island solved alone is one island"
                g, ld = isl.gens[i], isl.loads[i]
                v = r.viability
                trip = tripped is not None
                # packed as floats (exact for the flags, counts and reason codes): per island one row, per unit
                # and per load one row each, so that a state assembles with one concatenation per kind
                row = (float(r.energised[0]), float(r.capacity_mw[0])) + (
                    () if v is None else tuple(float(getattr(v, f)[0]) for f in _PER_ISLAND))
                gcols = [r.gen_p_mw[g], r.damage.gen_alive[g],
                         tripped[g] if tripped is not None else np.zeros(g.size)]
                lcols = [r.load_served_mw[ld], r.damage.load_alive[ld]]
                if v is not None:
                    gcols.append(v.committed[g])
                    lcols.append(v.load_p_mw[ld])
                part = (row, np.column_stack(gcols).astype(float), np.column_stack(lcols).astype(float), trip,
                        v is not None)
                self.memo[k] = part
            else:
                self.hits += 1
            parts.append(part)
        return self._assemble(damage, isl, parts)

    def _assemble(self, damage: DamageState, isl: Islands, parts: list[_Part]
                  ) -> tuple[StateResult, np.ndarray | None]:
        cg, n = self.cg, isl.n
        g, ld = isl.all_gens, isl.all_loads
        rows = np.array([p[0] for p in parts], dtype=float)
        gp = np.concatenate([p[1] for p in parts]) if n > 1 else parts[0][1]
        lp = np.concatenate([p[2] for p in parts]) if n > 1 else parts[0][2]
        gen_p = np.zeros(cg.n_gen)
        served = np.zeros(cg.n_load)
        gen_alive = damage.gen_alive.copy()
        load_alive = damage.load_alive.copy()
        gen_p[g], gen_alive[g], served[ld], load_alive[ld] = gp[:, 0], gp[:, 1] != 0, lp[:, 0], lp[:, 1] != 0
        tripped = None
        if all(p[3] for p in parts):
            tripped = np.zeros(cg.n_gen, dtype=bool)
            tripped[g] = gp[:, 2] != 0
        v = None
        if parts[0][4]:
            dt = {"lit": bool, "reason": np.int64, "ufls_stages": np.int64, "decommitted": np.int64}
            cols = {f: rows[:, 2 + c].astype(dt.get(f, float)) for c, f in enumerate(_PER_ISLAND)}
            committed = np.zeros(cg.n_gen, dtype=bool)
            load_p = np.zeros(cg.n_load)
            committed[g] = gp[:, 3] != 0
            load_p[ld] = lp[:, 2]
            v = IslandViability(**cols, committed=committed, load_p_mw=load_p)
        d = replace(damage, gen_alive=gen_alive, load_alive=load_alive)
        r = StateResult(damage=d, labels=isl.labels, n_islands=n, energised=rows[:, 0] != 0, capacity_mw=rows[:, 1],
                        gen_p_mw=gen_p, load_served_mw=served, p_bus_mw=np.zeros(cg.n_bus),
                        theta_rad=np.zeros(cg.n_bus), flow_mw=np.zeros(cg.n_branch), mode="balance", viability=v)
        return r, tripped
