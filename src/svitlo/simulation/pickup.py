"""Cold-load pickup: load restored after an outage draws more than its normal demand for a few hours.

After an outage of hours, feeders lose their load diversity: thermostatic heating and cooling, refrigeration and
pumps all start at once when the power comes back. The restored load draws ``factor`` times its normal demand
in its first hour back, falling linearly to normal over ``decay_h`` hours::

    m(a) = 1 + (factor − 1) · max(0, 1 − a / decay_h)        a = hours since pickup (0 in the pickup hour)

Typical factors are 1.5–3× for one to a few hours after outages of hours (IEEE PSRC working group, "Cold load
pickup issues", 2008; McDonald, Bruning & Mahieu, IEEE Trans. PAS 98(4), 1979); the default is the low end,
1.5× over 2 h, for loads out at least ``min_outage_h`` = 1 h.

The timeline solves each hour with the loads' demand times their multiplier, so an island short of capacity
rations the pickup by priority tier (the ``balance`` rule) and takes the rest back in the following hours as the
multipliers fall. An island the viability rules would darken under the pickup (too little grid-forming capacity
or inertia for the surge) picks its cold loads up in blocks instead, tier 1 first, as far as its units can hold
(:func:`svitlo.simulation.viability.ration_pickup`). A load served in part counts as picked up (its multiplier
starts falling): an approximation, since its feeders still off would pick up cold later.

Everything here is a pure function on per-load arrays, for the hourly simulation and any kernel that carries it.

Examples
--------
>>> import numpy as np
>>> cfg = ColdLoadPickup(factor=2.0, decay_h=2.0)
>>> pickup_multiplier(np.array([-1, 0, 1, 2, 3]), cfg=cfg).tolist()
[1.0, 2.0, 1.5, 1.0, 1.0]
>>> s = PickupState.start(3)                               # three loads, all served before
>>> s = advance(s, served=np.array([True, False, True]), cfg=cfg)   # load 1 out for an hour
>>> demand_factor(s, cfg=cfg).tolist()                     # if it comes back now, it comes back cold
[1.0, 2.0, 1.0]
>>> s = advance(s, served=np.array([True, True, True]), cfg=cfg)    # picked up: next hour 1.5x, then normal
>>> demand_factor(s, cfg=cfg).tolist(), demand_factor(advance(s, served=np.ones(3, bool), cfg=cfg), cfg=cfg).tolist()
([1.0, 1.5, 1.0], [1.0, 1.0, 1.0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["ColdLoadPickup", "PickupState", "pickup_multiplier", "demand_factor", "advance", "from_scenario"]


@dataclass(frozen=True)
class ColdLoadPickup:
    """Cold-load pickup settings (the scenario's ``viability.cold_load_pickup``).

    Attributes
    ----------
    factor
        Demand multiplier in the pickup hour (≥ 1; 1 turns pickup off).
    decay_h
        Hours over which the multiplier falls linearly back to 1 (h).
    min_outage_h
        Hours a load must have been off to pick up cold (h, ≥ 1 in the hourly timeline).
    """

    factor: float = 1.5
    decay_h: float = 2.0
    min_outage_h: int = 1

    @property
    def active(self) -> bool:
        return self.factor > 1.0


@dataclass(frozen=True)
class PickupState:
    """Per load: consecutive hours without service, and hours since pickup at the next hour (−1: not picking up).

    Attributes
    ----------
    out_h
        Hours the load has gone unserved, up to the last solved hour (0: served).
    age_h
        Hours since pickup the load will have if served in the next hour (−1: not in pickup).
    """

    out_h: np.ndarray
    age_h: np.ndarray

    @classmethod
    def start(cls, n_load: int) -> PickupState:
        """Every load served before the run."""
        return cls(out_h=np.zeros(n_load, np.int64), age_h=np.full(n_load, -1, np.int64))


def pickup_multiplier(age_h: np.ndarray, *, cfg: ColdLoadPickup) -> np.ndarray:
    """Demand multiplier ``m(a)`` per load for ``a`` hours since pickup (1 where ``a < 0``)."""
    a = np.asarray(age_h, dtype=float)
    m = 1.0 + (cfg.factor - 1.0) * np.clip(1.0 - a / cfg.decay_h, 0.0, 1.0)
    return np.where(a >= 0, m, 1.0)


def demand_factor(state: PickupState, *, cfg: ColdLoadPickup) -> np.ndarray:
    """Multiplier of each load's demand in the next hour: ``factor`` for a cold load (off at least
    ``min_outage_h``; it picks up cold if energised), ``m(age)`` for one picking up, else 1."""
    cold = state.out_h >= max(int(cfg.min_outage_h), 1)
    return np.where(cold, cfg.factor, pickup_multiplier(state.age_h, cfg=cfg))


def advance(state: PickupState, *, served: np.ndarray, cfg: ColdLoadPickup) -> PickupState:
    """The state after an hour in which ``served`` loads got power (any share of their demand)."""
    served = np.asarray(served, dtype=bool)
    cold = state.out_h >= max(int(cfg.min_outage_h), 1)
    age = np.where(served & cold, 1, np.where(served & (state.age_h >= 0), state.age_h + 1, -1))
    age = np.where(age >= cfg.decay_h, -1, age)
    return PickupState(out_h=np.where(served, 0, state.out_h + 1), age_h=age.astype(np.int64))


def from_scenario(scenario) -> ColdLoadPickup | None:
    """Settings of a scenario's ``viability.cold_load_pickup`` (None when viability is off or ``factor`` is 1)."""
    v = getattr(scenario, "viability", None)
    if v is None or not v.enabled:
        return None
    c = v.cold_load_pickup
    cfg = ColdLoadPickup(factor=float(c.factor), decay_h=float(c.decay_h), min_outage_h=int(c.min_outage_h))
    return cfg if cfg.active else None
