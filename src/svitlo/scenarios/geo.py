"""Geographic strikes: impact points scattered by a circular error, assets damaged by fragility curves.

A geographic strike names aim points (``{lat, lon, weapon, n}``) or explicit impact points. Each aimed weapon
lands at a point drawn from a circular normal distribution around its aim point whose *circular error
probable* (CEP) holds 50 % of impacts: per axis ``sigma = CEP / sqrt(2 ln 2)``. Each asset then reaches a
damage state (:mod:`svitlo.scenarios.damage_states`) by lognormal fragility curves of its distance ``d`` (m)::

    P(>= state | d) = 1 - Phi((ln d - ln d_state) / beta)

which is 1 at the impact point, 0.5 at the state's median distance ``d_state`` and falls with distance. The
draws and their correlation at sites are in :mod:`svitlo.scenarios.outcome`. Asset positions: a bus
(substation) is at its lat/lon; a branch is at the nearest point of the straight segment between its end buses;
generators and loads sit at their bus. Assets without coordinates cannot be hit.

Distances are in metres: haversine for point-to-point distances (:func:`haversine_m`), and a local
equirectangular projection around each impact point for point-to-segment distances (:func:`local_xy_m`), whose
error is far below a metre over the few kilometres a blast reaches.

Weapon classes (:data:`DEFAULT_WEAPONS`) carry an explosive mass (TNT equivalent) and a CEP. The median distance
of each state is where the peak incident overpressure of the charge (Kingery–Bulmash,
:mod:`svitlo.scenarios.blast`) falls to the state's threshold. The reported ~200 m "destruction radius" of a
FAB-1500 (~675 kg; cube-root scaled ~104 m for a FAB-250, ~144 m for a FAB-500; press reports, DESIGN §8) sits
at ~5 kPa — window breakage and fragment damage to bushings and radiators — so it calibrates the *light*
state of a substation; destruction needs ~69 kPa, within ~34 m of a FAB-1500. A class given by ``d50_m`` alone
(the distance of 50 % destruction of a substation, the old meaning) gets the charge whose destroyed-state
distance that is. Users add classes under ``weapons:`` in the scenario, and may tabulate curves per asset kind
and state (:class:`~svitlo.scenarios.damage_states.StateCurve`).

Examples
--------
>>> round(float(fragility(np.array([104.0]), d50_m=104.0, beta=0.4)[0]), 3)
0.5
>>> round(DEFAULT_WEAPONS["FAB-500"].d50_for("bus", "light"), 1)
143.0
>>> round(DEFAULT_WEAPONS["FAB-500"].d50_for("bus"), 1)     # destroyed
24.4
>>> round(float(haversine_m(50.0, 30.0, 50.0, 30.001)), 1)
71.5
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from svitlo.errors import ScenarioError
from svitlo.model.compiled import CompiledGrid
from svitlo.scenarios.blast import distance_for_overpressure_m, scaled_distance
from svitlo.scenarios.damage_states import DamageKind, DamageModel, DamageStateName, StateCurve

__all__ = ["WeaponClass", "Aim", "ImpactPoint", "GeoStrike", "DEFAULT_WEAPONS", "GEO_KINDS", "EARTH_RADIUS_M",
           "haversine_m", "local_xy_m", "fragility", "sigma_from_cep", "scatter_impacts", "impact_points",
           "weapon_table", "segment_distance_m"]

#: Mean Earth radius (m), IUGG.
EARTH_RADIUS_M = 6_371_008.8
#: Asset kinds a geographic strike can hit by default (an external grid is a model boundary, not a target).
GEO_KINDS: tuple[str, ...] = ("bus", "line", "trafo", "impedance", "branch", "gen", "sgen")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


#: Largest seed accepted anywhere (seeds are stored in int64 columns).
MAX_SEED = 2**63 - 1
#: Longest distance (m) a weapon parameter may take (CEP, 50 % damage distance).
_MAX_M = 1e6


class WeaponClass(_Strict):
    """A weapon class: explosive mass, accuracy and fragility parameters.

    Attributes
    ----------
    explosive_kg
        Explosive mass (kg, TNT equivalent); sets every state's distance by the Kingery–Bulmash overpressure
        curve unless ``d50_m`` is given.
    cep_m
        Circular error probable (m): half of the impacts fall within this distance of the aim point.
    d50_m
        Distance (m) at which a substation (bus) is destroyed with probability 0.5; the class then acts as the
        charge with that destroyed-state distance (other states follow by the overpressure curve).
    beta
        Lognormal dispersion of the fragility curves (dimensionless). 0.4 is an indicative assumption in the
        range used for blast and seismic fragility curves; override it with better data.
    kind_factor
        Distance multiplier per asset kind, applied to all states of the kind (default 1: the thresholds per
        kind in :mod:`svitlo.scenarios.damage_states` already differ).
    curves
        Tabulated probability-of-state curves per asset kind and state, replacing the overpressure-derived ones.
    """

    explosive_kg: Annotated[float, Field(gt=0, le=1e9)] | None = None
    cep_m: Annotated[float, Field(gt=0, le=_MAX_M)] = 30.0
    d50_m: Annotated[float, Field(gt=0, le=_MAX_M)] | None = None
    beta: Annotated[float, Field(gt=0, le=100)] = 0.4
    kind_factor: dict[str, Annotated[float, Field(gt=0, le=1000)]] = Field(default_factory=dict)
    curves: dict[DamageKind, dict[DamageStateName, StateCurve]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _size(self) -> "WeaponClass":
        if self.explosive_kg is None and self.d50_m is None:
            raise ValueError("a weapon class needs 'explosive_kg' (kg) or 'd50_m' (m)")
        return self

    def charge_kg(self, model: DamageModel | None = None) -> float:
        """TNT-equivalent charge (kg): ``explosive_kg``, or the charge whose bus-destroyed distance is ``d50_m``."""
        if self.d50_m is None:
            assert self.explosive_kg is not None
            return float(self.explosive_kg)
        kpa = (model or _DEFAULT_MODEL).states_for("bus").get("destroyed")
        z = float(scaled_distance(distance_for_overpressure_m(kpa.kpa if kpa else 68.9, 1.0), 1.0))
        return float((self.d50_m / z) ** 3)

    def d50_for(self, kind: str = "bus", state: str = "destroyed", model: DamageModel | None = None) -> float:
        """Median distance (m) of reaching ``state`` for an asset of ``kind`` (overpressure-derived states)."""
        spec = (model or _DEFAULT_MODEL).states_for(kind)[state]
        d = float(distance_for_overpressure_m(spec.kpa, self.charge_kg(model)))
        return d * self.kind_factor.get(kind, 1.0)


_DEFAULT_MODEL = DamageModel()


#: FAB-class defaults (press-reported explosive masses, DESIGN §8). The CEP of 30 m is an indicative
#: assumption for glide-kit delivery, not a sourced figure; set ``cep_m`` for your question.
DEFAULT_WEAPONS: dict[str, WeaponClass] = {
    "FAB-250": WeaponClass(explosive_kg=95.0),
    "FAB-500": WeaponClass(explosive_kg=250.0),
    "FAB-1500": WeaponClass(explosive_kg=675.0),
}


class Aim(_Strict):
    """``n`` weapons of class ``weapon`` aimed at (``lat``, ``lon``) (deg); ``cep_m`` overrides the class CEP;
    ``name`` names the place for people ("town substation"): the story and report tie what was destroyed to
    it."""

    name: Annotated[str, Field(min_length=1, max_length=120)] | None = None
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    weapon: str
    n: Annotated[int, Field(ge=1, le=10_000)] = 1
    cep_m: Annotated[float, Field(gt=0, le=_MAX_M)] | None = None


class ImpactPoint(_Strict):
    """One impact at a known point (deg): no scatter, only the fragility draw."""

    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    weapon: str


class GeoStrike(_Strict):
    """A geographic strike: aim points and/or explicit impact points, hitting assets of ``kinds``."""

    aim: list[Aim] = Field(default_factory=list)
    points: list[ImpactPoint] = Field(default_factory=list)
    kinds: list[str] = Field(default_factory=lambda: list(GEO_KINDS))
    seed: Annotated[int, Field(ge=0, le=MAX_SEED)] | None = None

    @model_validator(mode="after")
    def _some(self) -> "GeoStrike":
        if not self.aim and not self.points:
            raise ValueError("a geographic strike needs at least one 'aim' or 'points' entry")
        bad = [k for k in self.kinds if k not in GEO_KINDS + ("load",)]
        if bad:
            raise ValueError(f"unknown asset kind {bad[0]!r}; expected some of {list(GEO_KINDS) + ['load']}")
        return self

    def weapons_used(self) -> list[tuple[str, str]]:
        """``(field path, weapon name)`` of every aim and point, for validation."""
        return ([(f"aim[{i}].weapon", a.weapon) for i, a in enumerate(self.aim)]
                + [(f"points[{i}].weapon", p.weapon) for i, p in enumerate(self.points)])


def weapon_table(user: Mapping[str, WeaponClass] | None = None) -> dict[str, WeaponClass]:
    """Default weapon classes updated with user classes (a user class of the same name wins)."""
    return {**DEFAULT_WEAPONS, **dict(user or {})}


def haversine_m(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance (m) between points given in degrees (broadcasts)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp = p2 - p1
    dl = np.radians(np.asarray(lon2, float) - np.asarray(lon1, float))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def local_xy_m(lat, lon, lat0: float, lon0: float) -> tuple[np.ndarray, np.ndarray]:
    """East/north offsets (m) of points from (``lat0``, ``lon0``), local equirectangular projection."""
    x = np.radians(np.asarray(lon, float) - lon0) * EARTH_RADIUS_M * math.cos(math.radians(lat0))
    y = np.radians(np.asarray(lat, float) - lat0) * EARTH_RADIUS_M
    return x, y


def fragility(d_m: np.ndarray, *, d50_m: float | np.ndarray, beta: float) -> np.ndarray:
    """Lognormal damage probability at distance ``d_m`` (m): ``1 - Phi((ln d - ln d50) / beta)``."""
    d = np.maximum(np.asarray(d_m, float), 1e-9)
    from scipy.special import ndtr  # lazily: scipy.special costs ~0.1 s of every command's start

    return ndtr(-(np.log(d) - np.log(d50_m)) / beta)


def sigma_from_cep(cep_m: float) -> float:
    """Per-axis standard deviation (m) of a circular normal whose median radius is ``cep_m``."""
    return cep_m / math.sqrt(2.0 * math.log(2.0))


def scatter_impacts(lat: float, lon: float, *, cep_m: float, n: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` impact points (deg) around an aim point, circular normal with the given CEP (m)."""
    s = sigma_from_cep(cep_m)
    east, north = rng.normal(0.0, s, size=(2, n))
    dlat = np.degrees(north / EARTH_RADIUS_M)
    dlon = np.degrees(east / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lat + dlat, lon + dlon


def impact_points(spec: GeoStrike, rng: np.random.Generator, weapons: Mapping[str, WeaponClass],
                  where: str = "geographic") -> list[tuple[float, float, str]]:
    """Impact points ``(lat, lon, weapon)`` of a strike: explicit points, then scattered aims in order."""
    for path, name in spec.weapons_used():
        if name not in weapons:
            raise ScenarioError(f"unknown weapon class; expected one of {sorted(weapons)} or a class defined "
                                "under 'weapons:'", field=f"{where}.{path}", value=name)
    out = [(p.lat, p.lon, p.weapon) for p in spec.points]
    for a in spec.aim:
        w = weapons[a.weapon]
        la, lo = scatter_impacts(a.lat, a.lon, cep_m=a.cep_m or w.cep_m, n=a.n, rng=rng)
        out += [(float(x), float(y), a.weapon) for x, y in zip(la, lo)]
    return out


def _targets(cg: CompiledGrid, kinds: set[str]) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """Per asset kind: (kind, asset indices into its class, segment start lat/lon, segment end lat/lon)."""
    blat, blon = cg.bus_lat, cg.bus_lon
    out = []
    if "bus" in kinds:
        i = np.flatnonzero(cg.bus_in_service & np.isfinite(blat) & np.isfinite(blon))
        out.append(("bus", i, np.column_stack([blat[i], blon[i]]), np.column_stack([blat[i], blon[i]])))
    for k in ("line", "trafo", "impedance", "branch"):
        if k in kinds:
            i = np.flatnonzero(cg.br_in_service & (cg.branch_kind == k))
            f, t = cg.br_f[i], cg.br_t[i]
            ok = np.isfinite(blat[f]) & np.isfinite(blon[f]) & np.isfinite(blat[t]) & np.isfinite(blon[t])
            i, f, t = i[ok], f[ok], t[ok]
            out.append((k, i, np.column_stack([blat[f], blon[f]]), np.column_stack([blat[t], blon[t]])))
    gkind = np.array([g.split(":", 1)[0] for g in cg.gen_ids], dtype=object)
    for k in ("gen", "sgen"):
        if k in kinds:
            i = np.flatnonzero(cg.gen_in_service & (gkind == k))
            b = cg.gen_bus[i]
            ok = np.isfinite(blat[b]) & np.isfinite(blon[b])
            i, b = i[ok], b[ok]
            out.append((k, i, np.column_stack([blat[b], blon[b]]), np.column_stack([blat[b], blon[b]])))
    if "load" in kinds:
        i = np.flatnonzero(cg.load_in_service & (cg.load_p_mw > 0))
        b = cg.load_bus[i]
        ok = np.isfinite(blat[b]) & np.isfinite(blon[b])
        i, b = i[ok], b[ok]
        out.append(("load", i, np.column_stack([blat[b], blon[b]]), np.column_stack([blat[b], blon[b]])))
    return out


def segment_distance_m(lat: float, lon: float, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance (m) from a point to segments with ends ``a`` and ``b`` (arrays of ``[lat, lon]`` rows)."""
    ax, ay = local_xy_m(a[:, 0], a[:, 1], lat, lon)
    bx, by = local_xy_m(b[:, 0], b[:, 1], lat, lon)
    dx, dy = bx - ax, by - ay
    ll = dx * dx + dy * dy
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(ll > 0, -(ax * dx + ay * dy) / ll, 0.0)
    t = np.clip(t, 0.0, 1.0)
    return np.hypot(ax + t * dx, ay + t * dy)
