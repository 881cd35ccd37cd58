"""Scenario key ``dispatch:``: the shedding policy and generator limits, the same in ``assess``, ``simulate`` and
``sweep`` (and in both modes)::

    dispatch:
      tier_weights: {1: 100, 2: 10, 3: 1, 4: 0.1}   # shed weight per tier (weighted_shed_mw; opf when not strict)
      strict_priority: true      # default: tiers lexicographically, most critical first, in both modes
      p_min: ignore              # or honour: opf keeps the case's minimum outputs (p_min_mw)
      on_infeasible: raise       # or flag: an infeasible opf island relaxes ratings and minimums, flagged

``strict_priority: true`` (default): no amount of less critical shed buys a megawatt of more critical load. The
``balance`` rule always works this way (it sheds the least critical tier first); ``opf`` solves one LP per tier
(:mod:`svitlo.engine.opf`). ``false`` applies to ``opf`` only: one LP on the priority-weighted shed, which trades
tiers at the ratio of their weights (with the default weights, 1 MW of tier 1 for 100 MW of tier 3).

``tier_weights`` replaces the defaults (:func:`svitlo.model.tiers.default_tier_weights`); a tier beyond the
largest given one gets a tenth of the weight of the tier before it. Weights must be positive, finite and
strictly decreasing with the tier number (tier 1 is the most critical).

``p_min: ignore`` (default): in an emergency a unit may run down to 0 MW. ``honour``: ``opf`` holds every unit
online at or above its ``p_min_mw``, which can leave an island infeasible (a unit whose minimum exceeds what
its island can take): ``on_infeasible: flag`` then relaxes the minimums (and ratings) instead of failing, and
lists them in ``info["opf"]["relaxed_units"]``. The ``balance`` rule honours minimums through the island
viability rules (``viability: {enabled: true}`` decommits units), whatever this key says.

Examples
--------
>>> d = DispatchSpec.model_validate({"tier_weights": {1: 1000, 2: 10}, "p_min": "honour"})
>>> d.strict_priority, dispatch_options(d, "opf")["p_min"]
(True, 'case')
>>> dispatch_options(DispatchSpec(), "balance") is None
True
>>> DispatchSpec.model_validate({"tier_weights": {1: 1, 2: 10}})
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for DispatchSpec
...
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from svitlo.model.schema import MAX_TIER
from svitlo.model.tiers import default_tier_weights

__all__ = ["DispatchSpec", "dispatch_options", "tier_weights"]


class DispatchSpec(BaseModel):
    """The ``dispatch:`` block of a scenario (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    tier_weights: dict[Annotated[int, Field(ge=1, le=MAX_TIER)],
                       Annotated[float, Field(gt=0, le=1e12, allow_inf_nan=False)]] | None = None
    strict_priority: bool = True
    p_min: Literal["ignore", "honour"] = "ignore"
    on_infeasible: Literal["raise", "flag"] = "raise"

    @field_validator("tier_weights")
    @classmethod
    def _decreasing(cls, v: dict[int, float] | None) -> dict[int, float] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("give at least one tier weight, or leave tier_weights out for the defaults")
        tiers = sorted(v)
        for a, b in zip(tiers, tiers[1:]):
            if not v[b] < v[a]:
                raise ValueError(f"tier weights must decrease with the tier number (tier 1 is the most critical): "
                                 f"tier {b} weighs {v[b]:g}, tier {a} {v[a]:g}")
        return dict(v)


def tier_weights(spec: DispatchSpec | None) -> dict[int, float]:
    """The shed weight per tier the scenario asks for (the defaults when it does not)."""
    if spec is None or spec.tier_weights is None:
        return default_tier_weights()
    return dict(spec.tier_weights)


def dispatch_options(spec: DispatchSpec | None, mode: str) -> dict[str, Any] | None:
    """Keyword options of :func:`svitlo.engine.opf.opf_dispatch` for ``mode`` (None for ``balance``, whose rule
    is strict by construction and takes no options)."""
    if mode != "opf":
        return None
    spec = spec or DispatchSpec()
    return {"tier_weights": tier_weights(spec), "strict_priority": spec.strict_priority,
            "p_min": "case" if spec.p_min == "honour" else "zero", "on_infeasible": spec.on_infeasible}
