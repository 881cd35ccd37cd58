"""An array kernel for Monte Carlo of timelines: many seeds of one scenario, the numbers of :func:`svitlo.simulate`.

:func:`run_timelines` follows, for every seed, exactly the rules of :func:`svitlo.simulate` (same strikes,
waves, damage states, crews and repair order, sampled repair durations, spare waits, damaged facilities,
refuels and their delays, rolling outage blocks, generator starts and breakdowns;
:mod:`svitlo.simulation.sampling`), but keeps only what a Monte Carlo needs and shares work across seeds:

1. **Grid path per seed** (Python, event logic only): the damage and rolling-outage plan hour by hour, as
   :mod:`svitlo.simulation.steps`: strikes resolved per seed by
   :func:`svitlo.scenarios.strikes.resolve_damage` (the assets each damage state puts out, its crew hours and
   wait for a spare, :func:`svitlo.simulation.repair_times.repair_plan`; damaged facilities out until
   repaired, their carved load with no demand). Each
   distinct grid state ``(assets out, loads rotated off)`` is evaluated once for the whole batch
   (:func:`svitlo.engine.state.evaluate_state`) and reduced to a few numbers (energy not served, weighted,
   people without power, tier-1 demand and supply) and the facilities it supplies. Timelines of one
   scenario revisit the same few states, so almost every hour is a table look-up.
2. **Facilities of all seeds at once**: the backup step of :mod:`svitlo.facilities.backup` on arrays of shape
   ``seeds x facilities`` (flattened), one call per hour; a damaged facility draws no power and runs no
   backup (state code :data:`svitlo.simulation.steps.DAMAGED`).

With island viability on, the separation rules run where the grid changes and the hour after
(:mod:`svitlo.simulation.viability`), and cold-load pickup (:mod:`svitlo.simulation.pickup`) as in the
simulator: each timeline carries its pickup state (interned: hours out capped at ``min_outage_h``, hours since
pickup), the hour's demand multipliers are part of a grid state's key where they differ from 1, a change of
them re-solves the hour, and an island that cannot hold the surge picks cold load up in blocks
(:func:`svitlo.simulation.viability.ration_pickup`).

A test holds it equal to :func:`svitlo.simulate` seed by seed. Metrics per hour match ``Timeline.hourly``
(``ens_mwh``, ``ens_weighted_mwh``, ``people_without_power``, ``load_mw``, ``critical_load_mw``,
``critical_served_mw``, ``pickup_mw``) and per facility ``Timeline.facilities`` (``hours_dark``, ``hours_on_backup``,
``hours_until_dark``) and ``Timeline.facility_states`` (codes of :data:`svitlo.simulation.steps.FACILITY_STATES`).

Examples
--------
>>> import svitlo
>>> m = timeline_model(svitlo.prepare("case9", {"horizon_h": 6, "strikes": [{"assets": ["line:3"]}],
...                    "repairs": {"crews": 1, "durations_h": {"line": {"median_h": 3, "spread": 0.5}}}}))
>>> b = run_timelines(m, [1, 2, 3])
>>> b.ens_mwh.shape
(3, 6)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from svitlo.engine.damage import DamageState, apply_damage
from svitlo.engine.settle import partial_loads
from svitlo.engine.state import StateResult, evaluate_state, intact_flows
from svitlo.engine.viability import viability_options
from svitlo.errors import ScenarioError
from svitlo.facilities import backup as bk
from svitlo.facilities.supply import FacilityIndex, facility_index
from svitlo.model.compiled import CompiledGrid
from svitlo.model.tiers import tier_weight_array
from svitlo.scenarios.dispatch_spec import dispatch_options, tier_weights
from svitlo.scenarios.outcome import AssetDamage, StrikeOutcome, merge_outcomes
from svitlo.scenarios.spec import Repairs, Scenario
from svitlo.scenarios.strikes import protected_assets, resolve_damage
from svitlo.simulation import pickup as pk
from svitlo.simulation import viability as vi
from svitlo.simulation.facilities import facility_on_grid
from svitlo.simulation.lean import lean_state
from svitlo.simulation.repair_times import repair_plan
from svitlo.simulation.repairs import Job, assign_crews, repair_durations
from svitlo.simulation.rolling import plan_rolling, queue_of_loads
from svitlo.simulation.sampling import refuel_hours, repair_sampler, run_fail_prob
from svitlo.simulation.steps import DAMAGED
from svitlo.simulation.strikes_fast import StrikeResolver
from svitlo.simulation.timeline import _facility_targets

__all__ = ["TimelineModel", "TimelineBatch", "timeline_model", "run_timelines", "state_cache", "grid_paths",
           "facility_draws", "backup_phase", "HOURLY_METRICS"]

#: Per-hour metrics of a :class:`TimelineBatch` (arrays ``seeds x hours``), as in ``Timeline.hourly``.
HOURLY_METRICS = ("load_mw", "ens_mwh", "ens_weighted_mwh", "people_without_power", "critical_load_mw",
                  "critical_served_mw", "pickup_mw")


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


class _States:
    """Distinct grid states of a batch, each evaluated once and reduced to the numbers a timeline records."""

    def __init__(self, m: TimelineModel) -> None:
        self.m = m
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
            cg = self.m.cg
            self.cgs.append(replace(cg, load_p_mw=cg.load_p_mw * mult))
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
            return self.evaluate(d, via, pre, replace(cg, load_p_mw=cg.load_p_mw * scale))

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
        Cached per ``(damage, injections before, energised buses before, multipliers)``."""
        k = ("v", key, -1 if prev < 0 else self.inj[prev], live, mid)
        b = self.base_index.get(k)
        if b is not None:
            return b
        cg = self.cgs[mid]
        pre = None if prev < 0 else vi.injections(self.bases[prev])
        r = self.evaluate(apply_damage(cg, order), self.via, pre, cg)
        r = self._ration(r, np.zeros(cg.n_gen, dtype=bool), self.via, pre, mid)
        held = np.zeros(cg.n_gen, dtype=bool) if live < 0 else _held_dark(cg, r, self.live_masks[live])
        if held.any():
            r = self._evaluate_once(replace(r.damage, gen_alive=r.damage.gen_alive & ~held), self.via, pre, cg)
        return self._add_base(k, r, vi.collapsed_units(cg, r) | held, mid)

    def via_settle(self, b: int, mid: int = 0) -> int:
        """Node the hour after a change with viability on (UFLS-shed load back, collapsed and held units off),
        or after the cold-load pickup multipliers moved to ``mid`` (re-solved under them, rationed)."""
        base, tripped = self.bases[b], self.tripped[b]
        assert tripped is not None and self.via is not None
        v = base.viability
        if (mid == 0 and self.node_mid[b] == 0 and not tripped.any()
                and (v is None or not (v.ufls_shed_mw > 0).any())):
            # nothing shed by frequency and no unit off: the rules without the frequency step commit and
            # dispatch exactly as with it (engine.viability: the step only cuts load or darkens islands)
            return b
        dmg = replace(base.damage, gen_alive=base.damage.gen_alive & ~tripped)
        k = ("s", dmg.gen_alive.tobytes(), dmg.bus_alive.tobytes(), dmg.branch_alive.tobytes(),
             dmg.load_alive.tobytes(), tripped.tobytes(), mid)
        got = self.base_index.get(k)
        if got is not None:
            return got
        via = replace(self.via, frequency=False)
        r = self._ration(self.evaluate(dmg, via, None, self.cgs[mid]), tripped, via, None, mid)
        return self._add_base(k, r, tripped, mid)

    def state_id(self, key: frozenset, order: list[str], off: np.ndarray | None) -> int:
        """State id of ``order`` out with loads ``off`` rotated off (no viability: restore's view)."""
        return self.sid(self.plain_base(key, order), off)

    def sid(self, b: int, off: np.ndarray | None) -> int:
        """State id of node ``b`` with loads ``off`` rotated off (each evaluated once per batch)."""
        okey = (b, None if off is None or not off.any() else off.tobytes())
        i = self.index.get(okey)
        if i is not None:
            return i
        base, mid = self.bases[b], self.node_mid[b]
        cg = self.cgs[mid]
        r = base if off is None or okey[1] is None else self.evaluate(
            replace(base.damage, load_alive=base.damage.load_alive & ~off), cg=cg)
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
        cg, demand = self.m.cg, self.demand
        if mid:
            demand = np.where(cg.load_in_service, self.cgs[mid].load_p_mw, 0.0)
        served = np.where(r.damage.load_alive, r.load_served_mw, 0.0)
        shed = np.where(demand > 0, demand - served, 0.0)
        shed = np.clip(shed, 0.0, np.maximum(demand, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            frac = np.where(demand > 0, shed / demand, 0.0)
        by_tier = [float(shed[cg.load_tier == t].sum()) for t in self.tiers]
        weighted = float(sum(w * s for w, s in zip(self.tw, by_tier)))
        load = np.where(demand > 0, demand, served)  # negative loads: the injection they deliver
        row = [float(load.sum()), float(shed.sum()), weighted, float((self.pop * frac).sum()),
               float(self.demand[self.t1].sum()), float(served[self.t1].sum()), 0.0]
        mult = self.mults[mid]
        if mid and (mult != 1.0).any():
            extra = (mult - 1.0) * self.demand
            surge = served * (1.0 - 1.0 / mult)
            w = tier_weight_array(cg.load_tier, self.weights)
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


def _held_dark(cg: CompiledGrid, r: StateResult, live: np.ndarray) -> np.ndarray:
    """The units :func:`svitlo.simulation.viability.black_start_gate` holds off: those of a lit island that was
    dark the hour before (no bus of it in ``live``) and holds no black-start unit."""
    held = np.zeros(cg.n_gen, dtype=bool)
    g_isl = np.where(r.damage.gen_alive, r.labels[cg.gen_bus], -1)
    for i in np.flatnonzero(r.energised):
        if live[r.labels == i].any():
            continue
        units = np.flatnonzero(g_isl == i)
        if not cg.gen_black_start[units].any():
            held[units] = True
    return held


def _explicit(cg: CompiledGrid, rep: Repairs | None) -> dict[str, int]:
    out: dict[str, int] = {}
    for k, e in enumerate(rep.explicit if rep else []):
        try:
            cls, j = cg.asset(e.asset)
        except Exception:
            raise ScenarioError(f"unknown asset id in grid {cg.name!r}", source="scenario",
                                field=f"repairs.explicit[{k}].asset", value=e.asset) from None
        out[str({"bus": cg.bus_ids, "branch": cg.branch_ids, "gen": cg.gen_ids, "load": cg.load_ids}[cls][j])] = \
            int(e.done_h)
    return out


def _strikes(m: TimelineModel, res: StrikeResolver, h: int, seed: int, down: dict,
             use_strike_seeds: bool) -> list[str]:
    """Asset ids out after the strikes of hour ``h`` (the restore problem's view of a strike)."""
    cg, sc = m.cg, m.sc
    out: list[str] = []
    fl = m.flows
    flows = (lambda: fl) if fl is not None else None
    if h == 0 and sc.strikes:
        out += res.resolve(sc.strikes, seed=seed, intact_flows=flows, use_strike_seeds=use_strike_seeds)
    for w, wave in enumerate(sc.waves):
        if wave.at_h == h:
            out += res.resolve(wave.strikes, seed=seed, intact_flows=flows, wave=w + 1,
                               exclude=set(down) | set(out), use_strike_seeds=use_strike_seeds)
    return list(dict.fromkeys(str(cg.aliases.get(a, a)) for a in out))


def _grid_path(m: TimelineModel, states: _States, seed: int, rep: Repairs | None, explicit: dict[str, int],
               use_strike_seeds: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """State id of every hour of timeline ``seed`` and its damaged facilities ``(facilities, H)`` (``None``:
    none), by the rules of :mod:`svitlo.simulation.steps` up to ``solve_grid``: strikes resolved to damage
    states (:func:`svitlo.scenarios.strikes.resolve_damage`, as ``strikes_at``), the assets each puts out,
    spare waits and crew hours (:func:`svitlo.simulation.repair_times.repair_plan`), damaged facilities."""
    cg, sc, H = m.cg, m.sc, m.horizon_h
    durations = repair_durations({str(k): v for k, v in rep.durations_h.items()} if rep else None)
    user_kinds = {str(k) for k in rep.durations_h} if rep else set()
    sample = repair_sampler(cg, sc, seed)
    order = [str(cg.aliases.get(o, o)) for o in (rep.order if rep else [])]
    crews = rep.crews if rep else 0
    start_h = rep.start_h if rep else 0
    strike_hours = {0} | {w.at_h for w in sc.waves}
    destroyed: dict[str, int] = {}
    damage: dict[str, AssetDamage] = {}
    work_h: dict[str, float] = {}
    ready: dict[str, int] = {}
    stock: dict[str, int] = {str(k): int(v) for k, v in sc.damage.spares.items()}
    fac_down: dict[int, int] = {}
    first_hit: dict[str, int] = {}
    busy: dict[str, Job] = {}
    ro = sc.rolling_outages
    queue = queue_of_loads(cg.load_tier, n_queues=ro.queues, exempt_tiers=ro.exempt_tiers) if ro else None
    starts: dict[int, int] = {}
    last_plan: dict[int, tuple[int, int]] = {}
    off = np.zeros(cg.n_load, dtype=bool)
    out = np.empty(H, dtype=np.int64)
    n_f = len(m.facilities)
    down_h: np.ndarray | None = None
    key: frozenset = frozenset()
    names: list[str] = []
    sid = node = -1
    settle_next = False
    explicit_hours = set(explicit.values())
    fac_ids = m.facilities["id"].to_numpy(dtype=object)
    pickup = states.pickup is not None          # cold-load pickup: its state moves with what each hour serves
    ps = states.pickup_start() if pickup else -1
    mid = 0
    for h in range(H):
        changed = h == 0
        mid_before, mid = mid, (states.ps_mid[ps] if pickup else 0)
        pickup_changed = h > 0 and mid != mid_before   # the demand multipliers moved (steps._pickup_grid)
        if h in explicit_hours:
            for a, done in explicit.items():
                if done == h and a in destroyed:
                    del destroyed[a]
                    busy.pop(a, None)
                    changed = True
        if busy:
            for a, job in list(busy.items()):
                if job.done_h == h:
                    del busy[a]
                    destroyed.pop(a, None)
                    changed = True
        if fac_down:
            for i, done in list(fac_down.items()):
                if done == h:
                    del fac_down[i]
                    changed = True
        if h in strike_hours:
            hit = states.strikes_at(h, seed, [b for a in destroyed for b in damage[a].out], use_strike_seeds)
            for u in hit.units:
                a = str(cg.aliases.get(u.asset, u.asset))
                destroyed[a] = h
                damage[a] = u
                if sample is not None and a not in durations and u.repair_h is None:
                    d = sample(a)
                    if d == d:
                        durations[a] = d
                wait, work_h[a], _ = repair_plan(u, durations=durations, user_kinds=user_kinds, model=sc.damage,
                                                 stock=stock)
                ready[a] = h + int(np.ceil(wait - 1e-9))
                first_hit.setdefault(a, h)
                busy.pop(a, None)
                changed = True
            if hit.facilities:
                index = {str(f): i for i, f in enumerate(fac_ids)}
                for fd in hit.facilities:
                    i = index[fd.facility]
                    fac_down[i] = max(fac_down.get(i, 0), h + max(1, int(np.ceil(fd.repair_h - 1e-9))))
                    changed = True
        if crews and h >= start_h and len(busy) < crews:
            pending = [a for a in destroyed if a not in explicit and ready.get(a, 0) <= h]
            if len(pending) > len(busy):
                for job in assign_crews(h, pending=pending, busy=busy, crews=crews, order=order,
                                        durations={**durations, **work_h}, first_hit=first_hit):
                    busy[job.asset] = job
        if changed:
            gone = [b for a in destroyed for b in damage[a].out]
            gone += [str(m.facilities.at[i, "grid_load"]) for i in fac_down if m.facilities.at[i, "grid_load"]]
            names = list(dict.fromkeys(gone))
            key = frozenset(names)
            if states.via is None:
                node = states.plain_base(key, names)
            else:   # island viability: the node depends on the hour before (steps.solve_grid)
                node = states.via_change(node, states.live[sid] if sid >= 0 else -1, key, names, mid)
                settle_next = True
        elif settle_next or pickup_changed:   # the hour after a change: UFLS-shed load back, collapsed units
            settle_next = False               # off; or the cold-load pickup moves on
            node = states.via_settle(node, mid)
            changed = True
        if fac_down:
            if down_h is None:
                down_h = np.zeros((n_f, H), dtype=bool)
            down_h[list(fac_down), h] = True
        new_off = off
        if ro is not None and h >= ro.start_h:
            block = (h - ro.start_h) % ro.block_h == 0
            if block:
                for k2, (st0, q) in last_plan.items():
                    starts[k2] = (st0 + q) % ro.queues
                last_plan = {}
            if block or changed:
                assert queue is not None
                new_off, plans = states.plan(node, queue, ro.queues, starts)
                for p in plans:
                    last_plan[p.key] = (p.start, len(p.queues))
        if changed or (new_off is not off and not np.array_equal(new_off, off)):
            off = new_off
            sid = states.sid(node, off)
        out[h] = sid
        if pickup:
            ps = states.pickup_after(ps, sid)
    return out, down_h


def _paths(m: TimelineModel, states: _States, seeds: np.ndarray, rep: Repairs | None, explicit: dict[str, int],
           use_strike_seeds: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """State ids ``(N, H)`` and damaged facilities ``(N, F, H)`` (``None`` when no seed has any)."""
    H, N, n_f = m.horizon_h, seeds.size, len(m.facilities)
    path = np.zeros((N, H), np.int64)
    down: np.ndarray | None = None
    for s, seed in enumerate(seeds):
        path[s], d = _grid_path(m, states, int(seed), rep, explicit, use_strike_seeds)
        if d is not None:
            if down is None:
                down = np.zeros((N, n_f, H), dtype=bool)
            down[s] = d
    return path, down


def facility_draws(model: TimelineModel, seeds: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Per seed: generator start draws ``(N, facilities, H + 1)``, breakdown draws ``(N, facilities, H)`` (or
    ``None``) and refuel hours ``(N, refuels)`` (the streams of :func:`svitlo.simulate`)."""
    n_f, H, N = len(model.facilities), model.horizon_h, len(seeds)
    draws = np.stack([bk.start_draws(int(s), n_f, H + 1) for s in seeds]) if N else np.zeros((0, n_f, H + 1))
    run_u = (np.stack([bk.run_draws(int(s), n_f, H) for s in seeds])
             if model.spec is not None and model.spec.run_fail_prob is not None and N else None)
    rf_h = np.array([refuel_hours(model.sc, int(s)) for s in seeds], dtype=np.int64).reshape(N, -1)
    return draws, run_u, rf_h


def backup_phase(spec: bk.BackupSpec, on_at: Any, draws: np.ndarray, run_u: np.ndarray | None,
                 rf_h: np.ndarray, refuel_masks: Any, refuel_amounts: Any, crit_mw: np.ndarray,
                 H: int, down: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Facilities of ``N`` timelines hour by hour (:func:`svitlo.facilities.backup.step_backup` on ``N x F`` arrays).

    ``spec`` has one entry per facility column; ``on_at(h)`` gives grid supply ``(N, F)`` in hour ``h``;
    ``draws``/``run_u``/``rf_h`` from :func:`facility_draws` (columns matching ``spec``); ``refuel_masks[k]`` and
    ``refuel_amounts[k]`` per column; ``crit_mw`` the carved demand (MW) counted as critical when on backup;
    ``down`` ``(N, F, H)`` the damaged facilities (state ``damaged``: no power drawn, no backup run)."""
    N, F = draws.shape[0], draws.shape[1]
    tile = {f: np.tile(getattr(spec, f), N) for f in ("has_gen", "tank_h", "fail_prob", "battery_cap_h",
                                                       "recharge_h_per_h")}
    spec_t = bk.BackupSpec(**tile, run_fail_prob=None if spec.run_fail_prob is None
                           else np.tile(spec.run_fail_prob, N),
                           capacity_h=None if spec.capacity_h is None else np.tile(spec.capacity_h, N))
    st = bk.initial_state(spec_t)
    flat = draws.reshape(N * F, -1)
    run_flat = None if run_u is None else run_u.reshape(N * F, -1)
    fstates = np.zeros((N, F, H), dtype=np.int8)
    until = np.full((N, F), np.nan)
    on_b = np.zeros((N, F))
    dark = np.zeros((N, F))
    crit_backup = np.zeros((N, H))
    w_t1 = np.asarray(crit_mw, dtype=float)[None, :]
    for h in range(H):
        for k in range(rf_h.shape[1]):
            rows = rf_h[:, k] == h
            if rows.any():
                mask = (rows[:, None] & refuel_masks[k][None, :]).ravel()
                amt = refuel_amounts[k]
                st = bk.refuel(spec_t, st, mask, None if amt is None else np.tile(amt, N))
        on = on_at(h)
        dn = None if down is None else down[:, :, h]
        if dn is not None:
            on = on | dn
        st, step = bk.step_backup(spec_t, st, on.ravel(), flat, None if run_flat is None else run_flat[:, h])
        cov = step.covered_h.reshape(N, F)
        fstates[:, :, h] = step.state.reshape(N, F) if dn is None else np.where(dn, DAMAGED, step.state.reshape(N, F))
        on_b += np.where(on, 0.0, cov)
        dark += np.where(on, 0.0, 1.0 - cov)
        crit_backup[:, h] = (cov * w_t1 * ~on).sum(axis=1)
        first = step.ran_out.reshape(N, F) & np.isnan(until)
        until[first] = (h + cov)[first]
    return {"states": fstates, "hours_dark": dark, "hours_on_backup": on_b, "hours_until_dark": until,
            "critical_backup_mw": crit_backup}


def grid_paths(model: TimelineModel, seeds: Any, *, use_strike_seeds: bool = False,
               cache: _States | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Grid supply of every facility ``(N, facilities, H)`` (bool) for the scenario's own repairs (a damaged
    facility counts as supplied: it draws no backup), and the state id path ``(N, H)``."""
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    states = cache if cache is not None else _States(model)
    rep = model.sc.repairs
    explicit = _explicit(model.cg, rep)
    path, down = _paths(model, states, seeds, rep, explicit, use_strike_seeds)
    on_tab = np.asarray(states.on, dtype=bool).reshape(-1, len(model.facilities))
    on = on_tab[path].transpose(0, 2, 1)
    return (on if down is None else on | down), path


def state_cache(model: TimelineModel) -> _States:
    """A cache of evaluated grid states to share between calls of :func:`run_timelines` on ``model``."""
    return _States(model)


def run_timelines(model: TimelineModel, seeds: Any, *, use_strike_seeds: bool = False,
                  repairs: Repairs | None | str = "scenario", cache: _States | None = None) -> TimelineBatch:
    """Simulate the scenario once per seed; the numbers of :func:`svitlo.simulate` with the same seed.

    Parameters
    ----------
    model
        From :func:`timeline_model`.
    seeds
        One timeline per seed (int array-like).
    use_strike_seeds
        ``False`` (a Monte Carlo): strikes with a ``seed`` of their own draw from each timeline's seed too.
    repairs
        Repairs to use instead of the scenario's (``None``: none); e.g. a schedule as explicit repairs.
    cache
        From :func:`state_cache`, to reuse evaluated grid states across calls (e.g. many schedules).

    Returns
    -------
    TimelineBatch
    """
    seeds = np.asarray(seeds, dtype=np.int64).reshape(-1)
    rep = model.sc.repairs if isinstance(repairs, str) else repairs
    if needs_exact_path(model.sc):
        return _exact_timelines(model, seeds, rep, use_strike_seeds)
    explicit = _explicit(model.cg, rep)
    states = cache if cache is not None else _States(model)
    H, N = model.horizon_h, seeds.size
    path, down = _paths(model, states, seeds, rep, explicit, use_strike_seeds)
    table = np.asarray(states.rows, dtype=float).reshape(-1, 7)   # (a cache only grows: ids stay valid)
    hourly = {k: table[path, c] if table.size else np.zeros((N, H)) for c, k in enumerate(
        ("load_mw", "ens_mwh", "ens_weighted_mwh", "people_without_power", "critical_load_mw", "critical_grid",
         "pickup_mw"))}
    n_f = len(model.facilities)
    if n_f and N:
        on_tab = np.asarray(states.on, dtype=bool)
        assert model.spec is not None
        draws, run_u, rf_h = facility_draws(model, seeds)
        ph = backup_phase(model.spec, lambda h: on_tab[path[:, h]], draws, run_u, rf_h, model.refuel_masks,
                          model.refuel_amounts, model.f_mw * model.f_tier1, H, down=down)
        fstates, dark, on_b, until, crit_backup = (ph["states"], ph["hours_dark"], ph["hours_on_backup"],
                                                   ph["hours_until_dark"], ph["critical_backup_mw"])
    else:
        crit_backup = np.zeros((N, H))
        fstates = np.zeros((N, n_f, H), dtype=np.int8)
        until = np.full((N, n_f), np.nan)
        on_b = np.zeros((N, n_f))
        dark = np.zeros((N, n_f))
    crit = hourly.pop("critical_grid") + crit_backup
    return TimelineBatch(seeds=seeds, facility_ids=model.facilities["id"].to_numpy(dtype=object),
                         critical_served_mw=crit, states=fstates, hours_dark=dark, hours_on_backup=on_b,
                         hours_until_dark=until, distinct_states=len(states.rows), **hourly)


#: Scenario keys (top level, ``viability:``, ``ufls:``) whose rules the kernel carries. A key added later (a new
#: rule of the hourly simulation) sends scenarios that set it away from its default to the exact path until the
#: kernel mirrors it.
KERNEL_KEYS = {
    "scenario": frozenset({"ac", "ac_check", "base_dir", "cascade", "damage", "facilities", "gen_mttf_h", "grid",
                           "horizon_h", "mode", "name", "people_per_mw", "population", "protected", "refuel",
                           "repairs", "rolling_outages", "seed", "source", "strikes", "tiers", "ufls", "viability",
                           "waves", "weapons"}),
    "viability": frozenset({"cold_load_pickup", "decommit", "enabled", "frequency", "min_grid_forming_share",
                            "min_inertia_s", "over_frequency", "sfr", "units"}),
    "ufls": frozenset({"collapse_hz", "delay_s", "enabled", "exempt_tiers", "stages"}),
}


def _unknown_rules(obj: Any, known: frozenset[str]) -> list[str]:
    """Keys of a scenario model the kernel does not know that are set away from their defaults."""
    fields = type(obj).model_fields
    return [k for k, f in fields.items() if k not in known and getattr(obj, k) != f.get_default(
        call_default_factory=True)]


def exact_path_reason(sc: Scenario) -> str | None:
    """Why timelines of ``sc`` must run one by one (:func:`svitlo.simulation.timeline.run_timeline`), or None:
    cascades and the AC check are not carried by the kernel, nor rules it does not know (:data:`KERNEL_KEYS`)."""
    casc = getattr(sc, "cascade", None)
    if casc is not None and casc.enabled:
        return "cascade"
    if sc.ac_check:
        return "ac_check"
    new = _unknown_rules(sc, KERNEL_KEYS["scenario"])
    for part in ("viability", "ufls"):
        sub = getattr(sc, part, None)
        if sub is not None:
            new += [f"{part}.{k}" for k in _unknown_rules(sub, KERNEL_KEYS[part])]
    return ", ".join(new) if new else None


def needs_exact_path(sc: Scenario) -> bool:
    """Whether timelines of ``sc`` must run one by one (:func:`exact_path_reason`). Island viability rides on
    the kernel: the separation check at every change of the grid, UFLS load back the hour after, black start,
    cold-load pickup."""
    return exact_path_reason(sc) is not None


def _exact_timelines(model: TimelineModel, seeds: np.ndarray, rep: Repairs | None,
                     use_strike_seeds: bool) -> TimelineBatch:
    """The same batch from the hourly simulation, one timeline per seed (the reference path)."""
    from svitlo.simulation.steps import FACILITY_STATES
    from svitlo.simulation.timeline import run_timeline

    sc = model.sc if rep is model.sc.repairs else model.sc.model_copy(update={"repairs": rep})
    fac = model.facilities if len(model.facilities) else None
    H, N, n_f = model.horizon_h, seeds.size, len(model.facilities)
    cols = HOURLY_METRICS
    hourly = {c: np.zeros((N, H)) for c in cols}
    states = np.zeros((N, n_f, H), dtype=np.int8)
    dark, on_b, until = np.zeros((N, n_f)), np.zeros((N, n_f)), np.full((N, n_f), np.nan)
    code = {s: i for i, s in enumerate(FACILITY_STATES)}
    for k, seed in enumerate(seeds.tolist()):
        tl = run_timeline(model.cg, sc, fac, seed=int(seed), use_strike_seeds=use_strike_seeds)
        for c in cols:
            hourly[c][k] = tl.hourly[c].to_numpy(float)
        if n_f:
            states[k] = np.vectorize(code.__getitem__, otypes=[np.int8])(tl.facility_states.to_numpy())
            dark[k] = tl.facilities["hours_dark"].to_numpy(float)
            on_b[k] = tl.facilities["hours_on_backup"].to_numpy(float)
            until[k] = tl.facilities["hours_until_dark"].to_numpy(float)
    return TimelineBatch(seeds=seeds, facility_ids=model.facilities["id"].to_numpy(dtype=object), states=states,
                         hours_dark=dark, hours_on_backup=on_b, hours_until_dark=until, distinct_states=0,
                         **hourly)
