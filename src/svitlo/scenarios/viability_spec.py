"""Scenario keys for island viability (``viability:``) and under-frequency load shedding (``ufls:``)::

    viability:
      enabled: true                  # default false: every island with a grid-forming unit is lit
      min_grid_forming_share: 0.2    # grid-forming capacity per MW of island supply
      min_inertia_s: 1.0             # kinetic energy (MW s) per MW of island load
      decommit: largest_first        # or merit_order (most expensive first)
      frequency: true                # SFR nadir at separation, UFLS, collapse
      sfr: {droop_pu: 0.05, reheat_s: 8, hp_fraction: 0.3, gain: 0.95, damping_pu: 1, f_nominal_hz: 50}
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

__all__ = ["Viability", "Ufls", "UflsStage", "Sfr", "UnitOverride"]


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


class Viability(_Strict):
    """Island viability rules (:mod:`svitlo.engine.viability`)."""

    enabled: bool = False
    min_grid_forming_share: Annotated[float, Field(ge=0, le=1)] = 0.2
    min_inertia_s: Annotated[float, Field(ge=0, le=100)] = 1.0
    decommit: Literal["largest_first", "merit_order"] = "largest_first"
    frequency: bool = True
    sfr: Sfr = Field(default_factory=Sfr)
    units: dict[str, UnitOverride] = Field(default_factory=dict)


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
