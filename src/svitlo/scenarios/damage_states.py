"""Damage states per asset kind: overpressure thresholds, function lost, repair-time distributions.

A geographic strike leaves each asset in one of :data:`DAMAGE_STATES` — ``none``, ``light``, ``moderate``,
``severe``, ``destroyed`` — in the style of HAZUS-MH's electric-substation and line damage states (DS1 slight,
DS2 moderate, DS3 extensive, DS4 complete). Each state of each asset kind has

* a median capacity as **peak incident overpressure** (kPa): the distance curve of a weapon follows from its
  charge by :func:`svitlo.scenarios.blast.distance_for_overpressure_m`, and the probability of reaching the
  state at distance ``d`` is lognormal, ``P(>= state | d) = Phi((ln d_state - ln d) / beta)``, with the weapon's
  dispersion ``beta`` (a weapon may instead tabulate a curve, :class:`StateCurve`);
* the **share of function lost** (``function_lost``): HAZUS-MH defines substation states by the share of
  switches, breakers and transformers out — DS1 5 %, DS2 40 %, DS3 70 %, DS4 all. svitlo applies that share to
  the bays of a damaged bus: every branch, generator and load connected at the bus is out with that
  probability, drawn independently (a destroyed bus is out with everything on it). Branches, generators and
  loads are out in any damage state (a line with a cut phase trips);
* a **repair-time distribution**: lognormal with median ``median_h`` (h) and dispersion ``beta``; assets whose
  state ``needs_spare`` (transformers with a ruptured tank) first wait for a spare
  (:class:`DamageModel`: ``spare_wait_h`` while the stock lasts, ``lead_time_h`` after).

Thresholds (Clancey 1972, *Diagnostic features of explosion damage*, the overpressure table cited in DESIGN §8;
1 psi = 6.895 kPa):

==============  ======  ========  ======  =========  ===========================================================
kind            light   moderate  severe  destroyed  what the states stand for
==============  ======  ========  ======  =========  ===========================================================
bus             5.2     13.8      27.6    68.9       light: fragments on bushings, radiators, insulators and
                                                     control-room windows (3.4–6.9 kPa windows shatter) — this
                                                     is the reported ~200 m "destruction radius" of a FAB-1500
                                                     (Z ~ 23 m/kg^⅓); moderate: control building walls and
                                                     roof partly collapse (13.8 kPa); severe: cladding of
                                                     light industrial buildings ruptured, oil tanks rupture
                                                     (20.7–27.6 kPa); destroyed: probable total destruction of
                                                     buildings, heavy equipment badly damaged (68.9 kPa)
trafo           5.2     13.8      27.6    68.9       as bus; severe and destroyed need a replacement unit
line, branch,   10.0    20.7      34.5    48.2       light: conductor or insulator string cut (the reviewed
impedance, load                                      line median, ~10 kPa); moderate: spans down; severe:
                                                     wooden poles snap (34.5 kPa); destroyed: towers down
                                                     (48.2 kPa, an assumption: no public tower figure)
gen, sgen       5.2     13.8      27.6    68.9       as bus
==============  ======  ========  ======  =========  ===========================================================

Repair times (median h, lognormal ``beta``). HAZUS-MH restoration functions give mean ± sd in days (DESIGN §8);
a lognormal of the same mean ``m`` and sd ``s`` has ``beta = sqrt(ln(1 + (s/m)^2))`` and median
``m / sqrt(1 + (s/m)^2)`` (:func:`lognormal_from_mean_sd`):

* bus: 1 ± 0.5, 3 ± 1.5, 7 ± 3.5 days (HAZUS substation DS1–DS3); destroyed: 312 h median — Ukrenergo brought
  four 750 kV substations back in 13 days (2024), the figure svitlo used for every hit bus so far;
* trafo: light 12 h, moderate 72 h (assumptions: radiator patch, bushing swap); severe and destroyed: a
  replacement installed in 504 h — an autotransformer in 3 weeks with a spare on hand (Ukrenergo 2024);
* line, branch, impedance, load: 0.3 ± 0.2, 1 ± 0.5, 3 ± 1.5, 7 ± 3 days (HAZUS distribution circuits);
* gen, sgen: 0.5 ± 0.1, 3.6 ± 3.6, 22 ± 21, 65 ± 30 days (HAZUS generation plants).

Facilities (:data:`DEFAULT_FACILITY_DAMAGE`) have one state, ``damaged``: out of service until repaired, powered
or not. Thresholds: 20.7 kPa for framed buildings (hospital, water, heating, emergency: steel-frame buildings
distort, Clancey), 13.8 kPa for telecom sites and shelters (light structures); repair medians of 336 / 168 / 336 /
48 / 72 / 168 h are assumptions to override.

Examples
--------
>>> m = DamageModel()
>>> [s for s in m.states_for("bus")]
['light', 'moderate', 'severe', 'destroyed']
>>> m.states_for("bus")["moderate"].function_lost
0.4
>>> med, beta = lognormal_from_mean_sd(24.0, 12.0)
>>> round(med, 1), round(beta, 3)
(21.5, 0.472)
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from svitlo.facilities.defaults import FacilityKind

__all__ = ["DAMAGE_STATES", "DamageStateName", "DamageKind", "RepairTime", "StateSpec", "StateCurve",
           "FacilityDamageSpec", "SiteSpec", "DamageModel", "DEFAULT_STATES", "DEFAULT_FACILITY_DAMAGE",
           "lognormal_from_mean_sd", "state_index"]

#: Damage states, least to most severe (index 0 = undamaged).
DAMAGE_STATES: tuple[str, ...] = ("none", "light", "moderate", "severe", "destroyed")
DamageStateName = Literal["light", "moderate", "severe", "destroyed"]
DamageKind = Literal["bus", "line", "trafo", "impedance", "branch", "gen", "sgen", "load"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # every float finite


#: Longest time (h) a damage key may name: ten years (as ``svitlo.scenarios.spec.MAX_HOURS``).
_MAX_H = 87_600.0
#: Largest overpressure threshold (kPa) and site radius (m): far beyond any weapon's reach.
_MAX_KPA, _MAX_RADIUS_M = 1e6, 1e6


def lognormal_from_mean_sd(mean: float, sd: float) -> tuple[float, float]:
    """``(median, beta)`` of the lognormal with the given mean and standard deviation (same unit as ``mean``)."""
    r = 1.0 + (sd / mean) ** 2
    return mean / math.sqrt(r), math.sqrt(math.log(r))


def state_index(name: str) -> int:
    """Position of a state in :data:`DAMAGE_STATES` (0 = none)."""
    return DAMAGE_STATES.index(name)


class RepairTime(_Strict):
    """Lognormal repair time: median ``median_h`` (h, >= 0) and dispersion ``beta`` (0 = always the median)."""

    median_h: Annotated[float, Field(ge=0, le=_MAX_H)]
    beta: Annotated[float, Field(ge=0, le=3)] = 0.5

    def sample(self, rng: np.random.Generator, n: int | None = None) -> np.ndarray | float:
        """Repair times (h) drawn from ``rng`` (one standard normal each)."""
        z = rng.standard_normal(n)
        return self.median_h * np.exp(self.beta * z)


class StateSpec(_Strict):
    """One damage state of an asset kind: overpressure threshold, function lost, repair time."""

    kpa: Annotated[float, Field(gt=0, le=_MAX_KPA)]
    function_lost: Annotated[float, Field(ge=0, le=1)] = 1.0
    repair: RepairTime
    needs_spare: bool = False


class StateCurve(_Strict):
    """A tabulated probability of reaching a state against distance (m), interpolated linearly and held
    constant beyond the ends; probabilities must not increase with distance."""

    distance_m: list[Annotated[float, Field(ge=0)]] = Field(min_length=1)
    probability: list[Annotated[float, Field(ge=0, le=1)]] = Field(min_length=1)

    @field_validator("probability")
    @classmethod
    def _shape(cls, p: list[float], info) -> list[float]:
        d = info.data.get("distance_m")
        if d is None:
            return p
        if len(d) != len(p):
            raise ValueError(f"'distance_m' has {len(d)} values and 'probability' {len(p)}; they must match")
        if any(b <= a for a, b in zip(d, d[1:])):
            raise ValueError(f"'distance_m' must increase, got {d}")
        if any(b > a for a, b in zip(p, p[1:])):
            raise ValueError(f"probabilities must not increase with distance, got {p}")
        return p

    def __call__(self, d_m: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(d_m, float), self.distance_m, self.probability)


class FacilityDamageSpec(_Strict):
    """Fragility of a facility kind: damaged above ``kpa`` (median, kPa), repaired in ``repair``."""

    kpa: Annotated[float, Field(gt=0, le=_MAX_KPA)]
    repair: RepairTime


class SiteSpec(_Strict):
    """Buses of one site (a substation's voltage levels): damaged together, with correlation."""

    id: str
    buses: list[str] = Field(min_length=1)


def _h(days_mean: float, days_sd: float) -> RepairTime:
    med, beta = lognormal_from_mean_sd(24.0 * days_mean, 24.0 * days_sd)
    return RepairTime(median_h=round(med, 1), beta=round(beta, 3))


_SUB_KPA = {"light": 5.2, "moderate": 13.8, "severe": 27.6, "destroyed": 68.9}
_LINE_KPA = {"light": 10.0, "moderate": 20.7, "severe": 34.5, "destroyed": 48.2}
_LINE = {s: StateSpec(kpa=_LINE_KPA[s], repair=r) for s, r in
         zip(_LINE_KPA, (_h(0.3, 0.2), _h(1, 0.5), _h(3, 1.5), _h(7, 3)))}
_GEN = {s: StateSpec(kpa=_SUB_KPA[s], repair=r) for s, r in
        zip(_SUB_KPA, (_h(0.5, 0.1), _h(3.6, 3.6), _h(22, 21), _h(65, 30)))}

#: Default damage states per asset kind (sources in the module docstring).
DEFAULT_STATES: dict[str, dict[str, StateSpec]] = {
    "bus": {"light": StateSpec(kpa=5.2, function_lost=0.05, repair=_h(1, 0.5)),
            "moderate": StateSpec(kpa=13.8, function_lost=0.4, repair=_h(3, 1.5)),
            "severe": StateSpec(kpa=27.6, function_lost=0.7, repair=_h(7, 3.5)),
            "destroyed": StateSpec(kpa=68.9, function_lost=1.0, repair=RepairTime(median_h=312.0, beta=0.472))},
    "trafo": {"light": StateSpec(kpa=5.2, repair=RepairTime(median_h=12.0, beta=0.5)),
              "moderate": StateSpec(kpa=13.8, repair=RepairTime(median_h=72.0, beta=0.5)),
              "severe": StateSpec(kpa=27.6, repair=RepairTime(median_h=504.0, beta=0.3), needs_spare=True),
              "destroyed": StateSpec(kpa=68.9, repair=RepairTime(median_h=504.0, beta=0.3), needs_spare=True)},
    "line": _LINE, "branch": _LINE, "impedance": _LINE, "load": _LINE,
    "gen": _GEN, "sgen": _GEN,
}

#: Default fragility of facilities by kind (thresholds: Clancey; repair times: assumptions).
DEFAULT_FACILITY_DAMAGE: dict[str, FacilityDamageSpec] = {
    "hospital": FacilityDamageSpec(kpa=20.7, repair=RepairTime(median_h=336.0, beta=0.6)),
    "water": FacilityDamageSpec(kpa=20.7, repair=RepairTime(median_h=168.0, beta=0.6)),
    "heating": FacilityDamageSpec(kpa=20.7, repair=RepairTime(median_h=336.0, beta=0.6)),
    "telecom": FacilityDamageSpec(kpa=13.8, repair=RepairTime(median_h=48.0, beta=0.6)),
    "shelter": FacilityDamageSpec(kpa=13.8, repair=RepairTime(median_h=72.0, beta=0.6)),
    "emergency": FacilityDamageSpec(kpa=20.7, repair=RepairTime(median_h=168.0, beta=0.6)),
}


class DamageModel(_Strict):
    """The scenario key ``damage:`` — damage states, sites, spares and facility fragility.

    Attributes
    ----------
    states
        Per asset kind, its damage states (names from :data:`DAMAGE_STATES`); a kind given here replaces all of
        that kind's default states. Thresholds (kPa) must rise with severity, so that the probability of a
        state falls with distance and a more severe state is always rarer.
    facilities
        Per facility kind, its fragility (``kpa``, ``repair``); replaces the kind's default.
    sites
        Explicit sites: ``{id, buses}``; buses of a site draw their damage with correlation ``correlation``.
    site_radius_m
        Buses within this distance (m) of each other (single linkage) also share a site. The default 1 m groups
        buses drawn at the same point (voltage levels of one substation); 0 groups none.
    correlation
        Correlation (0..1) of the standard-normal capacity draws of assets at one site (one common factor);
        0.8 is an assumption ("strongly correlated"), 1 makes all components at equal distance share a state.
    spares
        Spare stock per asset kind (e.g. ``{trafo: 2}``): the first ``n`` assets whose state needs a spare wait
        ``spare_wait_h``, later ones ``lead_time_h``. A kind not named has spares enough.
    spare_wait_h
        Hours to bring a spare from the reserve (168 h, a week: assumption).
    lead_time_h
        Hours to procure a new large transformer once spares run out (14,600 h: >= 20 months, US DOE 2012/2014).
    """

    states: dict[DamageKind, dict[DamageStateName, StateSpec]] = Field(default_factory=dict)
    facilities: dict[FacilityKind, FacilityDamageSpec] = Field(default_factory=dict)
    sites: list[SiteSpec] = Field(default_factory=list)
    site_radius_m: Annotated[float, Field(ge=0, le=_MAX_RADIUS_M)] = 1.0
    correlation: Annotated[float, Field(ge=0, le=1)] = 0.8
    spares: dict[DamageKind, Annotated[int, Field(ge=0, le=1_000_000)]] = Field(default_factory=dict)
    spare_wait_h: Annotated[float, Field(ge=0, le=_MAX_H)] = 168.0
    lead_time_h: Annotated[float, Field(ge=0, le=_MAX_H)] = 14_600.0

    @field_validator("states")
    @classmethod
    def _ordered(cls, v: dict[str, dict[str, StateSpec]]) -> dict[str, dict[str, StateSpec]]:
        for kind, states in v.items():
            if not states:
                raise ValueError(f"asset kind {kind!r} needs at least one damage state")
            names = sorted(states, key=state_index)
            kpa = [states[s].kpa for s in names]
            for a, b, pa, pb in zip(names, names[1:], kpa, kpa[1:]):
                if pb <= pa:
                    raise ValueError(f"{kind}.{b}.kpa = {pb} is not above {kind}.{a}.kpa = {pa}: the probability "
                                     f"of the more severe state {b!r} would not be lower at every distance")
        return v

    def states_for(self, kind: str) -> dict[str, StateSpec]:
        """Damage states of an asset kind, least severe first."""
        states = self.states.get(kind) or DEFAULT_STATES.get(kind) or DEFAULT_STATES["line"]
        return {s: states[s] for s in sorted(states, key=state_index)}

    def facility(self, kind: str) -> FacilityDamageSpec:
        """Fragility of a facility kind."""
        return self.facilities.get(kind) or DEFAULT_FACILITY_DAMAGE[kind]
