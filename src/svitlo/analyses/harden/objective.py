"""Objectives of a protection plan over a scenario set (values per scenario; smaller is better).

* ``expected``: the mean;
* ``cvar95``: conditional value at risk at 95 % — the mean of the worst 5 % tail, in the Rockafellar–Uryasev
  form ``min_η η + Σ_s (v_s − η)⁺ / (0.05 N)`` (R. T. Rockafellar, S. Uryasev, J. Risk 2(3), 2000), the form
  the exact MILP optimises;
* ``worst``: the maximum.

Examples
--------
>>> v = np.arange(1.0, 21.0)          # 20 scenarios: the worst 5 % is the single worst
>>> objective(v, "expected"), objective(v, "cvar95"), objective(v, "worst")
(10.5, 20.0, 20.0)
>>> objective(np.r_[np.zeros(30), 10.0, 20.0, 40.0], "cvar95")   # 5 % of 33 = 1.65 scenarios: (40 + 0.65 × 20) / 1.65
32.121212121212125
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["Objective", "objective", "ALPHA", "ci95"]

Objective = Literal["expected", "cvar95", "worst"]
#: Tail share of CVaR-95.
ALPHA = 0.05


def objective(v: np.ndarray, kind: str) -> float:
    """The objective ``kind`` of per-scenario values ``v``."""
    v = np.asarray(v, dtype=float)
    if not v.size:
        return 0.0
    if kind == "expected":
        return float(v.mean())
    if kind == "worst":
        return float(v.max())
    if kind == "cvar95":
        m = ALPHA * v.size
        j = int(np.ceil(m)) - 1  # the tail's boundary scenario is optimal for η
        eta = float(np.sort(v)[::-1][j])
        return float(eta + np.maximum(v - eta, 0.0).sum() / m)
    raise ValueError(kind)


def ci95(v: np.ndarray, kind: str, *, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95 % confidence interval of the objective: normal approximation of the mean for ``expected``,
    percentile bootstrap (``n_boot`` resamples, fixed seed) otherwise."""
    v = np.asarray(v, dtype=float)
    if kind == "expected":
        h = 1.959963984540054 * (v.std(ddof=1) / np.sqrt(v.size) if v.size > 1 else 0.0)
        return float(v.mean() - h), float(v.mean() + h)
    rng = np.random.default_rng(seed)
    bs = np.array([objective(v[rng.integers(0, v.size, v.size)], kind) for _ in range(n_boot)])
    return float(np.quantile(bs, 0.025)), float(np.quantile(bs, 0.975))
