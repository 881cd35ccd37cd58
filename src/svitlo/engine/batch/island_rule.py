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
``BASE``              summed scheduled output ``clip(p_mw, lo, cap)`` (MW; ``lo`` = 0, or ``-export`` for an
                      external grid that may export, or ``p_min`` under the viability rules)
``UPFIN``             summed finite headroom ``cap - base`` (MW)
``BASEE``             ``BASE`` of the external grids only (:func:`svitlo.engine.dispatch.external_units`; MW)
``LOE``               summed lower bound ``lo`` of the external grids (MW; negative when they may export)
``POS + t``           summed positive load of tier ``t`` (MW)
``POS + T + t``       summed population of positive loads of tier ``t`` (people)
``POS + 2T``          summed negative load (MW; sources modelled as loads)
====================  ==========================================================================

A surplus (``demand < BASE``) goes first into the external grids, down to ``LOE``; the other units move down by
what is left, as in :func:`svitlo.engine.dispatch.balance_dispatch`. A shortfall is shared by every unit's
headroom.

Examples
--------
>>> import numpy as np
>>> f = np.zeros(n_features(1)); f[FORMS] = 1; f[CAPFIN] = 30; f[BASE] = 10; f[UPFIN] = 20
>>> f[POS] = 40; f[POS + 1] = 400
>>> coef = np.zeros(f.size); frac = np.zeros(1); out = np.zeros(4)
>>> island_rule(f, 1, coef, frac, out, -1)
0
>>> out.tolist(), frac.tolist()   # [energised, generation, served, people without power], shed share
([1.0, 30.0, 30.0, 100.0], [0.25])
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["BASE", "BASEE", "CAPFIN", "FORMS", "LOE", "NINF", "POS", "UPFIN", "island_rule", "n_features"]

FORMS, NINF, CAPFIN, BASE, UPFIN, BASEE, LOE, POS = range(8)


def n_features(n_tiers: int) -> int:
    """Length of the feature vector for ``n_tiers`` tiers."""
    return POS + 2 * n_tiers + 1


@nb.njit(cache=True)
def island_rule(f, n_tiers, coef, frac, out, pmin_col):  # pragma: no cover - numba
    """Apply the balance rule to one island's feature sum ``f``.

    Fills ``coef`` (injection coefficients per feature), ``frac`` (shed fraction per tier) and ``out`` =
    ``[energised, generation_mw, served_mw, people_without_power]``. ``pmin_col`` is the column of the summed
    minimum output of the non-external units (-1: none, they move down to 0). Returns 0, or 1 when the island
    needs the exact path (net demand below what the external grids can absorb, or a residual too close to a
    limit to split by differences of sums).
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
    if demand < 0.0 and demand < f[LOE]:
        return 1
    for t in range(n_tiers):
        frac[t] = 0.0
        coef[POS + t] = -1.0
    coef[neg_col] = -1.0
    d = demand - f[BASE]
    coef[BASE] = 1.0
    tol = 1e-9 * (abs(f[BASE]) + abs(demand) + 1.0)
    if d >= 0.0:  # shortfall: every unit by its headroom (an unbounded unit takes it all)
        if inf_cap:
            coef[NINF] = d / f[NINF]
        elif f[UPFIN] > 0.0:
            coef[UPFIN] = d / f[UPFIN]
        else:
            d = 0.0
        out[1] = f[BASE] + d
        out[2] = demand
        out[3] = 0.0
        return 0
    # surplus: the external grids first, down to LOE
    r = 0.0
    room_e = f[BASEE] - f[LOE]
    if room_e > 0.0:
        r = max(d, -room_e)
        coef[BASEE] = r / room_e
        coef[LOE] = -r / room_e
    d = d - r
    # the other units by what is left (differences of sums: exact without external grids)
    moved = 0.0
    if d < 0.0:
        room = f[BASE] - f[BASEE] - (f[pmin_col] if pmin_col >= 0 else 0.0)
        if room > 0.0 and (room > tol or f[BASEE] == 0.0):
            coef[BASE] += d / room
            coef[BASEE] -= d / room
            if pmin_col >= 0:
                coef[pmin_col] -= d / room
            moved = d
        elif d < -tol:
            return 1
    out[1] = f[BASE] + r + moved
    out[2] = demand
    out[3] = 0.0
    return 0
