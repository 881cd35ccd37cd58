"""The grid states of the fast timeline kernel: the timeline model, the batch it returns, and the cache of
settled grid states (interned per damage state and the state before it) that every timeline path walks.

:mod:`svitlo.simulation.fast` builds on this; the public names are re-exported there.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from svitlo.engine.damage import DamageState, apply_damage
from svitlo.engine.settle import partial_loads
from svitlo.engine.state import StateResult, evaluate_state, intact_flows
from svitlo.engine.viability import pre_event, unit_inertia_mws, viability_options
from svitlo.errors import ScenarioError
from svitlo.facilities import backup as bk
from svitlo.facilities.supply import FacilityIndex, facility_index
from svitlo.model.compiled import CompiledGrid
from svitlo.model.tiers import tier_weight_array
from svitlo.scenarios.dispatch_spec import dispatch_options, tier_weights
from svitlo.scenarios.outcome import StrikeOutcome, merge_outcomes
from svitlo.scenarios.spec import Scenario
from svitlo.scenarios.strikes import protected_assets, resolve_damage
from svitlo.simulation import pickup as pk
from svitlo.simulation import viability as vi
from svitlo.simulation.by_island import IslandMemo, Islands, split_islands
from svitlo.simulation.facilities import facility_on_grid
from svitlo.simulation.lean import lean_state
from svitlo.simulation.rolling import plan_rolling
from svitlo.simulation.sampling import run_fail_prob
from svitlo.simulation.strikes_fast import StrikeResolver
from svitlo.simulation.timeline import _facility_targets

__all__ = ["TimelineModel", "TimelineBatch", "timeline_model", "HOURLY_METRICS", "GridStates",
           "with_demand"]

#: Per-hour metrics of a :class:`TimelineBatch` (arrays ``seeds x hours``), as in ``Timeline.hourly``.
HOURLY_METRICS = ("load_mw", "ens_mwh", "ens_weighted_mwh", "people_without_power", "critical_load_mw",
                  "critical_served_mw", "critical_grid_mw", "pickup_mw")


@dataclass(frozen=True, eq=False)
class TimelineModel:
    """A scenario compiled for :func:`run_timelines` (build with :func:`timeline_model`; picklable)."""

    cg: CompiledGrid
    sc: Scenario
    facilities: pd.DataFrame
    spec: bk.BackupSpec | None
    fidx: FacilityIndex | None
    f_mw: np.ndarray
    f_tier1: np.ndarray
    refuel_masks: tuple[np.ndarray, ...]
    refuel_amounts: tuple[np.ndarray | None, ...]
    flows: np.ndarray | None

    @property
    def horizon_h(self) -> int:
        """Hours simulated."""
        return int(self.sc.horizon_h)


@dataclass(frozen=True, eq=False)
class TimelineBatch:
    """Results of :func:`run_timelines`: per-hour arrays ``(seeds, hours)`` named in :data:`HOURLY_METRICS`,
    facility arrays ``(seeds, facilities)`` and ``states`` ``(seeds, facilities, hours)`` (int8 codes of
    :data:`svitlo.simulation.steps.FACILITY_STATES`)."""

    seeds: np.ndarray
    facility_ids: np.ndarray
    load_mw: np.ndarray
    ens_mwh: np.ndarray
    ens_weighted_mwh: np.ndarray
    people_without_power: np.ndarray
    critical_load_mw: np.ndarray
    critical_served_mw: np.ndarray
    critical_grid_mw: np.ndarray
    pickup_mw: np.ndarray
    states: np.ndarray
    hours_dark: np.ndarray
    hours_on_backup: np.ndarray
    hours_until_dark: np.ndarray
    distinct_states: int


def timeline_model(prepared: Any) -> TimelineModel:
    """A scenario prepared once (:func:`svitlo.prepare`: its ``compiled`` grid, ``scenario`` and ``facilities``)
    compiled for many timelines."""
    sc, cg, fac = prepared.scenario, prepared.compiled, prepared.facilities
    if fac is None:
        fac = pd.DataFrame({"id": [], "kind": [], "grid_load": [], "bus": [], "grid_load_mw": [], "tier": [],
                            "fuel_l_per_h": []})
        spec = None
    else:
        fac = fac.reset_index(drop=True)
        spec = replace(bk.backup_spec(fac), run_fail_prob=run_fail_prob(fac, sc.gen_mttf_h))
    masks: list[np.ndarray] = []
    amounts: list[np.ndarray | None] = []
    ids = fac["id"].to_numpy()
    for k, rf in enumerate(sc.refuel):
        unknown = [f for f in rf.facilities if f not in set(ids)]
        if unknown:
            raise ScenarioError("unknown facility id", source="scenario", field=f"refuel[{k}].facilities",
                                value=unknown[0])
        m = np.isin(ids, rf.facilities) | np.isin(fac["kind"].to_numpy(), rf.kinds)
        masks.append(m & spec.has_gen if spec is not None else m)
        amounts.append(bk.refuel_amount_h(fac, masks[-1], fuel_h=rf.fuel_h, fuel_l=rf.fuel_l, field=f"refuel[{k}]",
                                          source=sc.source or "scenario"))
    needs_flows = any(s.targeted is not None and s.targeted.by == "flow"
                      for s in list(sc.strikes) + [s for w in sc.waves for s in w.strikes])
    return TimelineModel(cg=cg, sc=sc, facilities=fac, spec=spec,
                         fidx=facility_index(fac, cg) if spec is not None else None,
                         f_mw=fac["grid_load_mw"].to_numpy(float),
                         f_tier1=fac["tier"].to_numpy(int) == 1 if len(fac) else np.zeros(0, bool),
                         refuel_masks=tuple(masks), refuel_amounts=tuple(amounts),
                         flows=intact_flows(cg) if needs_flows else None)


class GridStates:
    """Distinct grid states of a batch, each evaluated once and reduced to the numbers a timeline records.

    ``shared=False`` turns off the sharing of solves across states (multipliers cut to the loads that can
    matter, states assembled from islands solved once: :meth:`_solve_mid`, :mod:`svitlo.simulation.by_island`):
    every distinct state is then solved whole under the hour's multipliers, the reference the tests hold the
    shared solves to, bit for bit."""

    def __init__(self, m: TimelineModel, *, shared: bool = True) -> None:
        self.m = m
        self.shared = shared
        cg = m.cg
        self.protected = protected_assets(cg, m.sc.protected) if m.sc.protected else frozenset()
        self.weights = tier_weights(m.sc.dispatch)
        self.opts = dispatch_options(m.sc.dispatch, m.sc.mode)
        self.index: dict[tuple, int] = {}
        self.plans: dict[tuple, tuple[np.ndarray, tuple]] = {}
        self.rows: list[tuple[float, ...]] = []
        self.on: list[np.ndarray] = []
        self.demand = np.where(cg.load_in_service, cg.load_p_mw, 0.0)
        self.pop = np.where(cg.load_in_service, cg.load_population, 0.0)
        self.tiers = np.unique(cg.load_tier)
        self.tw = tier_weight_array(self.tiers.astype(np.int64), self.weights)
        self.w_load = tier_weight_array(cg.load_tier, self.weights)
        self.tier_masks = [cg.load_tier == t for t in self.tiers]
        self.t1 = cg.load_tier == 1
        self.targets = _facility_targets(cg, m.facilities) if len(m.facilities) else None
        self._flows: list[np.ndarray] = [] if m.flows is None else [m.flows]
        self.strikes = StrikeResolver(cg, m.sc.weapons, damage=m.sc.damage, protected=self.protected)
        self.via = viability_options(m.sc)
        self.fl = m.fidx.load if m.fidx is not None else np.zeros(0, dtype=np.int64)
        # base states (before rolling outages): node ids; with viability a node also depends on the hour before
        self.bases: list[StateResult] = []
        self.tripped: list[np.ndarray | None] = []
        self.base_index: dict[tuple, int] = {}    # what a node was computed from -> node
        self.node_of: dict[bytes, int] = {}        # settled state (fingerprint) -> node
        self.inj: list[int] = []                   # per node: id of its injections (the next pre-event)
        self.inj_index: dict[bytes, int] = {}
        self.live: list[int] = []            # per state id: id of its energised-bus mask (viability only)
        self.live_masks: list[np.ndarray] = []
        self.live_index: dict[bytes, int] = {}
        # cold-load pickup (viability on, factor > 1; simulation.pickup): demand multipliers per load are part of
        # a node's key where they differ from 1 (id 0: all 1); the pickup state of a timeline is interned too
        self.pickup = pk.from_scenario(m.sc) if self.via is not None else None
        self.mults: list[np.ndarray] = [np.ones(cg.n_load)]
        self.mult_index: dict[bytes, int] = {self.mults[0].tobytes(): 0}
        self.cgs: list[CompiledGrid] = [cg]      # per multiplier id: the grid with that demand
        self.node_mid: list[int] = []            # per node: the multiplier id it was solved under
        self.served_of: list[int] = []           # per state id: id of its served-load mask
        self.served_index: dict[bytes, int] = {}
        self.served_masks: list[np.ndarray] = []
        self.ps: list[pk.PickupState] = []
        self.ps_index: dict[bytes, int] = {}
        self.ps_mid: list[int] = []
        self.ps_next: dict[tuple[int, int], int] = {}
        # the multipliers a solve sees: 1 where a load's demand cannot matter (dead, or in an island with no
        # grid-forming unit; :meth:`_solve_mid`), so that histories differing only there share one evaluation
        self.lean = m.sc.mode == "balance"
        self.rel_of_key: dict[frozenset, tuple] = {}   # damage key -> (damage, relevance id, islands)
        self.rel_of_node: dict[int, tuple] = {}    # per node: relevance id and islands, tripped units off
        self.rel_masks: list[np.ndarray] = []
        self.rel_index: dict[bytes, int] = {}
        self.solve_mids: dict[tuple[int, int], int] = {}  # (hour's multiplier id, relevance id) -> solve's id
        self.evals: dict[tuple, StateResult] = {}         # (node, loads rotated off) -> settled state
        # balance mode: states assembled from islands, each distinct island settled once (simulation.by_island)
        self.islands = IslandMemo(cg) if self.lean and shared else None
        self.demands: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}   # per multiplier id (_summary)
        self.ibr = (unit_inertia_mws(cg) == 0) & np.isfinite(np.maximum(cg.gen_p_max_mw, 0.0))  # no inertia: LFSM-O

    def flows(self) -> np.ndarray:
        if not self._flows:
            self._flows.append(intact_flows(self.m.cg))
        return self._flows[0]

    def strikes_at(self, h: int, seed: int, down: list[str], use_strike_seeds: bool) -> StrikeOutcome:
        """The damage the strikes of hour ``h`` do in timeline ``seed`` (``steps.strikes_at``, same calls)."""
        cg, sc = self.m.cg, self.m.sc
        out: list[StrikeOutcome] = []
        if h == 0 and sc.strikes:
            out.append(resolve_damage(cg, sc.strikes, seed=seed, intact_flows=self.flows, weapons=sc.weapons,
                                      damage=sc.damage, facilities=self.targets, use_strike_seeds=use_strike_seeds,
                                      protected=self.protected))
        for w, wave in enumerate(sc.waves):
            if wave.at_h == h:
                taken = set(down) | {a for o in out for a in o.out_ids}
                out.append(resolve_damage(cg, wave.strikes, seed=seed, intact_flows=self.flows, weapons=sc.weapons,
                                          wave=w + 1, exclude=taken, damage=sc.damage, facilities=self.targets,
                                          use_strike_seeds=use_strike_seeds, protected=self.protected))
        return merge_outcomes(out)

    def _evaluate_once(self, damage: DamageState, via: Any = None, pre: Any = None,
                       cg: CompiledGrid | None = None) -> StateResult:
        cg = self.m.cg if cg is None else cg
        if self.m.sc.mode == "balance":
            return lean_state(cg, damage, viability=via, pre_event=pre)
        return evaluate_state(cg, damage, mode=self.m.sc.mode, options=self.opts,  # type: ignore[arg-type]
                              viability=via, pre_event=pre)

    def evaluate(self, damage: DamageState, via: Any = None, pre: Any = None,
                 cg: CompiledGrid | None = None) -> StateResult:
        """The state :func:`svitlo.engine.settle.settle` reports (no cascade: such scenarios take the exact
        path): a facility's carved load served only in part leaves the grid and its share is re-dispatched.
        ``cg``: the grid with the hour's demand (cold-load pickup), else the model's."""
        cg = self.m.cg if cg is None else cg
        state = self._evaluate_once(damage, via, pre, cg)
        fl = self.fl
        for _ in range(int(fl.size)):
            part = partial_loads(cg, state, fl)
            if not part.size:
                break
            alive = state.damage.load_alive.copy()
            alive[part] = False
            state = self._evaluate_once(replace(state.damage, load_alive=alive), via, pre, cg)
        return state

    # -- cold-load pickup (steps._pickup_grid, steps._ration_pickup, pickup.advance: same rules) --------------

    def _mult_id(self, mult: np.ndarray) -> int:
        k = mult.tobytes()
        j = self.mult_index.get(k)
        if j is None:
            self.mults.append(mult)
            self.cgs.append(with_demand(self.m.cg, self.m.cg.load_p_mw * mult))
            j = self.mult_index[k] = len(self.mults) - 1
        return j

    def _pickup_state(self, s: pk.PickupState) -> int:
        """Id of a pickup state; hours out are capped at ``min_outage_h`` (all the rules look at)."""
        assert self.pickup is not None
        cap = max(int(self.pickup.min_outage_h), 1)
        s = pk.PickupState(out_h=np.minimum(s.out_h, cap), age_h=s.age_h)
        k = s.out_h.tobytes() + s.age_h.tobytes()
        j = self.ps_index.get(k)
        if j is None:
            cg = self.m.cg
            mult = np.where(cg.load_in_service & (cg.load_p_mw > 0), pk.demand_factor(s, cfg=self.pickup), 1.0)
            self.ps.append(s)
            self.ps_mid.append(self._mult_id(mult))
            j = self.ps_index[k] = len(self.ps) - 1
        return j

    def _relevance(self, damage: DamageState, isl: Islands | None = None) -> int:
        """Id of the mask of loads whose demand can change a solve of ``damage`` (``balance`` mode): alive, on a
        live bus, in an island that holds a surviving grid-forming unit. Every other load is dark whatever its
        demand, and the rules never read its demand (:func:`svitlo.engine.viability.island_viability` and
        :func:`svitlo.engine.dispatch.balance_dispatch` zero it; rolling plans and partial facility loads look
        at energised islands only). Fewer units alive (tripped, held dark) only shrink the mask, so the mask of a
        damage stays valid for the solves that switch units off. Not in ``opf`` mode: all loads count there."""
        cg = self.m.cg
        if not self.lean:
            rel = np.ones(cg.n_load, dtype=bool)
        else:
            isl = split_islands(cg, damage) if isl is None else isl
            li = np.where(damage.load_alive, isl.labels[cg.load_bus], -1)
            rel = (li >= 0) & (isl.forming[np.maximum(li, 0)] if isl.n else False)
        k = rel.tobytes()
        j = self.rel_index.get(k)
        if j is None:
            self.rel_masks.append(rel)
            j = self.rel_index[k] = len(self.rel_masks) - 1
        return j

    def _solve_mid(self, mid: int, rel: int) -> int:
        """The multiplier id a solve uses: the hour's multipliers ``mid`` where they can matter (relevance
        ``rel``), 1 elsewhere. Solves under both give the same state bit for bit."""
        k = (mid, rel)
        j = self.solve_mids.get(k)
        if j is None:
            mult = self.mults[mid]
            j = mid if mid == 0 or not self.shared else self._mult_id(np.where(self.rel_masks[rel], mult, 1.0))
            self.solve_mids[k] = j
        return j

    def _damage(self, key: frozenset, order: list[str]) -> tuple[DamageState, int, Islands | None]:
        got = self.rel_of_key.get(key)
        if got is None:
            d = apply_damage(self.m.cg, order)
            isl = split_islands(self.m.cg, d) if self.lean else None
            got = self.rel_of_key[key] = (d, self._relevance(d, isl), isl)
        return got

    def pickup_start(self) -> int:
        """Pickup state id of a timeline's start (every load served before)."""
        return self._pickup_state(pk.PickupState.start(self.m.cg.n_load))

    def pickup_after(self, ps: int, sid: int) -> int:
        """Pickup state id after an hour in state ``sid`` from pickup state ``ps``."""
        k = (ps, self.served_of[sid])
        j = self.ps_next.get(k)
        if j is None:
            assert self.pickup is not None
            served = self.served_masks[self.served_of[sid]]
            j = self.ps_next[k] = self._pickup_state(pk.advance(self.ps[ps], served=served, cfg=self.pickup))
        return j

    def _ration(self, r: StateResult, tripped: np.ndarray, via: Any, pre: Any, mid: int) -> StateResult:
        """Cold loads of an island the viability rules darken under their pickup stay off, tier by tier."""
        mult = self.mults[mid]
        if mid == 0 or not (mult > 1.0).any():
            return r
        cg = self.cgs[mid]
        assert self.via is not None  # multipliers above 1 come from cold-load pickup, which needs viability on

        def solve(scale: np.ndarray) -> StateResult:
            d = replace(r.damage, gen_alive=r.damage.gen_alive & ~tripped)
            return self.evaluate(d, via, pre, with_demand(cg, cg.load_p_mw * scale))

        return vi.ration_pickup(cg, r, mult, solve, opts=self.via)[0]

    def _add_base(self, k: tuple, r: StateResult, tripped: np.ndarray | None, mid: int = 0) -> int:
        """Intern a node: equal settled states reached by different histories share one id (and so their
        rolling plans and state ids)."""
        d = r.damage
        parts = [d.bus_alive, d.branch_alive, d.gen_alive, d.load_alive, r.gen_p_mw, r.load_served_mw,
                 r.energised]
        fp = b"|".join(np.ascontiguousarray(a).tobytes() for a in parts) + (b"" if tripped is None
                                                                              else b"|" + tripped.tobytes())
        fp += b"|m%d" % mid
        b = self.node_of.get(fp)
        if b is None:
            self.bases.append(r)
            self.tripped.append(tripped)
            self.node_mid.append(mid)
            b = self.node_of[fp] = len(self.bases) - 1
            gp, ld = vi.injections(r)
            ik = gp.tobytes() + ld.tobytes()
            self.inj.append(self.inj_index.setdefault(ik, len(self.inj_index)))
        self.base_index[k] = b
        return b

    def plain_base(self, key: frozenset, order: list[str]) -> int:
        """Node of the settled state with ``order`` out (no viability: a function of the damage alone)."""
        k = ("d", key)
        b = self.base_index.get(k)
        return b if b is not None else self._add_base(k, self.evaluate(apply_damage(self.m.cg, order)), None)

    def via_change(self, prev: int, live: int, key: frozenset, order: list[str], mid: int = 0) -> int:
        """Node after a change of damage with island viability on (``steps.solve_grid``, same rules): settled
        against the injections of node ``prev`` (-1: none, hour 0), then the black-start gate
        (:func:`svitlo.simulation.viability.black_start_gate`) against the energised buses ``live`` of the hour
        before (-1: none); with cold-load pickup, under the hour's demand multipliers ``mid`` and rationed.
        Cached per ``(damage, injections before, energised buses before, multipliers where they can matter)``
        (:meth:`_solve_mid`)."""
        dmg, rel, isl = self._damage(key, order)
        smid = self._solve_mid(mid, rel)
        k = ("v", key, -1 if prev < 0 else self.inj[prev], live, smid)
        b = self.base_index.get(k)
        if b is not None:
            return b
        cg = self.cgs[smid]
        # hour 0: the pre-strike injections (of the hour's demand, all loads served before: multipliers 1)
        pre = pre_event(self.cgs[mid]) if prev < 0 else vi.injections(self.bases[prev])
        lm = None if live < 0 else self.live_masks[live]

        def run(d: DamageState) -> tuple[StateResult, np.ndarray]:
            r = self.evaluate(d, self.via, pre, cg)
            r = self._ration(r, np.zeros(cg.n_gen, dtype=bool), self.via, pre, smid)
            held = np.zeros(cg.n_gen, dtype=bool) if lm is None else vi.held_dark(cg, r, lm)
            if held.any():
                r = self._evaluate_once(replace(r.damage, gen_alive=r.damage.gen_alive & ~held), self.via, pre, cg)
            return r, vi.collapsed_units(cg, r) | held

        tripped: np.ndarray | None
        if self.islands is None:
            r, tripped = run(dmg)
        else:   # what an island's outcome depends on: its demand, its injections before, its buses live before
            assert isl is not None
            mult, (g0, l0), ibr = self.mults[smid], pre, self.ibr

            def extra(i: int) -> tuple:
                # the rules read the injections before only through the island's sudden deficit and the output
                # of its inverter-based units (engine.viability.island_viability: the UFLS and LFSM-O steps)
                g = isl.gens[i]
                return (mult[isl.loads[i]].tobytes(),
                        float(g0[g].sum() + l0[isl.loads[i]].sum()), float(g0[g[ibr[g]]].sum()),
                        None if lm is None else lm[isl.buses[i]].tobytes())

            r, tripped = self.islands.solve(dmg, run, tag="change", isl=isl, extra=extra)
        assert tripped is not None
        return self._add_base(k, r, tripped, smid)

    def via_settle(self, b: int, mid: int = 0) -> int:
        """Node the hour after a change with viability on (UFLS-shed load back, collapsed and held units off),
        or after the cold-load pickup multipliers moved to ``mid`` (re-solved under them where they can matter,
        rationed)."""
        base, tripped = self.bases[b], self.tripped[b]
        assert tripped is not None and self.via is not None
        bd = base.damage
        dmg = DamageState(bd.bus_alive, bd.branch_alive, bd.gen_alive & ~tripped, bd.load_alive, bd.destroyed)
        rel_isl = self.rel_of_node.get(b)
        if rel_isl is None:   # units off leave the live buses and branches, and so the islands' labels, as they are
            isl = split_islands(self.m.cg, dmg, labels=(base.labels, base.n_islands)) if self.lean else None
            rel_isl = self.rel_of_node[b] = (self._relevance(dmg, isl), isl)
        rel, isl = rel_isl
        smid = self._solve_mid(mid, rel)
        v = base.viability
        if (smid == 0 and self.node_mid[b] == 0 and not tripped.any()
                and (v is None or not (v.ufls_shed_mw > 0).any())):
            # nothing shed by frequency and no unit off: the rules without the frequency step commit and
            # dispatch exactly as with it (engine.viability: the step only cuts load or darkens islands)
            return b
        k = ("s", dmg.gen_alive.tobytes(), dmg.bus_alive.tobytes(), dmg.branch_alive.tobytes(),
             dmg.load_alive.tobytes(), tripped.tobytes(), smid)
        got = self.base_index.get(k)
        if got is not None:
            return got
        via = replace(self.via, frequency=False)
        # without the frequency step the injections before only fill ``deficit_mw``, which nothing reads after a
        # settle: the intact grid's (cached once) stand in for those of the raised-demand grid
        pre = pre_event(self.m.cg) if self.shared else None
        cg = self.cgs[smid]

        def run(d: DamageState) -> tuple[StateResult, None]:
            return self._ration(self.evaluate(d, via, pre, cg), tripped, via, pre, smid), None

        r = run(dmg)[0] if self.islands is None else self._plain_islands(dmg, run, "settle", smid, isl)
        return self._add_base(k, r, tripped, smid)

    def _plain_islands(self, dmg: DamageState, run: Any, tag: str, mid: int, isl: Islands | None = None
                       ) -> StateResult:
        """``run(dmg)`` assembled island by island (:mod:`svitlo.simulation.by_island`), for rules that read
        only each island's members and demand (``isl``: the islands of ``dmg`` when known)."""
        assert self.islands is not None
        isl = split_islands(self.m.cg, dmg) if isl is None else isl
        mult = self.mults[mid]
        return self.islands.solve(dmg, run, tag=tag, isl=isl,
                                  extra=lambda i: mult[isl.loads[i]].tobytes())[0]

    def state_id(self, key: frozenset, order: list[str], off: np.ndarray | None) -> int:
        """State id of ``order`` out with loads ``off`` rotated off (no viability: restore's view)."""
        return self.sid(self.plain_base(key, order), off)

    def sid(self, b: int, off: np.ndarray | None, mid: int = 0) -> int:
        """State id of node ``b`` with loads ``off`` rotated off in an hour with demand multipliers ``mid``
        (cold-load pickup): each settled state evaluated once per batch, its summary once per multipliers."""
        offk = None if off is None or not off.any() else off.tobytes()
        okey = (b, offk, mid)
        i = self.index.get(okey)
        if i is not None:
            return i
        r = self.evals.get((b, offk))
        if r is None:
            base = self.bases[b]
            if off is None or offk is None:
                r = base
            else:
                bd, smid = base.damage, self.node_mid[b]
                d = DamageState(bd.bus_alive, bd.branch_alive, bd.gen_alive, bd.load_alive & ~off, bd.destroyed)
                # loads off leave the live buses and branches, and so the islands' labels, as they are
                r = self.evaluate(d, cg=self.cgs[smid]) if self.islands is None else self._plain_islands(
                    d, lambda sub: (self.evaluate(sub, cg=self.cgs[smid]), None), "plain", smid,
                    split_islands(self.m.cg, d, labels=(base.labels, base.n_islands)))
            self.evals[(b, offk)] = r
        cg = self.cgs[mid]
        self.rows.append(self._summary(r, mid))
        self.on.append(facility_on_grid(cg, r, self.m.fidx) if self.m.fidx is not None
                       else np.zeros(0, bool))
        if self.pickup is not None:
            served = r.damage.load_alive & (r.load_served_mw > 1e-9)
            sk = served.tobytes()
            j = self.served_index.get(sk)
            if j is None:
                self.served_masks.append(served)
                j = self.served_index[sk] = len(self.served_masks) - 1
            self.served_of.append(j)
        if self.via is not None:
            lab = r.labels
            live = (lab >= 0) & (r.energised[np.maximum(lab, 0)] if r.energised.size else False)
            lk = live.tobytes()
            j = self.live_index.get(lk)
            if j is None:
                self.live_masks.append(live)
                j = self.live_index[lk] = len(self.live_masks) - 1
            self.live.append(j)
        i = self.index[okey] = len(self.rows) - 1
        return i

    def _summary(self, r: StateResult, mid: int = 0) -> tuple[float, ...]:
        # the definitions of svitlo.engine.impact.build_impact and the timeline's hourly row (steps.record_hour:
        # under cold-load pickup the impact sees the raised demand, the row counts in normal demand)
        got = self.demands.get(mid)
        if got is None:   # per multipliers: the hour's demand, where it is positive, its positive part
            demand = self.demand if not mid else np.where(self.m.cg.load_in_service, self.cgs[mid].load_p_mw, 0.0)
            got = self.demands[mid] = (demand, demand > 0, np.maximum(demand, 0.0))
        demand, pos, top = got
        served = np.where(r.damage.load_alive, r.load_served_mw, 0.0)
        shed = np.where(pos, demand - served, 0.0)
        shed = np.clip(shed, 0.0, top)
        frac = np.divide(shed, demand, out=np.zeros_like(shed), where=pos)
        by_tier = [float(shed[m].sum()) for m in self.tier_masks]
        weighted = float(sum(w * s for w, s in zip(self.tw, by_tier)))
        load = np.where(pos, demand, served)  # negative loads: the injection they deliver
        row = [float(load.sum()), float(shed.sum()), weighted, float((self.pop * frac).sum()),
               float(self.demand[self.t1].sum()), float(served[self.t1].sum()), 0.0]
        mult = self.mults[mid]
        if mid and (mult != 1.0).any():
            extra = (mult - 1.0) * self.demand
            surge = served * (1.0 - 1.0 / mult)
            w = self.w_load
            row[0] -= float(extra.sum())
            row[1] -= float((extra - surge).sum())
            row[2] -= float((w * (extra - surge)).sum())
            row[5] -= float(surge[self.t1].sum())
            row[6] = float(surge.sum())
        return tuple(row)

    def plan(self, b: int, queue: np.ndarray, n_queues: int, starts: dict[int, int]) -> tuple[np.ndarray, tuple]:
        pkey = (b, tuple(sorted(starts.items())))
        got = self.plans.get(pkey)
        if got is None:
            off, plans = plan_rolling(self.cgs[self.node_mid[b]], self.bases[b], queue, n_queues=n_queues,
                                      starts=starts)
            got = self.plans[pkey] = (off, tuple(plans))
        return got


def with_demand(cg: CompiledGrid, load_p_mw: np.ndarray) -> CompiledGrid:
    """``cg`` with another demand per load (MW; read-only from then on): ``dataclasses.replace`` without
    re-running the read-only pass over every array (they are shared, already read-only), and with a fingerprint
    of its own (computed on demand)."""
    g = copy.copy(cg)
    load_p_mw.flags.writeable = False
    object.__setattr__(g, "load_p_mw", load_p_mw)
    object.__setattr__(g, "_fingerprint", [])
    return g
