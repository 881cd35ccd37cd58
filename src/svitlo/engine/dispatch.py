"""Per-island dispatch and priority load shedding, ``balance`` rule (vectorised over islands).

An island is energised only if it holds a surviving island-forming generator. In an energised island:

* if generation capacity covers the (net) load, every load is served and generators share the imbalance
  against their scheduled output by headroom (distributed slack): up by ``p_max - p`` (an unbounded external
  grid takes it all), down by ``p`` (never below 0, or ``p_min`` when given). A surplus goes first into the
  external grids (``kind = ext_grid``, :func:`external_units`), the balancing slack: they absorb it down to
  ``-export`` (:func:`export_limit_mw`), shared by their room, so the other units keep their schedules while
  the export limit allows; only the rest moves the other units down;
* otherwise every generator runs at capacity and the deficit is shed by priority tier — the highest tier
  number (least critical) first, tier 1 (critical) last — proportionally within a tier.

De-energised islands serve nothing. Line ratings are ignored here (``opf`` mode honours them).

Examples
--------
>>> import numpy as np
>>> d = balance_dispatch(
...     labels=np.array([0, 0]), n_islands=1,
...     gen_bus=np.array([0]), gen_p_mw=np.array([10.0]), gen_p_max_mw=np.array([30.0]),
...     gen_forms=np.array([True]), gen_alive=np.array([True]),
...     load_bus=np.array([1, 1]), load_p_mw=np.array([30.0, 10.0]), load_tier=np.array([1, 3]),
...     load_alive=np.array([True, True]))
>>> d.gen_p_mw.tolist(), d.load_served_mw.tolist()
([30.0], [30.0, 0.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Dispatch", "balance_dispatch", "export_limit_mw", "external_units"]


@dataclass(frozen=True, eq=False)
class Dispatch:
    """Result of a dispatch rule on one damaged state.

    Attributes
    ----------
    gen_p_mw
        Output per generator (MW), 0 for generators off or in de-energised islands.
    load_served_mw
        Served power per load (MW); ``load_p_mw - served`` is shed for alive loads.
    energised
        Per island: holds an island-forming generator.
    capacity_mw
        Per island: available generation capacity (MW; inf for an unbounded external grid).
    """

    gen_p_mw: np.ndarray
    load_served_mw: np.ndarray
    energised: np.ndarray
    capacity_mw: np.ndarray


def external_units(cg) -> np.ndarray:
    """Per generator: True for an external grid (``kind = ext_grid``: pandapower ``ext_grid``, a MATPOWER
    reference-bus generator with negative ``PMIN``), the only units allowed to absorb power (export)."""
    return np.asarray(cg.gen_external, dtype=bool) if len(cg.gen_external) == cg.n_gen else np.zeros(cg.n_gen, bool)


def export_limit_mw(cg) -> np.ndarray:
    """Per generator: the power it may absorb (MW, >= 0): ``-p_min_mw`` for an external grid with a negative
    minimum, 0 for every other unit (ordinary generators never run below 0)."""
    pmin = np.nan_to_num(np.asarray(cg.gen_p_min_mw, dtype=float))
    return np.where(external_units(cg), np.maximum(-pmin, 0.0), 0.0)


def _island_of(bus: np.ndarray, labels: np.ndarray, alive: np.ndarray) -> np.ndarray:
    isl = labels[bus] if bus.size else np.zeros(0, dtype=np.int64)
    return np.where(alive & (isl >= 0), isl, -1)


def energised_islands(labels: np.ndarray, n_islands: int, gen_bus: np.ndarray, gen_forms: np.ndarray,
                      gen_alive: np.ndarray) -> np.ndarray:
    """Per island: True when it holds a surviving island-forming generator."""
    gi = _island_of(gen_bus, labels, gen_alive)
    out = np.zeros(n_islands, dtype=bool)
    sel = (gi >= 0) & gen_forms
    out[gi[sel]] = True
    return out


def balance_dispatch(*, labels: np.ndarray, n_islands: int, gen_bus: np.ndarray, gen_p_mw: np.ndarray,
                     gen_p_max_mw: np.ndarray, gen_forms: np.ndarray, gen_alive: np.ndarray,
                     load_bus: np.ndarray, load_p_mw: np.ndarray, load_tier: np.ndarray,
                     load_alive: np.ndarray, gen_p_min_mw: np.ndarray | None = None,
                     gen_external: np.ndarray | None = None, gen_export_mw: np.ndarray | None = None) -> Dispatch:
    """Dispatch and shed by the ``balance`` rule (pure; see the module docstring).

    With ``gen_p_min_mw`` (MW, clipped to ``[0, p_max]``; :mod:`svitlo.engine.viability`) every online unit
    starts from its schedule clipped to ``[p_min, p_max]`` and moves down by its share of the room above
    ``p_min`` instead of its share of output, so none runs below its minimum while the island's load covers
    the minimums (the caller decommits units otherwise).

    With ``gen_external`` (bool per unit, :func:`external_units`) and ``gen_export_mw`` (MW >= 0 per unit,
    :func:`export_limit_mw`) the external grids absorb a surplus first: each runs down to ``-export``, and the
    other units move down only by what is left. An island whose net load is below minus its export limits
    curtails its negative loads.
    """
    energised = energised_islands(labels, n_islands, gen_bus, gen_forms, gen_alive)
    gi = _island_of(gen_bus, labels, gen_alive)
    gon = gi >= 0
    gon[gon] = energised[gi[gon]]
    li = _island_of(load_bus, labels, load_alive)
    lon = li >= 0
    lon[lon] = energised[li[lon]]

    pmax = np.where(gon, np.maximum(gen_p_max_mw, 0.0), 0.0)
    pmin = np.zeros_like(pmax) if gen_p_min_mw is None else np.where(gon, np.clip(gen_p_min_mw, 0.0, pmax), 0.0)
    ext = gon & (np.zeros(gon.size, bool) if gen_external is None else np.asarray(gen_external, dtype=bool))
    if gen_export_mw is not None:  # an external grid may absorb down to -export
        pmin = np.where(ext & (gen_export_mw > 0), -np.maximum(gen_export_mw, 0.0), pmin)
    base = np.where(gon, np.clip(gen_p_mw, pmin, pmax), 0.0)
    gidx = np.where(gon, gi, 0)
    cap = np.bincount(gidx, weights=np.where(gon, pmax, 0.0), minlength=n_islands) if n_islands else np.zeros(0)
    inf_cap = np.zeros(n_islands, dtype=bool)
    if n_islands:
        inf_cap[gidx[gon & np.isinf(pmax)]] = True
        cap = np.where(inf_cap, np.inf, np.nan_to_num(cap, posinf=0.0))
    base_sum = np.bincount(gidx, weights=base, minlength=n_islands) if n_islands else np.zeros(0)

    lidx = np.where(lon, li, 0)
    p_load = np.where(lon, load_p_mw, 0.0)
    pos = np.maximum(p_load, 0.0)
    neg = np.minimum(p_load, 0.0)
    demand = (np.bincount(lidx, weights=p_load, minlength=n_islands) if n_islands else np.zeros(0))
    served = p_load.copy()
    gen_out = base.copy()

    # --- islands short of generation: shed by tier, least critical first -------------------------------
    short = energised & (demand > cap)
    if short.any():
        deficit = np.where(short, demand - np.where(short, cap, 0.0), 0.0)
        tiers = np.unique(load_tier[lon & (pos > 0)]) if lon.any() else np.zeros(0, dtype=np.int64)
        frac = np.zeros((n_islands, tiers.size))
        remaining = deficit.copy()
        for j in range(tiers.size - 1, -1, -1):  # highest tier number first
            sel = lon & (load_tier == tiers[j])
            lt = np.bincount(lidx[sel], weights=pos[sel], minlength=n_islands)
            cut = np.minimum(lt, remaining)
            with np.errstate(divide="ignore", invalid="ignore"):
                frac[:, j] = np.where(lt > 0, cut / lt, 0.0)
            remaining = remaining - cut
        tier_col = np.searchsorted(tiers, load_tier) if tiers.size else np.zeros_like(load_tier)
        tier_col = np.clip(tier_col, 0, max(tiers.size - 1, 0))
        shed_frac = np.zeros(load_tier.size)
        m = lon & short[lidx] & (pos > 0)
        if tiers.size:
            shed_frac[m] = frac[lidx[m], tier_col[m]]
        served = np.where(m, pos * (1.0 - shed_frac), served) + np.where(m, neg, 0.0)
        full = gon & short[gidx]
        gen_out = np.where(full, pmax, gen_out)

    # --- islands with enough generation: external grids first, then distributed slack by headroom ------
    ok = energised & ~short
    if ok.any():
        delta = np.where(ok, demand - base_sum, 0.0)
        surplus = delta < 0
        if ext.any():  # a surplus goes first into the external grids, down to -export
            sel_e = ext & ok[gidx]
            dn_e = np.where(sel_e, base - pmin, 0.0)
            r_e = np.clip(delta, -np.bincount(gidx, weights=dn_e, minlength=n_islands), 0.0)
            gen_out = np.where(sel_e, base + _share(r_e, dn_e * 0.0, dn_e, sel_e, gidx, n_islands), gen_out)
            delta = delta - r_e
        sel = gon & ok[gidx] & ~(ext & surplus[gidx])  # a shortfall is shared by every unit's headroom
        up = np.where(sel, pmax - base, 0.0)
        down_w = np.where(sel, base - pmin, 0.0)
        gen_out = np.where(sel, base + _share(delta, up, down_w, sel, gidx, n_islands), gen_out)
        # net-negative islands (sources modelled as negative loads exceed demand and export): curtail those
        floor = np.bincount(gidx, weights=np.where(ext, np.minimum(pmin, 0.0), 0.0), minlength=n_islands)
        over = ok & (demand < floor)
        if over.any():
            negsum = np.bincount(lidx, weights=neg, minlength=n_islands)
            with np.errstate(divide="ignore", invalid="ignore"):
                scale = np.where(negsum < 0, (negsum - demand + floor) / negsum, 1.0)
            mneg = lon & over[lidx] & (p_load < 0)
            served = np.where(mneg, p_load * scale[lidx] + 0.0, served)
            gen_out = np.where(gon & over[gidx], np.where(ext, np.minimum(pmin, 0.0), 0.0), gen_out)
    served = np.where(lon, served, 0.0)
    return Dispatch(gen_p_mw=gen_out, load_served_mw=served, energised=energised, capacity_mw=cap)


def _room_up(up: np.ndarray, sel: np.ndarray, gidx: np.ndarray, n_islands: int) -> np.ndarray:
    """Per island: summed headroom of the selected units (MW; inf when any is unbounded)."""
    fin = np.bincount(gidx, weights=np.where(sel & np.isfinite(up), up, 0.0), minlength=n_islands)
    n_inf = np.bincount(gidx, weights=(sel & np.isinf(up)).astype(float), minlength=n_islands)
    return np.where(n_inf > 0, np.inf, fin)


def _share(delta: np.ndarray, up: np.ndarray, down: np.ndarray, sel: np.ndarray, gidx: np.ndarray,
           n_islands: int) -> np.ndarray:
    """Per unit: its part of the island residual ``delta`` (MW): up by headroom ``up`` (unbounded units share it
    equally when any is present), down by room ``down``."""
    inf_up = sel & np.isinf(up)
    n_inf = np.bincount(gidx, weights=inf_up.astype(float), minlength=n_islands)
    has_inf = n_inf > 0
    up_w = np.where(has_inf[gidx], inf_up.astype(float), np.where(sel, up, 0.0))
    up_sum = np.bincount(gidx, weights=np.where(sel, up_w, 0.0), minlength=n_islands)
    down_sum = np.bincount(gidx, weights=np.where(sel, down, 0.0), minlength=n_islands)
    with np.errstate(divide="ignore", invalid="ignore"):
        share_up = np.where(up_sum[gidx] > 0, up_w / up_sum[gidx], 0.0)
        share_dn = np.where(down_sum[gidx] > 0, down / down_sum[gidx], 0.0)
    d = delta[gidx]
    return np.where(sel & (d >= 0), d * share_up, np.where(sel & (d < 0), d * share_dn, 0.0))
