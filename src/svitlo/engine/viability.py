"""Will an island survive? Grid-forming adequacy, frequency at separation, UFLS and unit commitment.

Rules, applied per island of a damaged state, in the order they act in time (each dark island gets a reason):

1. **Forming.** An island is energised only if it holds a surviving grid-forming unit (``forms_island``;
   synchronous units and external grids by default; inverter-based sources follow but do not form unless
   declared grid-forming). Units with ``p_max_mw = 0`` (synchronous condensers) never form
   (:func:`~svitlo.model.compiled.compile_grid`). Reasons: ``no generation``, ``no grid-forming unit``.
2. **Adequacy.** Grid-forming capacity must be at least ``min_grid_forming_share`` of the island's supply
   (``min(load, capacity)``), and the stored kinetic energy ``Σ H_i p_max_i`` (MW·s) at least ``min_inertia_s``
   seconds of the island's load. Reasons: ``grid-forming share below minimum``, ``inertia below minimum``.
3. **Frequency at separation.** The island's sudden deficit is the net export of its surviving assets in the
   pre-strike state (the case's schedule balanced by the plain ``balance`` rule), lost at once. Its nadir
   follows the SFR model of :mod:`svitlo.engine.frequency` on the island's synchronous base; UFLS stages
   shed each non-exempt load by their share as the frequency falls; below ``collapse_hz`` the island is lost.
   An island that separates with a surplus sees its frequency rise: the governors and the inverter-based
   units' LFSM-O (:class:`~svitlo.engine.frequency.OverFrequency`) act, and above ``trip_hz`` the generators'
   over-frequency protection trips them all. Islands holding an unbounded unit (an external grid) or no
   synchronous inertia keep their frequency. Reasons: ``frequency collapse``, ``over-frequency``.
4. **Commitment.** Each unit runs between ``p_min`` (clipped to ``[0, p_max]``) and ``p_max``. When the
   remaining load is below the committed minimums, units are decommitted — ``largest_first`` (largest
   ``p_min`` first) or ``merit_order`` (most expensive first) — never the last grid-forming one, until the
   minimums fit. Reason if they never fit: ``load below minimum output``.

Then the operator's priority re-dispatch (:func:`svitlo.engine.dispatch.balance_dispatch`, with ``p_min``)
serves what remains.

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> from svitlo.engine.damage import apply_damage
>>> from svitlo.topology.islands import islands
>>> cg = compile_grid(svitlo.load_grid("case9"))
>>> dmg = apply_damage(cg, ["gen:0", "line:0"])     # lose 163 MW, and the external grid cut off unloaded
>>> labels, n = islands(cg.n_bus, cg.br_f, cg.br_t, dmg.branch_alive, dmg.bus_alive)
>>> v = island_viability(cg, dmg, labels, n, ViabilityOptions(enabled=True))
>>> [REASONS[c] for c in v.reason], v.ufls_stages.tolist(), v.ufls_shed_mw.round(1).tolist()
(['load below minimum output', ''], [0, 5], [0.0, 118.1])
>>> round(float(v.nadir_hz[1]), 2)      # with five UFLS stages acting
48.02
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from svitlo.engine.damage import DamageState, apply_damage
from svitlo.engine.frequency import OverFrequency, SfrParams, UflsSchedule, overfrequency_peak_pu, ufls_response
from svitlo.model.compiled import CompiledGrid

__all__ = ["ViabilityOptions", "IslandViability", "island_viability", "pre_event", "REASONS", "effective_p_min",
           "unit_inertia_mws", "viability_options", "apply_unit_overrides"]

#: Reason codes of dark islands (index = code; 0 = lit).
REASONS: tuple[str, ...] = ("", "no generation", "no grid-forming unit", "grid-forming share below minimum",
                            "inertia below minimum", "frequency collapse", "load below minimum output",
                            "over-frequency")
NO_GEN, NO_GF, GF_SHARE, INERTIA, COLLAPSE, PMIN, OVERFREQ = 1, 2, 3, 4, 5, 6, 7

Decommit = Literal["largest_first", "merit_order"]


@dataclass(frozen=True)
class ViabilityOptions:
    """Island viability settings (the scenario's ``viability:`` and ``ufls:`` blocks).

    Attributes
    ----------
    enabled
        Apply the rules (False: the plain rule, every island with a grid-forming unit is lit).
    min_grid_forming_share
        Least grid-forming capacity per MW of island supply (0–1).
    min_inertia_s
        Least kinetic energy per MW of island load (s = MW·s/MW).
    decommit
        ``"largest_first"`` or ``"merit_order"``.
    frequency
        Apply the frequency-at-separation rule (SFR nadir, UFLS, collapse).
    sfr
        SFR parameters.
    ufls
        UFLS schedule (None: none installed; the collapse threshold then stays 47.5 Hz).
    over_frequency
        LFSM-O and over-frequency protection (None: a rise is not acted on).
    """

    enabled: bool = False
    min_grid_forming_share: float = 0.2
    min_inertia_s: float = 1.0
    decommit: Decommit = "largest_first"
    frequency: bool = True
    sfr: SfrParams = field(default_factory=SfrParams)
    ufls: UflsSchedule | None = field(default_factory=UflsSchedule.nc_er)
    over_frequency: OverFrequency | None = field(default_factory=OverFrequency)

    @property
    def collapse_hz(self) -> float:
        return self.ufls.collapse_hz if self.ufls is not None else 47.5

    @property
    def first_stage_hz(self) -> float:
        """Frequency below which something happens (first UFLS stage, or collapse without UFLS)."""
        return self.ufls.hz[0] if self.ufls is not None and self.ufls.hz else self.collapse_hz


@dataclass(frozen=True, eq=False)
class IslandViability:
    """Per-island outcome of the viability rules (arrays over islands unless stated).

    Attributes
    ----------
    lit
        The island may be energised (a grid-forming unit survives and every rule passed).
    reason
        Reason code of a dark island (:data:`REASONS`; 0 when lit or when the island has no load or unit).
    deficit_mw
        Sudden deficit at separation (MW; negative = surplus).
    nadir_hz
        Frequency nadir with UFLS (Hz; nominal when not computed).
    peak_hz
        Frequency peak after a surplus, with LFSM-O (Hz; nominal when not computed).
    ufls_stages
        UFLS stages tripped.
    ufls_shed_mw
        Load disconnected by UFLS (MW).
    decommitted
        Units decommitted (count).
    committed
        Per generator: online after commitment (alive, in a lit island, not decommitted).
    load_p_mw
        Per load: demand left after UFLS (MW).
    """

    lit: np.ndarray
    reason: np.ndarray
    deficit_mw: np.ndarray
    nadir_hz: np.ndarray
    peak_hz: np.ndarray
    ufls_stages: np.ndarray
    ufls_shed_mw: np.ndarray
    decommitted: np.ndarray
    committed: np.ndarray
    load_p_mw: np.ndarray


def viability_options(scenario) -> ViabilityOptions | None:
    """The engine options of a scenario's ``viability:`` and ``ufls:`` blocks (None when disabled)."""
    v, u = scenario.viability, scenario.ufls
    if not v.enabled:
        return None
    s = v.sfr
    sfr = SfrParams(r_pu=s.droop_pu, tr_s=s.reheat_s, fh=s.hp_fraction, km=s.gain, d_pu=s.damping_pu,
                    f_nominal_hz=s.f_nominal_hz)
    ufls = None
    if u.enabled:
        kw = dict(delay_s=u.delay_s, exempt_tiers=tuple(u.exempt_tiers), collapse_hz=u.collapse_hz)
        ufls = UflsSchedule.nc_er(**kw) if u.stages is None else UflsSchedule(
            hz=tuple(x.hz for x in u.stages), fraction=tuple(x.percent / 100 for x in u.stages), **kw)
    o, fn = v.over_frequency, s.f_nominal_hz
    over = OverFrequency(threshold_hz=fn * 1.004 if o.lfsm_o_hz is None else o.lfsm_o_hz,
                         droop=o.lfsm_o_droop_percent / 100.0,
                         trip_hz=fn * 1.03 if o.trip_hz is None else o.trip_hz) if o.enabled else None
    return ViabilityOptions(enabled=True, min_grid_forming_share=v.min_grid_forming_share,
                            min_inertia_s=v.min_inertia_s, decommit=v.decommit, frequency=v.frequency, sfr=sfr,
                            ufls=ufls, over_frequency=over)


def apply_unit_overrides(grid, scenario):
    """A grid with the scenario's ``viability.units`` overrides applied to its generator table (unknown ids
    raise :class:`~svitlo.errors.ScenarioError`)."""
    units = scenario.viability.units
    if not units:
        return grid
    from svitlo.errors import ScenarioError

    gens = grid.generators.copy()
    for gid, o in units.items():
        g = grid.aliases.get(gid, gid)
        if g not in gens.index:
            raise ScenarioError("unknown generator id", source="scenario", field="viability.units", value=gid)
        if o.inertia_h_s is not None:
            gens.loc[g, "inertia_h_s"] = float(o.inertia_h_s)
        if o.grid_forming is not None:
            gens.loc[g, "forms_island"] = bool(o.grid_forming)
        if o.black_start is not None:
            gens.loc[g, "black_start"] = bool(o.black_start)
        if o.p_min_mw is not None:
            gens.loc[g, "p_min_mw"] = float(o.p_min_mw)
    return grid.with_tables(generators=gens)


_PRE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def pre_event(cg: CompiledGrid) -> tuple[np.ndarray, np.ndarray]:
    """Pre-strike injections per generator and per load (MW; load entries are ``-served``): the intact grid
    under the plain ``balance`` rule. Cached per compiled grid."""
    if cg not in _PRE:
        from svitlo.engine.dispatch import balance_dispatch, export_limit_mw, external_units
        from svitlo.topology.islands import islands

        d = apply_damage(cg, [])
        labels, n = islands(cg.n_bus, cg.br_f, cg.br_t, d.branch_alive, d.bus_alive)
        r = balance_dispatch(labels=labels, n_islands=n, gen_bus=cg.gen_bus, gen_p_mw=cg.gen_p_mw,
                             gen_p_max_mw=cg.gen_p_max_mw, gen_forms=cg.gen_forms_island, gen_alive=d.gen_alive,
                             load_bus=cg.load_bus, load_p_mw=cg.load_p_mw, load_tier=cg.load_tier,
                             load_alive=d.load_alive, gen_external=external_units(cg),
                             gen_export_mw=export_limit_mw(cg))
        _PRE[cg] = (np.where(d.gen_alive, r.gen_p_mw, 0.0), -np.where(d.load_alive, r.load_served_mw, 0.0))
    return _PRE[cg]


def effective_p_min(cg: CompiledGrid) -> np.ndarray:
    """Minimum output per unit used by the rules: ``p_min_mw`` clipped to ``[0, p_max_mw]`` (MW).

    External grids are units here too: a positive minimum import of an external grid counts as must-run in
    the commitment check like a generator's ``p_min`` (a negative or absent minimum, the usual case, is 0)."""
    return np.clip(np.nan_to_num(cg.gen_p_min_mw), 0.0, np.maximum(cg.gen_p_max_mw, 0.0))


def unit_inertia_mws(cg: CompiledGrid) -> np.ndarray:
    """Kinetic energy per unit ``H p_max`` (MW·s; inf for an unbounded unit with inertia, 0 without)."""
    h = cg.gen_inertia_h_s
    s = np.maximum(cg.gen_p_max_mw, 0.0)
    with np.errstate(invalid="ignore"):
        return np.where((h > 0) & (s > 0), h * s, 0.0)


def island_viability(cg: CompiledGrid, damage: DamageState, labels: np.ndarray, n_islands: int,
                     opts: ViabilityOptions, *,
                     pre: tuple[np.ndarray, np.ndarray] | None = None,
                     milp_weights: np.ndarray | None = None) -> IslandViability:
    """Apply the viability rules of this module to every island of a damaged state (pure).

    Parameters
    ----------
    cg, damage
        The compiled grid and the damaged state.
    labels, n_islands
        Islands of the state (:func:`svitlo.topology.islands.islands`).
    opts
        Settings; with ``enabled=False`` every island with a grid-forming unit is lit and nothing else acts.
    pre
        Injections before the event per generator and per load (MW; loads ``-served``); default
        :func:`pre_event` (the pre-strike state). The timeline passes the previous hour's state.
    milp_weights
        Shed weight per load: commit by the exact MILP of :mod:`svitlo.engine.commitment` (``opf`` mode)
        instead of the ``decommit`` rule.
    """
    n = n_islands
    g_isl = np.where(damage.gen_alive, labels[cg.gen_bus], -1)
    l_isl = np.where(damage.load_alive, labels[cg.load_bus], -1)
    p_load = np.where(l_isl >= 0, cg.load_p_mw, 0.0)
    out = IslandViability(lit=np.zeros(n, bool), reason=np.zeros(n, np.int64), deficit_mw=np.zeros(n),
                          nadir_hz=np.full(n, opts.sfr.f_nominal_hz), peak_hz=np.full(n, opts.sfr.f_nominal_hz),
                          ufls_stages=np.zeros(n, np.int64),
                          ufls_shed_mw=np.zeros(n), decommitted=np.zeros(n, np.int64),
                          committed=g_isl >= 0, load_p_mw=p_load.copy())
    if n == 0:
        return out
    forms = cg.gen_forms_island
    has_gen = np.zeros(n, bool)
    has_gen[g_isl[g_isl >= 0]] = True
    has_gf = np.zeros(n, bool)
    has_gf[g_isl[(g_isl >= 0) & forms]] = True
    out.lit[:] = has_gf
    out.reason[:] = np.where(has_gf, 0, np.where(has_gen, NO_GF, NO_GEN))
    has_load = np.zeros(n, bool)
    has_load[l_isl[l_isl >= 0]] = True
    out.reason[~has_gen & ~has_load] = 0
    if not opts.enabled:
        out.committed[:] = (g_isl >= 0) & has_gf[np.maximum(g_isl, 0)]
        return out
    pmax = np.maximum(cg.gen_p_max_mw, 0.0)
    pmin = effective_p_min(cg)
    ke = unit_inertia_mws(cg)
    g0, l0 = pre_event(cg) if pre is None else pre
    fin = np.isfinite(pmax)
    ibr = (ke == 0) & fin  # inverter-based (no inertia): LFSM-O
    exempt = np.isin(cg.load_tier, np.asarray(opts.ufls.exempt_tiers if opts.ufls else (), dtype=np.int64))
    for i in np.flatnonzero(has_gf):
        gi = np.flatnonzero(g_isl == i)
        li = np.flatnonzero(l_isl == i)
        demand = float(p_load[li].sum())
        pos = float(np.maximum(p_load[li], 0.0).sum())
        cap = float(pmax[gi].sum())
        supply = min(pos, cap)
        # 2. adequacy ---------------------------------------------------------------------------------
        gf_cap = float(pmax[gi[forms[gi]]].sum())
        if supply > 0 and gf_cap < opts.min_grid_forming_share * supply:
            _dark(out, int(i), gi, GF_SHARE)
            continue
        e = float(ke[gi].sum())
        if pos > 0 and e < opts.min_inertia_s * pos:
            _dark(out, int(i), gi, INERTIA)
            continue
        # 3. frequency at separation ------------------------------------------------------------------
        deficit = -float(g0[gi].sum() + l0[li].sum())
        out.deficit_mw[i] = deficit
        if opts.frequency and deficit > 0 and math.isfinite(e) and not np.isinf(pmax[gi]).any():
            syn = gi[ke[gi] > 0]
            sb = float(pmax[syn].sum())
            if sb > 0:
                p = opts.sfr
                sfr = SfrParams(r_pu=p.r_pu, tr_s=p.tr_s, fh=p.fh, km=p.km, d_pu=p.d_pu * pos / sb,
                                f_nominal_hz=p.f_nominal_hz)
                sheddable = float(np.maximum(p_load[li], 0.0)[~exempt[li]].sum())
                u = ufls_response(deficit / sb, h_s=e / sb, params=sfr, schedule=opts.ufls,
                                  sheddable_pu=sheddable / sb)
                out.nadir_hz[i] = u.nadir_hz
                out.ufls_stages[i] = u.stages
                if u.collapsed:
                    _dark(out, int(i), gi, COLLAPSE)
                    continue
                if u.shed_fraction > 0:
                    cut = li[~exempt[li] & (p_load[li] > 0)]
                    out.load_p_mw[cut] = p_load[cut] * (1.0 - u.shed_fraction)
                    out.ufls_shed_mw[i] = sheddable * u.shed_fraction
                    demand -= out.ufls_shed_mw[i]
        elif (opts.frequency and opts.over_frequency is not None and deficit < 0 and math.isfinite(e)
              and fin[gi].all()):
            sb = float(pmax[gi[ke[gi] > 0]].sum())
            if sb > 0:
                p, o = opts.sfr, opts.over_frequency
                sfr = SfrParams(r_pu=p.r_pu, tr_s=p.tr_s, fh=p.fh, km=p.km, d_pu=p.d_pu * pos / sb,
                                f_nominal_hz=p.f_nominal_hz)
                gb = gi[ibr[gi]]
                rise = overfrequency_peak_pu(-deficit / sb, h_s=e / sb, params=sfr,
                                             lfsm_gain_pu=float(pmax[gb].sum()) / sb / o.droop,
                                             lfsm_cap_pu=max(float(g0[gb].sum()), 0.0) / sb, over=o)
                out.peak_hz[i] = p.f_nominal_hz * (1.0 + rise)
                if out.peak_hz[i] > o.trip_hz:
                    _dark(out, int(i), gi, OVERFREQ)
                    continue
        # 4. commitment -------------------------------------------------------------------------------
        on = gi.copy()
        if pmin[on].sum() > demand and milp_weights is not None:
            from svitlo.engine.commitment import commit_island

            online, feasible = commit_island(p_min=pmin[gi], p_max=cg.gen_p_max_mw[gi], forms=forms[gi],
                                             cost=cg.gen_cost[gi], load_mw=out.load_p_mw[li],
                                             weights=milp_weights[li])
            if not feasible:
                _dark(out, int(i), gi, PMIN)
                out.decommitted[i] = gi.size
                continue
            out.decommitted[i] = int((~online).sum())
            out.committed[gi[~online]] = False
        elif pmin[on].sum() > demand:
            if opts.decommit == "merit_order":
                order = on[np.lexsort((-pmin[on], -cg.gen_cost[on]))]
            else:
                order = on[np.lexsort((-cg.gen_cost[on], -pmin[on]))]
            keep = np.ones(cg.n_gen, bool)
            for g in order:
                if pmin[on[keep[on]]].sum() <= demand:
                    break
                if pmin[g] <= 0:
                    continue
                if forms[g] and forms[on[keep[on]]].sum() <= 1:
                    continue  # never the last grid-forming unit
                keep[g] = False
            on = on[keep[on]]
            out.decommitted[i] = gi.size - on.size
            out.committed[np.setdiff1d(gi, on)] = False
            if pmin[on].sum() > demand:
                _dark(out, int(i), gi, PMIN)
                out.decommitted[i] = gi.size
                continue
    out.committed[:] &= out.lit[np.maximum(g_isl, 0)] & (g_isl >= 0)
    return out


def _dark(out: IslandViability, i: int, gi: np.ndarray, code: int) -> None:
    out.lit[i] = False
    out.reason[i] = code
    out.committed[gi] = False
