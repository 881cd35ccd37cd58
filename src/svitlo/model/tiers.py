"""Priority tiers and their shed weights (one rule for impact metrics, opf and the batched engine).

Tiers: 1 critical (shed last), 2 essential, 3 standard, 4 deferrable. The weight of a tier scales the shed of its
loads in the priority-weighted metrics and in the opf objective.

Examples
--------
>>> default_tier_weights()[1]
100.0
"""

from __future__ import annotations

import numpy as np

__all__ = ["default_tier_weights", "tier_weight_array"]


def default_tier_weights() -> dict[int, float]:
    """Priority weights per tier for weighted shed: critical 100, essential 10, standard 1, deferrable 0.1."""
    return {1: 100.0, 2: 10.0, 3: 1.0, 4: 0.1}


def tier_weight_array(tiers: np.ndarray, weights: dict[int, float] | None = None) -> np.ndarray:
    """Shed weight per load from its tier; tiers beyond the largest weighted one get 10x less per tier.

    >>> tier_weight_array(np.array([1, 3, 4, 6])).tolist()
    [100.0, 1.0, 0.1, 0.001]
    """
    if weights is None:
        weights = default_tier_weights()
    if not weights:
        return np.ones(tiers.size)
    top = max(weights)
    out = np.empty(tiers.size)
    for i, t in enumerate(np.asarray(tiers).tolist()):
        if t in weights:
            out[i] = float(weights[t])
        elif t > top:
            out[i] = float(weights[top]) / 10.0 ** (t - top)
        else:
            below = [k for k in weights if k < t]
            out[i] = float(weights[max(below)]) if below else float(weights[min(weights)])
    return out
