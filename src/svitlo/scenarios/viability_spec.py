"""Scenario keys for island viability (``viability:``) and under-frequency load shedding (``ufls:``)::

    viability:
      enabled: true                  # default false: every island with a grid-forming unit is lit
      min_grid_forming_share: 0.2    # grid-forming capacity per MW of island supply
      min_inertia_s: 1.0             # kinetic energy (MW s) per MW of island load
      decommit: largest_first        # or merit_order (most expensive first)
      frequency: true                # SFR nadir at separation, UFLS, collapse
      sfr: {droop_pu: 0.05, reheat_s: 8, hp_fraction: 0.3, gain: 0.95, damping_pu: 1, f_nominal_hz: 50}
      over_frequency:                # a surplus at separation: LFSM-O, then over-frequency protection
        enabled: true
        lfsm_o_hz: 50.2              # LFSM-O threshold (NC RfG 2016/631 Art. 13(2): 50.2-50.5 Hz)
        lfsm_o_droop_percent: 5      # NC RfG: 2-12 %
        trip_hz: 51.5                # generators' over-frequency protection
      cold_load_pickup:              # timeline: load back after an outage draws more for a few hours
        factor: 1.5                  # demand multiplier at pickup (1 = off; 1.5-3 is typical)
        decay_h: 2                   # back to normal demand linearly over this many hours
        min_outage_h: 1              # loads out at least this long pick up cold
      units:                         # per-unit overrides of the grid's generator table
        gen:3: {inertia_h_s: 6.5, grid_forming: true, black_start: true, p_min_mw: 20}
    ufls:                            # default: Regulation (EU) 2017/2196 Annex, Continental Europe
      stages: [{hz: 49.0, percent: 7.5}, {hz: 48.8, percent: 7.5}, ...]
      delay_s: 0.1
      exempt_tiers: [1]              # feeders of these tiers are never shed by UFLS
      collapse_hz: 47.5

Examples
--------
>>> v = Viability.model_validate({"enabled": True, "units": {"gen:1": {"inertia_h_s": 5}}})
>>> v.min_grid_forming_share, v.units["gen:1"].inertia_h_s
(0.2, 5.0)
>>> v.over_frequency.lfsm_o_droop_percent, v.cold_load_pickup.factor
(5.0, 1.5)
>>> Ufls.model_validate({}).stages is None      # None: the default schedule (engine.frequency.UflsSchedule.nc_er)
True
>>> Ufls.model_validate({"stages": [{"hz": 48.0, "percent": 10}, {"hz": 49.0, "percent": 10}]})
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for Ufls
...
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Viability", "Ufls", "UflsStage", "Sfr", "UnitOverride", "OverFrequencySpec", "ColdLoadPickupSpec"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # every float finite


class Sfr(_Strict):
    """Aggregate SFR parameters (:class:`svitlo.engine.frequency.SfrParams`), per unit on the island base."""

    droop_pu: Annotated[float, Field(gt=0, le=1)] = 0.05
    reheat_s: Annotated[float, Field(gt=0, le=100)] = 8.0
    hp_fraction: Annotated[float, Field(ge=0, le=1)] = 0.3
    gain: Annotated[float, Field(gt=0, le=1)] = 0.95
    damping_pu: Annotated[float, Field(ge=0, le=10)] = 1.0
    f_nominal_hz: Literal[50.0, 60.0] = 50.0


class UnitOverride(_Strict):
    """Per-unit values replacing the grid's generator table (``grid_forming`` sets ``forms_island``)."""

    inertia_h_s: Annotated[float, Field(ge=0, le=1000)] | None = None
    grid_forming: bool | None = None
    black_start: bool | None = None
    p_min_mw: Annotated[float, Field(ge=-1e6, le=1e6)] | None = None


class OverFrequencySpec(_Strict):
    """Over-frequency at separation (:class:`svitlo.engine.frequency.OverFrequency`).

    Defaults: LFSM-O from 50.2 Hz with a 5 % droop (Regulation (EU) 2016/631 (NC RfG) Art. 13(2): threshold
    50.2–50.5 Hz, droop 2–12 %), generators' over-frequency protection at 51.5 Hz (NC RfG Table 2, Continental
    Europe: units ride through 51.0–51.5 Hz for 30 min). On a 60 Hz grid the defaults scale with the nominal
    frequency (60.24 Hz, 61.8 Hz).
    """

    enabled: bool = True
    lfsm_o_hz: Annotated[float, Field(gt=40, lt=70)] | None = None
    lfsm_o_droop_percent: Annotated[float, Field(ge=2, le=12)] = 5.0
    trip_hz: Annotated[float, Field(gt=40, lt=70)] | None = None


class ColdLoadPickupSpec(_Strict):
    """Cold-load pickup in the timeline (:mod:`svitlo.simulation.pickup`).

    Load restored after an outage of at least ``min_outage_h`` hours draws ``factor`` times its normal demand
    in its first hour back, falling linearly to normal over ``decay_h`` hours (loss of load diversity:
    thermostatic heating and cooling, refrigeration, pumps all start together). Default 1.5× over 2 h, the low
    end of the 1.5–3× for one to a few hours reported for feeders after outages of hours (IEEE PSRC working
    group, "Cold load pickup issues", 2008; McDonald, Bruning & Mahieu, IEEE Trans. PAS 98(4), 1979).
    ``factor: 1`` turns it off.
    """

    factor: Annotated[float, Field(ge=1, le=5)] = 1.5
    decay_h: Annotated[float, Field(gt=0, le=48)] = 2.0
    min_outage_h: Annotated[int, Field(ge=0, le=8760)] = 1


class Viability(_Strict):
    """Island viability rules (:mod:`svitlo.engine.viability`)."""

    enabled: bool = False
    min_grid_forming_share: Annotated[float, Field(ge=0, le=1)] = 0.2
    min_inertia_s: Annotated[float, Field(ge=0, le=100)] = 1.0
    decommit: Literal["largest_first", "merit_order"] = "largest_first"
    frequency: bool = True
    sfr: Sfr = Field(default_factory=Sfr)
    over_frequency: OverFrequencySpec = Field(default_factory=OverFrequencySpec)
    cold_load_pickup: ColdLoadPickupSpec = Field(default_factory=ColdLoadPickupSpec)
    units: dict[str, UnitOverride] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _over(self) -> Viability:
        o, fn = self.over_frequency, self.sfr.f_nominal_hz
        lo = fn * 1.004 if o.lfsm_o_hz is None else o.lfsm_o_hz
        trip = fn * 1.03 if o.trip_hz is None else o.trip_hz
        if not fn < lo < trip:
            raise ValueError(f"viability.over_frequency: need f_nominal_hz ({fn}) < lfsm_o_hz ({lo}) < trip_hz "
                             f"({trip})")
        return self


class UflsStage(_Strict):
    """One UFLS stage: threshold (Hz) and share of the island's non-exempt load it disconnects (%)."""

    hz: Annotated[float, Field(gt=40, lt=70)]
    percent: Annotated[float, Field(gt=0, le=100)]


class Ufls(_Strict):
    """Under-frequency load-shedding schedule; default Regulation (EU) 2017/2196 Annex (NC ER)."""

    stages: list[UflsStage] | None = None
    delay_s: Annotated[float, Field(ge=0, le=10)] = 0.1
    exempt_tiers: list[Annotated[int, Field(ge=1, le=99)]] = Field(default_factory=list)
    collapse_hz: Annotated[float, Field(gt=40, lt=70)] = 47.5
    enabled: bool = True

    @model_validator(mode="after")
    def _order(self) -> Ufls:
        if self.stages:
            hz = [s.hz for s in self.stages]
            if any(b >= a for a, b in zip(hz, hz[1:])):
                raise ValueError(f"ufls.stages: thresholds must be strictly descending (got {hz})")
            total = sum(s.percent for s in self.stages)
            if total > 100:
                raise ValueError(f"ufls.stages: percents sum to {total} > 100")
            if hz[-1] <= self.collapse_hz:
                raise ValueError(f"ufls.stages: last threshold {hz[-1]} Hz must lie above collapse_hz "
                                 f"{self.collapse_hz} Hz")
        return self
