"""The island viability rules of :mod:`svitlo.engine.viability` in the batched kernel, on feature sums.

With viability on, the feature vector of :mod:`~svitlo.engine.batch.island_rule` gains ``N_VCOLS`` columns after
its last one (``V0 = POS + 2T + 1``), kept finite so sums can be differenced (unbounded values are counted):

==============  =============================================================================
``V0 + PMIN``   summed minimum output ``clip(p_min, 0, p_max)`` of the non-external units (MW)
``V0 + GFCAP``  summed finite capacity of grid-forming units (MW)
``V0 + NGFINF`` number of grid-forming units with unbounded capacity
``V0 + KE``     summed finite kinetic energy ``H p_max`` (MW·s)
``V0 + NKEINF`` number of units with unbounded kinetic energy
``V0 + SB``     summed finite ``p_max`` of units with inertia (MW; the SFR base)
``V0 + P0``     summed pre-strike injection (MW; loads count ``-served``)
``V0 + NGEN``   number of units
``V0 + IBRP0``  summed pre-strike output of inverter-based units (no inertia, finite ``p_max``; MW)
==============  =============================================================================

and ``BASE``/``UPFIN`` hold the schedule clipped to ``[p_min, p_max]``. :func:`island_rule_v` computes what the
per-state rules would do. An island with a single unit that fails a rule clearly (adequacy, collapse without
UFLS, load below its minimum — a generator bus cut off alone is the commonest case) goes dark here, and so does
any island whose peak frequency after a surplus clearly exceeds the over-frequency protection (no unit choice:
every unit trips):
``out[4]`` counts the unit if decommitted, ``out[5]`` the island if it had load (``islands_collapsed``),
``out[6]`` the load UFLS shed (MW). When any other rule acts (a choice among units to decommit, an adequacy
failure with several units) — or the island lies within a hair of a threshold — it returns a non-zero code and
the scenario is solved on the exact path. Otherwise the plain rule applies with generators moving down by their
room above ``p_min``.

``vp`` (float array, :func:`svitlo.engine.batch.viability_params`): ``[enabled, min_share, min_inertia_s,
frequency, r, d, km, fh, tr, f_nominal, first_stage_hz, collapse_hz, over_frequency, lfsm_delta_pu,
lfsm_droop, trip_pu, n_stages, delay_s, hz..., fraction..., exempt per tier...]`` (``lfsm_delta_pu``,
``trip_pu``: thresholds as rises over nominal, p.u.; then the UFLS schedule and, per tier index, 1 where UFLS
exempts it). An island whose nadir crosses the first UFLS stage is simulated with the schedule acting (the same
code as :func:`~svitlo.engine.frequency.ufls_response`): if it collapses anyway it goes dark here. If it
survives, the island settles here as in :func:`~svitlo.engine.viability.island_viability`: every non-exempt
load loses the schedule's shed share ``u`` (feeders by stage, not by priority), the commitment check sees the
demand left, and the plain rule re-dispatches by priority what remains (:func:`_after_ufls`); the coefficients,
shed shares and people are then stated on the island's features before UFLS (a load's shed share is
``1 - (1 - u)(1 - φ)``). A stage count that a perturbation of ``1e-8`` of the deficit or of the sheddable load
would change (the per-state path sums the same MW in another order), or a nadir within 1e-6 Hz of the first
stage or of collapse, goes to the exact path.

Examples
--------
>>> import numpy as np
>>> from svitlo.engine.batch.island_rule import BASE, CAPFIN, FORMS, POS, UPFIN, n_features
>>> f = np.zeros(n_features(1) + N_VCOLS); v0 = n_features(1)
>>> f[FORMS] = 1; f[CAPFIN] = 100; f[BASE] = 60; f[UPFIN] = 40; f[POS] = 50
>>> f[v0 + PMIN] = 20; f[v0 + GFCAP] = 100; f[v0 + KE] = 400; f[v0 + SB] = 100; f[v0 + P0] = 10
>>> vp = np.array([1, 0.2, 1.0, 1, 0.05, 1, 0.95, 0.3, 8, 50, 49.0, 47.5, 1, 0.004, 0.05, 0.03, 0, 0.1, 0])
>>> f[v0 + NGEN] = 2
>>> coef = np.zeros(f.size); frac = np.zeros(1); out = np.zeros(7)
>>> island_rule_v(f, 1, vp, coef, frac, out), float(out[1])   # 10 MW surplus: units move down within p_min
(0, 50.0)
>>> round(float(60 * coef[BASE] + 20 * coef[v0 + PMIN]), 9)
50.0
>>> f[v0 + PMIN] = 55                                      # minimums above the 50 MW load: exact path
>>> island_rule_v(f, 1, vp, coef, frac, out)
10
>>> from svitlo.engine.batch import viability_params
>>> from svitlo.engine.viability import ViabilityOptions
>>> vp = viability_params(ViabilityOptions(enabled=True), np.array([1]))  # NC ER schedule
>>> f[v0 + PMIN] = 20; f[v0 + P0] = -30                  # 30 MW imported and lost at separation
>>> island_rule_v(f, 1, vp, coef, frac, out), round(float(out[6]), 6), round(float(out[2]), 6)
(0, 7.5, 42.5)
>>> round(float(frac[0]), 6)                              # the load's shed share, UFLS included
0.15
"""

from __future__ import annotations

import numba as nb
import numpy as np

from svitlo.engine.batch.island_rule import CAPFIN, FORMS, NINF, POS, island_rule
from svitlo.engine.frequency import _nadir_scalar, _overfreq_scalar, _ufls_scalar

__all__ = ["N_VCOLS", "PMIN", "GFCAP", "NGFINF", "KE", "NKEINF", "SB", "P0", "NGEN", "IBRP0", "PMINE",
           "island_rule_v"]

PMIN, GFCAP, NGFINF, KE, NKEINF, SB, P0, NGEN, IBRP0, PMINE = range(10)
N_VCOLS = 10

_nadir = nb.njit(cache=True)(_nadir_scalar)
_overfreq = nb.njit(cache=True)(_overfreq_scalar)
_ufls = nb.njit(cache=True)(_ufls_scalar)


@nb.njit(cache=True)
def _dark(f, n_tiers, coef, frac, out, decommitted, with_load):  # pragma: no cover - numba
    f0 = f[FORMS]
    f[FORMS] = 0.0
    island_rule(f, n_tiers, coef, frac, out, -1)
    f[FORMS] = f0
    out[4] = decommitted
    out[5] = 1.0 if with_load else 0.0
    return 0


@nb.njit(cache=True)
def _after_ufls(f, n_tiers, vp, coef, frac, out, pmin_col, keep):  # pragma: no cover - numba
    """The plain rule on what UFLS left (each non-exempt tier's load times ``keep``), then coefficients, shed
    shares and people on the island's features before UFLS: a load's shed share is ``1 - keep (1 - φ)``, with
    ``φ`` the operator's priority shed of what remained (as the per-state path computes it from its loads)."""
    ns = int(vp[16])
    u0 = 18 + 2 * ns
    saved = np.empty(max(n_tiers, 1))
    for t in range(n_tiers):
        saved[t] = f[POS + t]
        if vp[u0 + t] < 0.5:
            f[POS + t] = saved[t] * keep
    rc = island_rule(f, n_tiers, coef, frac, out, pmin_col)
    for t in range(n_tiers):
        f[POS + t] = saved[t]
    pwp = 0.0
    for t in range(n_tiers):
        k = keep if vp[u0 + t] < 0.5 else 1.0
        if f[POS + t] > 0.0:
            frac[t] = 1.0 - k * (1.0 - frac[t])
        coef[POS + t] *= k
        pwp += f[POS + n_tiers + t] * frac[t]
    out[3] = pwp
    return rc


@nb.njit(cache=True)
def island_rule_v(f, n_tiers, vp, coef, frac, out):  # pragma: no cover - numba
    """:func:`~svitlo.engine.batch.island_rule.island_rule` under the viability rules (see the module
    docstring). Returns 0, or a code > 0 that sends the scenario to the exact path."""
    out[4] = 0.0
    out[5] = 0.0
    out[6] = 0.0
    if vp[0] < 0.5 or f[FORMS] < 0.5:
        return island_rule(f, n_tiers, coef, frac, out, -1)
    v0 = POS + 2 * n_tiers + 1
    tol = 1e-9
    pos = 0.0
    for t in range(n_tiers):
        pos += f[POS + t]
    demand = pos + f[POS + 2 * n_tiers]
    one = f[v0 + NGEN] < 1.5  # a single unit: a failed rule darkens the island here, without unit choices
    cap = np.inf if f[NINF] > 0.5 else f[CAPFIN]
    supply = min(pos, cap)
    if f[v0 + NGFINF] < 0.5 and supply > 0.0 and f[v0 + GFCAP] < vp[1] * supply * (1 + tol) + tol:
        if one and f[v0 + GFCAP] < vp[1] * supply * (1 - tol) - tol:
            return _dark(f, n_tiers, coef, frac, out, 0.0, demand > tol)
        return 7
    ke_inf = f[v0 + NKEINF] > 0.5
    if not ke_inf and pos > 0.0 and f[v0 + KE] < vp[2] * pos * (1 + tol) + tol:
        if one and f[v0 + KE] < vp[2] * pos * (1 - tol) - tol:
            return _dark(f, n_tiers, coef, frac, out, 0.0, demand > tol)
        return 8
    deficit = -f[v0 + P0]
    keep = 1.0  # share of each non-exempt load left after UFLS
    dem0 = demand
    if vp[3] > 0.5 and deficit > 0.0 and not ke_inf and f[NINF] < 0.5 and f[v0 + SB] > 0.0:
        sb = f[v0 + SB]
        drop, _t = _nadir(deficit / sb, f[v0 + KE] / sb, vp[4], vp[5] * pos / sb, vp[6], vp[7], vp[8])
        nadir = vp[9] * (1.0 - drop)
        if nadir < vp[10] + 1e-6:
            if vp[10] <= vp[11]:  # no UFLS
                if nadir < vp[11] - 1e-6:  # collapse: every unit trips, no choice to make
                    return _dark(f, n_tiers, coef, frac, out, 0.0, demand > tol)
                return 9
            ns = int(vp[16])
            u0 = 18 + 2 * ns
            shed = 0.0
            for t in range(n_tiers):
                if vp[u0 + t] < 0.5:
                    shed += f[POS + t]
            ps, hs, ds = deficit / sb, f[v0 + KE] / sb, vp[5] * pos / sb
            hz, fr = vp[18:18 + ns], vp[18 + ns:18 + 2 * ns]
            low, st, sh = _ufls(ps, hs, vp[4], ds, vp[6], vp[7], vp[8], vp[9], hz, fr, vp[17], shed / sb, 60.0,
                                0.01)
            if low < vp[11] - 1e-6:  # collapses even with UFLS acting: dark, nothing shed by UFLS counts
                return _dark(f, n_tiers, coef, frac, out, 0.0, demand > tol)
            if nadir >= vp[10] - 1e-6 or low < vp[11] + 1e-6:
                return 9  # within a hair of the first stage or of collapse: the exact path decides
            # the island survives: the stages tripped must not hang on the last bits of the sums (which the
            # per-state path adds in another order)
            e = 1e-8
            _l, st_a, _s = _ufls(ps * (1 + e), hs, vp[4], ds, vp[6], vp[7], vp[8], vp[9], hz, fr, vp[17],
                                 shed / sb * (1 - e), 60.0, 0.01)
            _l, st_b, _s = _ufls(ps * (1 - e), hs, vp[4], ds, vp[6], vp[7], vp[8], vp[9], hz, fr, vp[17],
                                 shed / sb * (1 + e), 60.0, 0.01)
            if st_a != st or st_b != st:
                return 9
            if sh > 0.0:  # each non-exempt load loses the same share (feeders by stage, not by priority)
                keep = 1.0 - sh
                out[6] = shed * sh
                demand -= shed * sh
    elif vp[3] > 0.5 and vp[12] > 0.5 and deficit < 0.0 and not ke_inf and f[NINF] < 0.5 and f[v0 + SB] > 0.0:
        sb = f[v0 + SB]
        k_o = max(f[CAPFIN] - sb, 0.0) / sb / vp[14]
        ps, hs, ds = -deficit / sb, f[v0 + KE] / sb, vp[5] * pos / sb
        rise, _t = _nadir(ps, hs, vp[4], ds, vp[6], vp[7], vp[8])
        rise = _overfreq(ps, hs, vp[4], ds, vp[6], vp[7], vp[8], k_o, vp[13], max(f[v0 + IBRP0], 0.0) / sb, rise)
        if rise > vp[15] * (1.0 + 1e-6) + 1e-9:  # over-frequency protection trips every unit
            return _dark(f, n_tiers, coef, frac, out, 0.0, demand > tol)
        if rise > vp[15] * (1.0 - 1e-6) - 1e-9:
            return 11
    pmin_all = f[v0 + PMIN] + f[v0 + PMINE]
    if pmin_all > tol and pmin_all > demand - tol * (abs(demand) + 1.0):
        if one and pmin_all > demand + tol * (abs(demand) + 1.0):
            return _dark(f, n_tiers, coef, frac, out, 1.0, dem0 > tol)  # out[6]: what UFLS shed before counts
        return 10
    if keep < 1.0:
        return _after_ufls(f, n_tiers, vp, coef, frac, out, v0 + PMIN, keep)
    # the plain rule, the non-external units moving down by their room above p_min
    return island_rule(f, n_tiers, coef, frac, out, v0 + PMIN)
