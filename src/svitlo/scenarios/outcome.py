"""The damage outcome of a strike: a damage state, the assets out and a sampled repair time per damaged asset.

Draw rule of a geographic strike (:func:`geographic_damage`), for every impact: each asset within reach gets a
standard-normal capacity draw ``x``; it reaches state ``s`` when ``Phi(x) < P(>= s | d)``
(:func:`exceedance`), so the marginal probability of every state is exactly its fragility curve. Assets of one
site (:mod:`svitlo.scenarios.sites`) share a common factor: ``x = sqrt(rho) z_site + sqrt(1 - rho) e`` with
``rho = damage.correlation``, a one-factor Gaussian copula — at ``rho = 1`` components at equal distance share
one state, at 0 they are independent. An asset hit by several impacts keeps its most severe state.

Then, in a fixed order: the bays of damaged buses (each branch, generator and load at the bus out with the
state's ``function_lost``), one lognormal repair time per damaged asset, and last the facilities (so the grid
outcome of a seed does not depend on whether facilities are given).

Examples
--------
>>> import pandas as pd
>>> from svitlo.model.grid import make_grid
>>> from svitlo.model.compiled import compile_grid
>>> from svitlo.scenarios.geo import GeoStrike
>>> g = make_grid(buses=pd.DataFrame({"lat": [50.0, 50.01], "lon": [30.0, 30.0]}, index=["bus:0", "bus:1"]),
...               branches=pd.DataFrame({"from_bus": ["bus:0"], "to_bus": ["bus:1"], "x_pu": [0.1]},
...                                     index=["line:0"]),
...               generators=pd.DataFrame({"bus": ["bus:0"], "p_max_mw": [10.0]}, index=["gen:0"]),
...               loads=pd.DataFrame({"bus": ["bus:1"], "p_mw": [5.0]}, index=["load:0"]))
>>> spec = GeoStrike(points=[{"lat": 50.01, "lon": 30.0, "weapon": "FAB-1500"}], kinds=["bus"])
>>> out = geographic_damage(compile_grid(g), spec, np.random.default_rng(0))
>>> [(u.asset, u.state, u.out) for u in out.units]
[('bus:1', 'destroyed', ('bus:1',))]
>>> geographic_strike(compile_grid(g), spec, np.random.default_rng(0))   # only the assets out
['bus:1']
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from svitlo.errors import ScenarioError
from svitlo.model.compiled import CompiledGrid
from svitlo.scenarios.blast import distance_for_overpressure_m
from svitlo.scenarios.damage_states import DamageModel, state_index
from svitlo.scenarios.geo import (
    EARTH_RADIUS_M,
    GeoStrike,
    WeaponClass,
    _targets,
    fragility,
    haversine_m,
    impact_points,
    weapon_table,
)
from svitlo.scenarios.sites import bus_sites, component_sites

__all__ = ["AssetDamage", "FacilityDamage", "StrikeOutcome", "FacilityTargets", "exceedance", "state_medians",
           "geographic_damage", "merge_outcomes"]


@dataclass(frozen=True)
class AssetDamage:
    """One damaged asset: its ``state``, the asset ids it puts ``out`` of service, its crew ``repair_h`` (h;
    ``None``: the kind's duration of ``repairs.durations_h``), whether it first waits for a spare, its site."""

    asset: str
    state: str
    out: tuple[str, ...]
    repair_h: float | None = None
    needs_spare: bool = False
    site: int = -1


@dataclass(frozen=True)
class FacilityDamage:
    """A facility damaged by a strike: out of service for ``repair_h`` hours, grid or not."""

    facility: str
    repair_h: float


@dataclass(frozen=True)
class FacilityTargets:
    """Facilities a geographic strike can damage: ids, positions (deg) and kinds (arrays of one length)."""

    ids: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    kind: np.ndarray


@dataclass(frozen=True)
class StrikeOutcome:
    """Damaged assets (first-hit order) and damaged facilities of one or more strikes."""

    units: tuple[AssetDamage, ...] = ()
    facilities: tuple[FacilityDamage, ...] = ()

    @property
    def out_ids(self) -> list[str]:
        """Asset ids out of service, first-hit order, no duplicates."""
        return list(dict.fromkeys(a for u in self.units for a in u.out))


def merge_outcomes(outcomes: Sequence[StrikeOutcome]) -> StrikeOutcome:
    """One outcome from several: an asset hit more than once keeps its most severe state (ties: the union of
    the assets out and the longest repair); a facility keeps its longest repair."""
    units: dict[str, AssetDamage] = {}
    for o in outcomes:
        for u in o.units:
            old = units.get(u.asset)
            if old is None or state_index(u.state) > state_index(old.state):
                units[u.asset] = u
            elif state_index(u.state) == state_index(old.state):
                rep = None if old.repair_h is None or u.repair_h is None else max(old.repair_h, u.repair_h)
                units[u.asset] = AssetDamage(old.asset, old.state, tuple(dict.fromkeys(old.out + u.out)), rep,
                                             old.needs_spare or u.needs_spare, old.site)
    fac: dict[str, FacilityDamage] = {}
    for o in outcomes:
        for f in o.facilities:
            if f.facility not in fac or f.repair_h > fac[f.facility].repair_h:
                fac[f.facility] = f
    return StrikeOutcome(tuple(units.values()), tuple(fac.values()))


def exceedance(d_m: np.ndarray, weapon: WeaponClass, kind: str, model: DamageModel,
               medians: np.ndarray | None = None) -> np.ndarray:
    """``P(>= state | d)`` for the kind's states (columns, least severe first) at distances ``d_m`` (m).

    A weapon's tabulated curve replaces the overpressure-derived one of that kind and state; columns are made
    to nest (a state's probability is at least that of any more severe state). ``medians``: the states'
    median distances (m) from :func:`state_medians`, if already computed."""
    states = model.states_for(kind)
    d50 = state_medians(weapon, kind, model) if medians is None else medians
    d = np.maximum(np.asarray(d_m, float).reshape(-1), 1e-9)
    p = ndtr((np.log(d50)[None, :] - np.log(d)[:, None]) / weapon.beta)
    for j, name in enumerate(states):
        if name in weapon.curves.get(kind, {}):
            p[:, j] = weapon.curves[kind][name](d)
    return np.maximum.accumulate(p[:, ::-1], axis=1)[:, ::-1]


def state_medians(weapon: WeaponClass, kind: str, model: DamageModel) -> np.ndarray:
    """Median distance (m) of each of the kind's states for ``weapon`` (overpressure threshold, kind factor)."""
    kpa = np.array([st.kpa for st in model.states_for(kind).values()])
    return distance_for_overpressure_m(kpa, weapon.charge_kg(model)) * weapon.kind_factor.get(kind, 1.0)


def _segment_distances_m(lat: np.ndarray, lon: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distances (m, impacts x segments) from points to segments; as
    :func:`svitlo.scenarios.geo.segment_distance_m`, for many points at once."""
    lat0, lon0 = lat[:, None], lon[:, None]
    kx = np.radians(1.0) * EARTH_RADIUS_M * np.cos(np.radians(lat0))
    ky = np.radians(1.0) * EARTH_RADIUS_M
    ax, ay = (a[None, :, 1] - lon0) * kx, (a[None, :, 0] - lat0) * ky
    bx, by = (b[None, :, 1] - lon0) * kx, (b[None, :, 0] - lat0) * ky
    dx, dy = bx - ax, by - ay
    ll = dx * dx + dy * dy
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(ll > 0, -(ax * dx + ay * dy) / ll, 0.0)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(ax + t * dx, ay + t * dy)


def _bays(cg: CompiledGrid, b: int) -> list[str]:
    br = np.flatnonzero(cg.br_in_service & ((cg.br_f == b) | (cg.br_t == b)))
    gn = np.flatnonzero(cg.gen_in_service & (cg.gen_bus == b))
    ld = np.flatnonzero(cg.load_in_service & (cg.load_bus == b))
    return ([str(cg.branch_ids[i]) for i in br] + [str(cg.gen_ids[i]) for i in gn]
            + [str(cg.load_ids[i]) for i in ld])


class _GeoTables:
    """What a geographic strike needs of one grid and damage model, whatever the draw: targets per kind, sites,
    damage states, bays of buses and states' log-median distances per weapon (filled as weapons appear)."""

    def __init__(self, cg: CompiledGrid, kinds: set[str], model: DamageModel) -> None:
        self.model = model     # held: the cache key uses its id
        self.targets = _targets(cg, kinds)
        self.site = bus_sites(cg, sites=model.sites, site_radius_m=model.site_radius_m)
        self.n_site = int(self.site.max()) + 1 if self.site.size else 0
        self.comp = [component_sites(cg, self.site, kind, idx) for kind, idx, _, _ in self.targets]
        self.states = {kind: model.states_for(kind) for kind, _, _, _ in self.targets}
        self.names = {kind: list(v) for kind, v in self.states.items()}
        self.log_medians: dict[tuple[str, int], tuple[WeaponClass, np.ndarray]] = {}
        self.bays: dict[int, list[str]] = {}
        # the segments of every kind end to end, so that one pass measures an impact's distance to all of them
        # (elementwise: the same floats as kind by kind)
        ends = [(a, b) for _, idx, a, b in self.targets if idx.size]
        self.seg_a = np.concatenate([a for a, _ in ends]) if ends else np.zeros((0, 2))
        self.seg_b = np.concatenate([b for _, b in ends]) if ends else np.zeros((0, 2))
        self.seg_cut = np.cumsum([0] + [idx.size for _, idx, _, _ in self.targets])

    def log_median(self, w: WeaponClass, kind: str) -> np.ndarray:
        got = self.log_medians.get((kind, id(w)))
        if got is None or got[0] is not w:
            got = self.log_medians[(kind, id(w))] = (w, np.log(state_medians(w, kind, self.model)))
        return got[1]

    def bays_of(self, cg: CompiledGrid, b: int) -> list[str]:
        got = self.bays.get(b)
        if got is None:
            got = self.bays[b] = _bays(cg, b)
        return got


_GEO_TABLES: dict[tuple, _GeoTables] = {}
_GEO_TABLES_MAX = 32
_COORDS: dict[int, tuple[CompiledGrid, str]] = {}   # id(grid) -> (grid, digest of its bus coordinates)


def _coords_digest(cg: CompiledGrid) -> str:
    """Digest of a grid's bus coordinates, computed once per grid object (its arrays are read-only)."""
    got = _COORDS.get(id(cg))
    if got is None or got[0] is not cg or cg.bus_lat.flags.writeable or cg.bus_lon.flags.writeable:
        if len(_COORDS) >= _GEO_TABLES_MAX:
            _COORDS.clear()
        got = _COORDS[id(cg)] = (cg, hashlib.sha1(np.ascontiguousarray(cg.bus_lat).tobytes()
                                                  + np.ascontiguousarray(cg.bus_lon).tobytes()).hexdigest())
    return got[1]


def _geo_tables(cg: CompiledGrid, kinds: set[str], model: DamageModel) -> _GeoTables:
    """The tables of :class:`_GeoTables`, cached per grid (its fingerprint and bus coordinates), kinds and damage
    model (by identity): a Monte Carlo draws thousands of strikes on one grid."""
    key = (cg.fingerprint, _coords_digest(cg), tuple(sorted(kinds)), id(model))
    t = _GEO_TABLES.get(key)
    if t is None or t.model is not model:
        if len(_GEO_TABLES) >= _GEO_TABLES_MAX:
            _GEO_TABLES.clear()
        t = _GEO_TABLES[key] = _GeoTables(cg, kinds, model)
    return t


def geographic_damage(cg: CompiledGrid, spec: GeoStrike, rng: np.random.Generator, *,
                      weapons: Mapping[str, WeaponClass] | None = None, model: DamageModel | None = None,
                      facilities: FacilityTargets | None = None, where: str = "geographic") -> StrikeOutcome:
    """Damage states, assets out, repair times and damaged facilities of a geographic strike (pure; randomness
    from ``rng`` in the order of the module docstring). The per-grid tables (targets, sites, states, medians)
    are cached per grid, kinds and damage model."""
    model = model or DamageModel()
    table = weapon_table(weapons)
    pts = impact_points(spec, rng, table, where)
    tabs = _geo_tables(cg, set(spec.kinds), model)
    targets = tabs.targets
    if not any(t[1].size for t in targets):
        raise ScenarioError("the grid has no assets with coordinates (bus lat/lon) of the kinds asked for, so a "
                            "geographic strike cannot hit anything", field=f"{where}.kinds", value=spec.kinds)
    n_site = tabs.n_site
    comp = tabs.comp
    reached = [np.zeros(idx.size, np.int64) for _, idx, _, _ in targets]
    rho = model.correlation
    plat = np.array([p[0] for p in pts])
    plon = np.array([p[1] for p in pts])
    wn = [p[2] for p in pts]
    beta = np.array([table[w].beta for w in wn])[:, None, None]
    z = rng.standard_normal((len(pts), n_site))
    d_all = np.maximum(_segment_distances_m(plat, plon, tabs.seg_a, tabs.seg_b), 1e-9)  # (impacts, assets)
    for k, (kind, idx, _, _) in enumerate(targets):
        if idx.size == 0:
            continue
        d = d_all[:, tabs.seg_cut[k]:tabs.seg_cut[k + 1]]
        by_w = {w: tabs.log_median(table[w], kind) for w in set(wn)}
        p = ndtr((np.stack([by_w[w] for w in wn])[:, None, :] - np.log(d)[:, :, None]) / beta)
        for i, w in enumerate(wn):
            for j, name in enumerate(tabs.states[kind] if table[w].curves.get(kind) else ()):
                if name in table[w].curves[kind]:
                    p[i, :, j] = table[w].curves[kind][name](d[i])
        p = np.maximum.accumulate(p[:, :, ::-1], axis=2)[:, :, ::-1]
        e = rng.standard_normal(d.shape)
        x = np.where(comp[k] >= 0, np.sqrt(rho) * z[:, np.maximum(comp[k], 0)] + np.sqrt(1 - rho) * e, e)
        reached[k] = (ndtr(x)[:, :, None] < p).sum(axis=2).max(axis=0)
    ids = {"bus": cg.bus_ids, "gen": cg.gen_ids, "sgen": cg.gen_ids, "load": cg.load_ids}
    hits: list[tuple[str, str, int, str, int]] = []
    for k, (kind, idx, _, _) in enumerate(targets):
        m = reached[k] > 0
        names = tabs.names[kind]
        hits += [(kind, str(ids.get(kind, cg.branch_ids)[j]), int(j), names[int(s) - 1],
                  int(c)) for j, s, c in zip(idx[m], reached[k][m], comp[k][m])]
    outs = []
    for kind, aid, j, name, _ in hits:
        st = tabs.states[kind][name]
        if kind == "bus" and st.function_lost < 1.0:
            bays = tabs.bays_of(cg, j)
            outs.append(tuple(bb for bb, u in zip(bays, rng.random(len(bays))) if u < st.function_lost))
        else:
            outs.append((aid,))
    units = []
    for (kind, aid, _, name, c), out in zip(hits, outs):
        st = tabs.states[kind][name]
        units.append(AssetDamage(aid, name, out, float(st.repair.sample(rng)), st.needs_spare, c))
    return StrikeOutcome(tuple(units), _facility_damage(facilities, pts, table, model, rng))


_FAC_KPA: dict[tuple[int, int], tuple[FacilityTargets, DamageModel, np.ndarray, dict]] = {}


def _facility_entry(fac: FacilityTargets, model: DamageModel) -> tuple[FacilityTargets, DamageModel, np.ndarray, dict]:
    """Overpressure threshold (kPa) of every facility, cached per facility table and model (by identity), with
    the distances per weapon of :func:`_facility_d50`."""
    got = _FAC_KPA.get((id(fac), id(model)))
    if got is None or got[0] is not fac or got[1] is not model:
        if len(_FAC_KPA) >= _GEO_TABLES_MAX:
            _FAC_KPA.clear()
        kpa = np.array([model.facility(str(k)).kpa for k in np.asarray(fac.kind, dtype=object)], dtype=float)
        got = _FAC_KPA[(id(fac), id(model))] = (fac, model, kpa, {})
    return got


def _facility_d50(fac: FacilityTargets, model: DamageModel, w: WeaponClass) -> np.ndarray:
    """Median damage distance (m) of every facility for weapon ``w``, cached with the thresholds per
    weapon (by identity, as :meth:`_GeoTables.log_median`)."""
    entry = _facility_entry(fac, model)
    got = entry[3].get(id(w))
    if got is None or got[0] is not w:
        got = entry[3][id(w)] = (w, distance_for_overpressure_m(entry[2], w.charge_kg(model)))
    return got[1]


def _facility_damage(fac: FacilityTargets | None, pts, table: Mapping[str, WeaponClass], model: DamageModel,
                     rng: np.random.Generator) -> tuple[FacilityDamage, ...]:
    if fac is None or len(fac.ids) == 0 or not pts:
        return ()
    lat, lon = np.asarray(fac.lat, float), np.asarray(fac.lon, float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    kinds = np.asarray(fac.kind, dtype=object)
    d50s = {wn: _facility_d50(fac, model, table[wn]) for wn in {p[2] for p in pts}}
    # all impacts at once (impacts x facilities): one uniform per impact and facility, impact by impact
    plat = np.array([p[0] for p in pts], dtype=float)[:, None]
    plon = np.array([p[1] for p in pts], dtype=float)[:, None]
    d = np.where(ok, haversine_m(plat, plon, np.where(ok, lat, plat), np.where(ok, lon, plon)), np.inf)
    d50 = np.stack([d50s[p[2]] for p in pts])
    beta = np.array([table[p[2]].beta for p in pts], dtype=float)[:, None]
    p = np.where(ok, fragility(np.where(ok, d, 1.0), d50_m=d50, beta=beta), 0.0)
    hit = (rng.random(d.shape) < p).any(axis=0)
    return tuple(FacilityDamage(str(fac.ids[i]), float(model.facility(str(kinds[i])).repair.sample(rng)))
                 for i in np.flatnonzero(hit))


def geographic_strike(cg: CompiledGrid, spec: GeoStrike, rng: np.random.Generator, *,
                      weapons: Mapping[str, WeaponClass] | None = None, where: str = "geographic",
                      model: DamageModel | None = None) -> list[str]:
    """Asset ids put out of service by a geographic strike (pure; randomness from ``rng``): the ``out`` of
    :func:`geographic_damage`, which also gives states and repair times.

    The module docstring has an example.
    """
    return geographic_damage(cg, spec, rng, weapons=weapons, model=model, where=where).out_ids
