"""Frequency at island separation: the low-order system-frequency-response (SFR) model and UFLS.

The SFR model of Anderson & Mirheydar (IEEE Trans. Power Systems 5(3), 1990, "A low-order system frequency
response model") lumps an island's synchronous units into one machine with inertia ``H`` and one reheat-steam
governor (droop ``R``, reheat time constant ``T_R``, high-pressure fraction ``F_H``, mechanical gain ``K_m``)
against load damping ``D``. All quantities are per unit on the island's base ``S_B`` (MVA of its units)::

    2H dω/dt = ΔP_m − P_d − D ω,       ΔP_m = −(K_m / R) (1 + F_H T_R s) / (1 + T_R s) ω

so ``ω(s) / P_d(s) = −(1 + T_R s) / (a s² + b s + c)`` with ``a = 2 H T_R``, ``b = 2H + (D + K_m F_H / R) T_R``,
``c = D + K_m / R``. A step deficit ``P`` gives ``ω(t) = −P [1/c + A₁ e^{p₁t} + A₂ e^{p₂t}]`` (``p₁, p₂`` the
poles), whose first extremum — the nadir — lies where ``e^{(p₁−p₂)t} = (1 + T_R p₂) / (1 + T_R p₁)``: a closed
form, evaluated here with complex arithmetic so over- and under-damped islands share one formula.

Under-frequency load shedding (UFLS) follows a stage table; the default is the Continental Europe scheme of
Regulation (EU) 2017/2196 (NC ER), Annex: from 49.0 Hz down to 48.0 Hz, 6 steps, at most 10 % of load per
step, 45 % in total (here 6 × 7.5 %). Stages trip as the frequency of the same linear model, each earlier shed
superposed as a negative step, crosses their threshold (after a relay delay). Below the collapse threshold
(generator under-frequency protection, 47.5 Hz by default) the island is lost.

An island that separates with a *surplus* (its load lost, e.g. the substation feeding it destroyed) sees its
frequency rise. The synchronous governors answer by their droop as above (the model is symmetric), and every
inverter-based unit reduces its output in limited frequency-sensitive mode, over-frequency (LFSM-O, Regulation
(EU) 2016/631 (NC RfG) Art. 13(2)): above a threshold (50.2 Hz by default, 50.2–50.5 Hz allowed) by a droop of
2–12 % (5 % by default) of its ``p_max``, down to zero output. :func:`overfrequency_peak_pu` integrates the same
SFR model with that piecewise-linear response (classical RK4, small fixed step); when the peak exceeds the
generators' over-frequency protection (51.5 Hz by default: NC RfG asks units to ride through 51.0–51.5 Hz for 30
min in Continental Europe) the island is lost.

Examples
--------
>>> p = SfrParams()
>>> nadir, t = sfr_nadir_pu(0.1, h_s=4.0, r_pu=p.r_pu, d_pu=p.d_pu, km=p.km, fh=p.fh, tr_s=p.tr_s)
>>> round(50 * (1 - nadir), 2), round(t, 1)     # 10 % loss on a 4 s island: nadir (Hz) and its time (s)
(49.46, 2.4)
>>> u = ufls_response(0.3, h_s=4.0, params=p, schedule=UflsSchedule.nc_er())
>>> u.stages, round(u.shed_fraction, 3), u.collapsed
(2, 0.15, False)
>>> o = OverFrequency()
>>> rise = overfrequency_peak_pu(0.5, h_s=4.0, params=p, lfsm_gain_pu=0.0, lfsm_cap_pu=0.0, over=o)
>>> round(50 * (1 + rise), 2)                   # half the output lost, no inverters: above 51.5 Hz
52.71
>>> rise = overfrequency_peak_pu(0.5, h_s=4.0, params=p, lfsm_gain_pu=0.5 / o.droop, lfsm_cap_pu=0.4, over=o)
>>> round(50 * (1 + rise), 2)                   # 0.5 p.u. of inverters at 0.4 p.u. output cut back by LFSM-O
51.45
"""

from __future__ import annotations

import cmath
import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SfrParams", "UflsSchedule", "UflsOutcome", "OverFrequency", "sfr_nadir_pu", "sfr_response_pu",
           "ufls_response", "overfrequency_peak_pu"]


@dataclass(frozen=True)
class SfrParams:
    """Aggregate governor and load parameters of the SFR model (per unit on the island's base).

    Defaults are the typical reheat-steam values of Anderson & Mirheydar (1990), Table 1: ``R = 0.05``,
    ``T_R = 8 s``, ``F_H = 0.3``, ``K_m = 0.95``, ``D = 1``.

    Attributes
    ----------
    r_pu
        Governor droop (p.u. frequency per p.u. power).
    tr_s
        Reheat time constant (s).
    fh
        High-pressure turbine fraction (0–1).
    km
        Mechanical power gain factor (share of the base on governor control, 0–1).
    d_pu
        Load damping (p.u. power per p.u. frequency).
    f_nominal_hz
        Nominal frequency (Hz).
    """

    r_pu: float = 0.05
    tr_s: float = 8.0
    fh: float = 0.3
    km: float = 0.95
    d_pu: float = 1.0
    f_nominal_hz: float = 50.0


def _coeffs(h_s: float, r_pu: float, d_pu: float, km: float, fh: float, tr_s: float) -> tuple[float, float, float]:
    g = km / r_pu
    return 2.0 * h_s * tr_s, 2.0 * h_s + (d_pu + g * fh) * tr_s, d_pu + g


def sfr_nadir_pu(p_step_pu: float, *, h_s: float, r_pu: float, d_pu: float, km: float, fh: float,
                 tr_s: float) -> tuple[float, float]:
    """Largest frequency drop (p.u., positive for a deficit) after a step deficit, and when it occurs (s).

    Parameters
    ----------
    p_step_pu
        Sudden deficit (load minus generation, p.u. on the island base); negative = surplus (a rise).
    h_s
        Aggregate inertia constant (s on the island base), > 0.
    r_pu, d_pu, km, fh, tr_s
        See :class:`SfrParams`.

    Returns
    -------
    (drop_pu, t_s)
        Extreme deviation ``|Δf| / f_n`` (p.u.) and its time (s; ``inf`` when the response is monotone and the
        extreme is the steady state).
    """
    return _nadir_scalar(float(p_step_pu), float(h_s), float(r_pu), float(d_pu), float(km), float(fh),
                         float(tr_s))


def _nadir_scalar(p, h, r, d, km, fh, tr):  # numba-compatible (also compiled by the batched kernel)
    if p == 0.0:
        return 0.0, 0.0
    mag = abs(p)
    g = km / r
    a = 2.0 * h * tr
    b = 2.0 * h + (d + g * fh) * tr
    c = d + g
    ss = mag / c
    disc = complex(b * b - 4.0 * a * c)
    sq = cmath.sqrt(disc)
    p1 = (-b + sq) / (2.0 * a)
    p2 = (-b - sq) / (2.0 * a)
    if abs(p1 - p2) < 1e-12 * (abs(p1) + 1e-12):  # critically damped: nudge
        p1 = p1 * (1.0 + 1e-7)
    z1 = 1.0 + tr * p1
    z2 = 1.0 + tr * p2
    t = -1.0
    if abs(sq.imag) > 0.0:  # under-damped: p1 - p2 = 2iω
        w = p1.imag
        ang = -cmath.phase(z1 / abs(z1))
        t = ang / w if ang / w > 0.0 else (ang + math.pi) / w
        if t <= 0.0:
            t = (ang + 2.0 * math.pi) / w
    elif abs(z1) > 1e-12:
        ratio = (z2 / z1).real
        if ratio > 0.0:
            tt = math.log(ratio) / (p1 - p2).real
            if tt > 0.0:
                t = tt
    if t <= 0.0:
        return ss, math.inf
    a1 = z1 / (a * p1 * (p1 - p2))
    a2 = z2 / (a * p2 * (p2 - p1))
    y = (1.0 / c + a1 * cmath.exp(p1 * t) + a2 * cmath.exp(p2 * t)).real * mag
    if y < ss:
        return ss, math.inf
    return y, t


def sfr_response_pu(t_s: np.ndarray, p_step_pu: float, *, h_s: float, params: SfrParams) -> np.ndarray:
    """Frequency deviation ``Δf / f_n`` (p.u., negative for a deficit) at times ``t_s`` after a step deficit.

    >>> p = SfrParams()
    >>> round(float(sfr_response_pu(np.array([1e4]), 0.1, h_s=4.0, params=p)[0]) * 50, 6)  # -R P / (D R + K_m)
    -0.25
    """
    a, b, c = _coeffs(h_s, params.r_pu, params.d_pu, params.km, params.fh, params.tr_s)
    sq = np.sqrt(complex(b * b - 4.0 * a * c))
    p1, p2 = (-b + sq) / (2 * a), (-b - sq) / (2 * a)
    if abs(p1 - p2) < 1e-12 * (abs(p1) + 1e-12):
        p1 = p1 * (1.0 + 1e-7)
    tr = params.tr_s
    a1 = (1 + tr * p1) / (a * p1 * (p1 - p2))
    a2 = (1 + tr * p2) / (a * p2 * (p2 - p1))
    t = np.maximum(np.asarray(t_s, dtype=float), 0.0)
    y = (1.0 / c + a1 * np.exp(p1 * t) + a2 * np.exp(p2 * t)).real
    return -p_step_pu * np.where(np.asarray(t_s) >= 0, y, 0.0)


@dataclass(frozen=True)
class UflsSchedule:
    """Under-frequency load-shedding stages: thresholds (Hz, descending) and shares of load (0–1) per stage.

    Attributes
    ----------
    hz
        Threshold of each stage (Hz), strictly descending.
    fraction
        Share of the island's non-exempt load each stage disconnects (0–1); their sum is at most 1.
    delay_s
        Relay and breaker time from crossing a threshold to the load being off (s).
    exempt_tiers
        Priority tiers whose feeders UFLS never disconnects (critical feeders declared exempt).
    collapse_hz
        Frequency below which generators' under-frequency protection trips and the island goes dark (Hz).
    """

    hz: tuple[float, ...]
    fraction: tuple[float, ...]
    delay_s: float = 0.1
    exempt_tiers: tuple[int, ...] = ()
    collapse_hz: float = 47.5

    @classmethod
    def nc_er(cls, **kw) -> UflsSchedule:
        """Default of Regulation (EU) 2017/2196, Annex (Continental Europe): 49.0 → 48.0 Hz in 6 steps of 7.5 %
        (≤ 10 % each, 45 % in total); generators' under-frequency protection at 47.5 Hz."""
        return cls(hz=(49.0, 48.8, 48.6, 48.4, 48.2, 48.0), fraction=(0.075,) * 6, **kw)

    @property
    def total(self) -> float:
        """Largest share of load the whole schedule can disconnect."""
        return float(sum(self.fraction))


@dataclass(frozen=True)
class UflsOutcome:
    """What happens to an island's frequency after separation.

    Attributes
    ----------
    nadir_hz
        Lowest frequency reached with UFLS acting (Hz).
    stages
        Number of UFLS stages that tripped.
    shed_fraction
        Share of non-exempt load disconnected by UFLS (0–1).
    collapsed
        The frequency fell below the collapse threshold: the island is lost.
    """

    nadir_hz: float
    stages: int
    shed_fraction: float
    collapsed: bool


def ufls_response(p_step_pu: float, *, h_s: float, params: SfrParams, schedule: UflsSchedule | None,
                  sheddable_pu: float = 1.0, horizon_s: float = 60.0, dt_s: float = 0.01) -> UflsOutcome:
    """Frequency nadir of an island after a step deficit, with UFLS stages tripping as it falls.

    The response is the SFR step response (closed form) with each tripped stage added as a negative step at
    its tripping time (the model is linear), on a ``dt_s`` grid over ``horizon_s``.

    Parameters
    ----------
    p_step_pu
        Sudden deficit (p.u. on the island base); ≤ 0 means no under-frequency.
    h_s
        Aggregate inertia (s on the island base).
    params
        SFR parameters.
    schedule
        UFLS stages, or None (no UFLS: the plain nadir decides).
    sheddable_pu
        Non-exempt load of the island (p.u. on the island base): each stage sheds its share of it.
    """
    fn = params.f_nominal_hz
    if p_step_pu <= 0.0 or not math.isfinite(h_s):
        return UflsOutcome(nadir_hz=fn, stages=0, shed_fraction=0.0, collapsed=False)
    drop, _ = sfr_nadir_pu(p_step_pu, h_s=h_s, r_pu=params.r_pu, d_pu=params.d_pu, km=params.km, fh=params.fh,
                           tr_s=params.tr_s)
    collapse_hz = schedule.collapse_hz if schedule is not None else 47.5
    if schedule is None or not schedule.hz or fn * (1 - drop) >= schedule.hz[0]:
        nadir = fn * (1 - drop)
        return UflsOutcome(nadir_hz=nadir, stages=0, shed_fraction=0.0, collapsed=nadir < collapse_hz)
    nadir, stages, shed = _ufls_compiled()(float(p_step_pu), float(h_s), params.r_pu, params.d_pu, params.km, params.fh,
                                       params.tr_s, fn, np.asarray(schedule.hz, dtype=np.float64),
                                       np.asarray(schedule.fraction, dtype=np.float64), float(schedule.delay_s),
                                       float(sheddable_pu), float(horizon_s), float(dt_s))
    return UflsOutcome(nadir_hz=float(nadir), stages=int(stages), shed_fraction=float(shed),
                       collapsed=bool(nadir < collapse_hz))


_UFLS: list = []


def _ufls_compiled():
    """:func:`_ufls_scalar` compiled with numba when it is installed (the same floats: a test holds the two
    equal), else the Python function; compiled on first use."""
    if not _UFLS:
        try:
            import numba
        except ImportError:  # pragma: no cover - depends on the environment
            _UFLS.append(_ufls_scalar)
        else:
            _UFLS.append(numba.njit(cache=True)(_ufls_scalar))
    return _UFLS[0]


def _ufls_scalar(p, h, r, d, km, fh, tr, fn, hz, frac, delay, sheddable, horizon, dt):  # numba-compatible
    """Nadir (Hz), stages tripped and shed share of :func:`ufls_response` (also compiled by the batched kernel)."""
    g = km / r
    a = 2.0 * h * tr
    b = 2.0 * h + (d + g * fh) * tr
    c = d + g
    sq = cmath.sqrt(complex(b * b - 4.0 * a * c))
    p1 = (-b + sq) / (2.0 * a)
    p2 = (-b - sq) / (2.0 * a)
    if abs(p1 - p2) < 1e-12 * (abs(p1) + 1e-12):
        p1 = p1 * (1.0 + 1e-7)
    a1 = (1.0 + tr * p1) / (a * p1 * (p1 - p2))
    a2 = (1.0 + tr * p2) / (a * p2 * (p2 - p1))
    t = np.arange(0.0, horizon + dt / 2.0, dt)
    n = t.size
    unit = np.empty(n)
    dev = np.empty(n)
    for k in range(n):
        unit[k] = -(1.0 / c + a1 * cmath.exp(p1 * t[k]) + a2 * cmath.exp(p2 * t[k])).real
        dev[k] = p * unit[k]
    stages = 0
    shed = 0.0
    for s in range(hz.size):
        first = -1
        for k in range(n):
            if fn * (1.0 + dev[k]) < hz[s]:
                first = k
                break
        if first < 0:
            break
        t_trip = t[first] + delay
        j = n
        for k in range(n):
            if t[k] >= t_trip - 1e-12:
                j = k
                break
        step = frac[s] * sheddable
        for k in range(j, n):
            dev[k] -= step * unit[k - j]
        stages = s + 1
        shed += frac[s]
    lo = dev[0]
    for k in range(n):
        lo = min(lo, dev[k])
    return fn * (1.0 + lo), stages, shed


@dataclass(frozen=True)
class OverFrequency:
    """Over-frequency settings: LFSM-O of inverter-based units and generators' over-frequency protection.

    Attributes
    ----------
    threshold_hz
        LFSM-O activation threshold (Hz; NC RfG Art. 13(2): 50.2–50.5 Hz, default 50.2 Hz).
    droop
        LFSM-O droop (p.u. frequency per p.u. of ``p_max``; NC RfG: 2–12 %, default 5 %).
    trip_hz
        Generators' over-frequency protection (Hz; default 51.5 Hz, the top of NC RfG's 30-minute band).
    """

    threshold_hz: float = 50.2
    droop: float = 0.05
    trip_hz: float = 51.5


def _overfreq_scalar(p, h, r, d, km, fh, tr, k_o, delta, cap_o, rise):  # numba-compatible (batched kernel)
    """First peak of the rise (p.u.) after a step surplus ``p`` with LFSM-O ``min(k_o (w - delta)+, cap_o)``;
    ``rise`` is the closed-form peak without LFSM-O (:func:`_nadir_scalar`)."""
    if p <= 0.0 or rise <= delta or k_o <= 0.0 or cap_o <= 0.0:
        return rise  # LFSM-O never acts: the closed form
    g = km / r
    stiff = (d + g * fh + k_o) / (2.0 * h)
    dt = min(0.005, 0.05 / stiff)
    n_max = int(60.0 / dt) + 1
    w = 0.0
    y = 0.0
    best = 0.0
    for _ in range(n_max):
        # classical RK4 on  2h w' = p - d w - g (fh w + (1 - fh) y) - L(w),  tr y' = w - y
        l1 = min(k_o * max(w - delta, 0.0), cap_o)
        a1 = (p - d * w - g * (fh * w + (1.0 - fh) * y) - l1) / (2.0 * h)
        b1 = (w - y) / tr
        w2 = w + 0.5 * dt * a1
        y2 = y + 0.5 * dt * b1
        l2 = min(k_o * max(w2 - delta, 0.0), cap_o)
        a2 = (p - d * w2 - g * (fh * w2 + (1.0 - fh) * y2) - l2) / (2.0 * h)
        b2 = (w2 - y2) / tr
        w3 = w + 0.5 * dt * a2
        y3 = y + 0.5 * dt * b2
        l3 = min(k_o * max(w3 - delta, 0.0), cap_o)
        a3 = (p - d * w3 - g * (fh * w3 + (1.0 - fh) * y3) - l3) / (2.0 * h)
        b3 = (w3 - y3) / tr
        w4 = w + dt * a3
        y4 = y + dt * b3
        l4 = min(k_o * max(w4 - delta, 0.0), cap_o)
        a4 = (p - d * w4 - g * (fh * w4 + (1.0 - fh) * y4) - l4) / (2.0 * h)
        b4 = (w4 - y4) / tr
        w_new = w + dt * (a1 + 2.0 * a2 + 2.0 * a3 + a4) / 6.0
        y = y + dt * (b1 + 2.0 * b2 + 2.0 * b3 + b4) / 6.0
        if w_new <= w and w > 0.0:
            break  # the first maximum
        w = w_new
        best = max(best, w)
    return best


def overfrequency_peak_pu(p_surplus_pu: float, *, h_s: float, params: SfrParams, lfsm_gain_pu: float,
                          lfsm_cap_pu: float, over: OverFrequency) -> float:
    """Highest frequency rise (p.u. of nominal) after a step surplus, with LFSM-O acting.

    Parameters
    ----------
    p_surplus_pu
        Sudden surplus (generation minus load, p.u. on the island's synchronous base); ≤ 0: no rise.
    h_s
        Aggregate inertia (s on the island base).
    params
        SFR parameters of the synchronous governors (they answer a rise by their droop).
    lfsm_gain_pu
        LFSM-O gain of the island's inverter-based units: their ``p_max`` over the droop (p.u. power per p.u.
        frequency, on the island base); 0: none.
    lfsm_cap_pu
        Their output before the event (p.u.): LFSM-O cannot take them below zero.
    over
        Thresholds (``threshold_hz`` on ``params.f_nominal_hz``).

    Returns
    -------
    float
        Peak ``Δf / f_n`` (p.u., ≥ 0): the closed form of :func:`sfr_nadir_pu` when LFSM-O never acts, else the
        first maximum of the RK4 integration (step ≤ 5 ms).
    """
    if p_surplus_pu <= 0.0:
        return 0.0
    delta = over.threshold_hz / params.f_nominal_hz - 1.0
    args = (float(p_surplus_pu), float(h_s), params.r_pu, params.d_pu, params.km, params.fh, params.tr_s)
    rise, _ = _nadir_scalar(*args)
    return float(_overfreq_scalar(*args, float(lfsm_gain_pu), delta, float(lfsm_cap_pu), rise))
