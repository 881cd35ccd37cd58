"""Random durations (repair times, delivery delays): a lognormal given by its median and spread.

A duration ``T`` is lognormal, ``ln T ~ Normal(ln median_h, spread**2)``; ``spread = 0`` is the fixed duration
``median_h``. HAZUS-MH states its restoration functions as a mean and a standard deviation (days);
:meth:`Lognormal.from_mean_sd` converts them (``spread**2 = ln(1 + sd**2 / mean**2)``,
``median = mean / sqrt(1 + sd**2 / mean**2)``).

Draws are keyed, not sequential: the duration of asset ``a`` in a timeline with seed ``s`` uses the standard
normal number ``asset_normals(s, n)[index of a]``, so every simulator that follows the same seed (the hourly
:func:`svitlo.simulate` and the array kernel :mod:`svitlo.simulation.fast`) draws the same durations whatever
order the assets are struck in.

:data:`HAZUS_RESTORATION_H` holds the HAZUS-MH restoration figures of DESIGN §8 by damage state (mean ± σ in
days, converted to hours): indicative, earthquake-derived defaults a user overrides.

Examples
--------
>>> d = Lognormal(median_h=8.0, spread=0.0)
>>> d.at(1.5)
8.0
>>> d = Lognormal.from_mean_sd(mean_h=72.0, sd_h=36.0)
>>> round(d.median_h, 2), round(d.spread, 4)
(64.4, 0.4724)
>>> round(float(d.mean_h), 6)
72.0
>>> asset_normals(3, 4).shape
(4,)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Lognormal", "asset_normals", "event_normals", "HAZUS_RESTORATION_H"]

_REPAIR_STREAM = 0x7270  # "rp": repair durations
_EVENT_STREAM = 0x7266   # "rf": refuel delays


#: Longest sampled duration (h): far tails are cut here, so every draw stays a finite whole number of hours.
MAX_DRAW_H = 1e12


@dataclass(frozen=True)
class Lognormal:
    """A lognormal duration (h): ``median_h`` and ``spread`` (standard deviation of its logarithm)."""

    median_h: float
    spread: float = 0.0

    def __post_init__(self) -> None:
        if not (self.median_h >= 0 and math.isfinite(self.median_h)):
            raise ValueError(f"median_h must be finite and >= 0, got {self.median_h!r}")
        if not (self.spread >= 0 and math.isfinite(self.spread)):
            raise ValueError(f"spread must be finite and >= 0, got {self.spread!r}")

    @classmethod
    def from_mean_sd(cls, *, mean_h: float, sd_h: float) -> Lognormal:
        """The lognormal with this mean and standard deviation (h)."""
        if mean_h <= 0 or sd_h < 0:
            raise ValueError(f"need mean_h > 0 and sd_h >= 0, got {mean_h!r}, {sd_h!r}")
        v = math.log1p((sd_h / mean_h) ** 2)
        return cls(median_h=mean_h / math.exp(v / 2.0), spread=math.sqrt(v))

    @property
    def mean_h(self) -> float:
        """Mean duration (h)."""
        return self.median_h * math.exp(self.spread ** 2 / 2.0)

    def at(self, z: float | np.ndarray) -> float | np.ndarray:
        """The duration at standard normal value(s) ``z`` (h): ``median_h * exp(spread * z)``."""
        if self.spread == 0.0:
            return self.median_h if np.ndim(z) == 0 else np.full(np.shape(z), self.median_h)
        with np.errstate(over="ignore"):
            out = np.minimum(self.median_h * np.exp(self.spread * np.asarray(z, dtype=float)), MAX_DRAW_H)
        return float(out) if np.ndim(z) == 0 else out


def asset_normals(seed: int | None, n_assets: int) -> np.ndarray:
    """Standard normal numbers, one per asset index, for the repair durations of timeline ``seed``."""
    ss = np.random.SeedSequence(0 if seed is None else int(seed), spawn_key=(_REPAIR_STREAM,))
    return np.random.default_rng(ss).standard_normal(max(int(n_assets), 0))


def event_normals(seed: int | None, n_events: int) -> np.ndarray:
    """Standard normal numbers, one per scheduled event (refuel ``k``), for delays in timeline ``seed``."""
    ss = np.random.SeedSequence(0 if seed is None else int(seed), spawn_key=(_EVENT_STREAM,))
    return np.random.default_rng(ss).standard_normal(max(int(n_events), 0))


def _days(mean_d: float, sd_d: float) -> Lognormal:
    return Lognormal.from_mean_sd(mean_h=24.0 * mean_d, sd_h=24.0 * sd_d)


#: HAZUS-MH restoration times by component and damage state (DS1..DS4), mean ± σ in days (DESIGN §8).
HAZUS_RESTORATION_H: dict[str, tuple[Lognormal, ...]] = {
    "substation": (_days(1, 0.5), _days(3, 1.5), _days(7, 3.5), _days(30, 15)),
    "distribution": (_days(0.3, 0.2), _days(1, 0.5), _days(3, 1.5), _days(7, 3)),
    "generation": (_days(0.5, 0.1), _days(3.6, 3.6), _days(22, 21), _days(65, 30)),
}
