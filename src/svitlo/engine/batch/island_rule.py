"""The ``balance`` dispatch rule of :mod:`svitlo.engine.dispatch` for one island, on summed asset features.

Generators and loads are summarised per bus (and per island) by a feature vector; the rule turns an island's
feature sum into coefficients such that the net injection of every bus of the island is ``coef · features``
(MW). The layout, for ``T`` priority tiers (sorted ascending, tier index ``t``):

====================  ==========================================================================
column                meaning (alive assets only)
====================  ==========================================================================
``FORMS``             number of island-forming generators
``NINF``              number of generators with unbounded capacity (``p_max_mw = inf``)
``CAPFIN``            summed finite capacity ``max(p_max_mw, 0)`` (MW)
``BASE``              summed scheduled output ``clip(p_mw, 0, cap)`` (MW)
``UPFIN``             summed finite headroom ``cap - base`` (MW)
``POS + t``           summed positive load of tier ``t`` (MW)
``POS + T + t``       summed population of positive loads of tier ``t`` (people)
``POS + 2T``          summed negative load (MW; sources modelled as loads)
====================  ==========================================================================

Examples
--------
>>> import numpy as np
>>> f = np.zeros(n_features(1)); f[FORMS] = 1; f[CAPFIN] = 30; f[BASE] = 10; f[UPFIN] = 20
>>> f[POS] = 40; f[POS + 1] = 400
>>> coef = np.zeros(f.size); frac = np.zeros(1); out = np.zeros(4)
>>> island_rule(f, 1, coef, frac, out)
0
>>> out.tolist(), frac.tolist()   # [energised, generation, served, people without power], shed share
([1.0, 30.0, 30.0, 100.0], [0.25])
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["BASE", "CAPFIN", "FORMS", "NINF", "POS", "UPFIN", "island_rule", "n_features"]

FORMS, NINF, CAPFIN, BASE, UPFIN, POS = 0, 1, 2, 3, 4, 5


def n_features(n_tiers: int) -> int:
    """Length of the feature vector for ``n_tiers`` tiers."""
    return POS + 2 * n_tiers + 1


@nb.njit(cache=True)
def island_rule(f, n_tiers, coef, frac, out):  # pragma: no cover - numba
    """Apply the balance rule to one island's feature sum ``f``.

    Fills ``coef`` (injection coefficients per feature), ``frac`` (shed fraction per tier) and ``out`` =
    ``[energised, generation_mw, served_mw, people_without_power]``. Returns 0, or 1 when the island needs
    the exact path (net-negative demand: sources exceed load).
    """
    neg_col = POS + 2 * n_tiers
    for m in range(coef.size):
        coef[m] = 0.0
    demand = f[neg_col]
    for t in range(n_tiers):
        demand += f[POS + t]
    if f[FORMS] < 0.5:  # de-energised: nothing served
        pwp = 0.0
        for t in range(n_tiers):
            frac[t] = 1.0 if f[POS + t] > 0.0 else 0.0
            pwp += f[POS + n_tiers + t] * frac[t]
        out[0] = 0.0
        out[1] = 0.0
        out[2] = 0.0
        out[3] = pwp
        return 0
    inf_cap = f[NINF] > 0.5
    cap = np.inf if inf_cap else f[CAPFIN]
    out[0] = 1.0
    if demand > cap:  # short: everything at capacity, shed least critical tiers first
        remaining = demand - cap
        served = f[neg_col]
        pwp = 0.0
        for t in range(n_tiers - 1, -1, -1):
            lt = f[POS + t]
            cut = min(lt, remaining)
            frac[t] = cut / lt if lt > 0.0 else 0.0
            remaining = remaining - cut
            served += lt * (1.0 - frac[t])
            pwp += f[POS + n_tiers + t] * frac[t]
            coef[POS + t] = -(1.0 - frac[t])
        coef[CAPFIN] = 1.0
        coef[neg_col] = -1.0
        out[1] = f[CAPFIN]
        out[2] = served
        out[3] = pwp
        return 0
    if demand < 0.0:
        return 1
    for t in range(n_tiers):
        frac[t] = 0.0
        coef[POS + t] = -1.0
    coef[neg_col] = -1.0
    d = demand - f[BASE]
    gen = f[BASE]
    coef[BASE] = 1.0
    if d >= 0.0:
        if inf_cap:
            coef[NINF] = d / f[NINF]
            gen += d
        elif f[UPFIN] > 0.0:
            coef[UPFIN] = d / f[UPFIN]
            gen += d
    elif f[BASE] > 0.0:
        coef[BASE] = 1.0 + d / f[BASE]
        gen += d
    out[1] = gen
    out[2] = demand
    out[3] = 0.0
    return 0
