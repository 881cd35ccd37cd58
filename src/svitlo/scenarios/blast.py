"""Air blast from a surface burst: Hopkinson–Cranz scaled distance and peak incident overpressure.

A charge of ``W`` kg (TNT equivalent) produces the same peak overpressure at distance ``R`` (m) as any other
charge at the same *scaled distance* (Hopkinson–Cranz cube-root scaling)::

    Z = R / W^(1/3)        (m/kg^(1/3))

The peak incident (side-on) overpressure of a hemispherical surface burst is the Kingery–Bulmash curve, used
here in the polynomial form of Swisdak (1994), *Simplified Kingery Airblast Calculations*, 26th DoD Explosives
Safety Seminar (DTIC ADA526744), the same curve as UFC 3-340-02 (2008) Figure 2-15 and TM 5-1300::

    ln P = A + B ln Z + C (ln Z)^2 + D (ln Z)^3 + E (ln Z)^4        (P in kPa)

    0.2  <= Z <  2.9   A = 7.2106  B = -2.1069  C = -0.3229   D = 0.1117  E =  0.0685
    2.9  <= Z < 23.8   A = 7.5938  B = -3.0523  C =  0.40977  D = 0.0261  E = -0.01267
    23.8 <= Z <= 198.5 A = 6.0536  B = -1.4066  C =  0        D = 0       E =  0

The fit is valid for ``0.2 <= Z <= 198.5``; outside it the end segments are extrapolated (a warning-free
choice: damage thresholds of interest lie well inside). The two upper segments meet with a 0.7 % step at
``Z = 23.8``; :func:`distance_for_overpressure_m` inverts a monotone envelope of the curve, so a threshold
maps to one distance. :func:`kinney_graham_kpa` (Kinney & Graham 1985, *Explosive Shocks in Air*, free-air
formula with a ground-reflection factor of 1.8 on the charge mass) is an independent fit the tests compare
against.

Examples
--------
>>> round(float(scaled_distance(143.6, 250.0)), 1)
22.8
>>> round(float(incident_overpressure_kpa(22.8)), 1)     # the old FAB-500 "destruction radius": windows
5.2
>>> round(float(distance_for_overpressure_m(68.9, 250.0)), 1)   # 10 psi: total destruction of buildings
24.4
"""

from __future__ import annotations

import numpy as np

__all__ = ["scaled_distance", "incident_overpressure_kpa", "kinney_graham_kpa", "distance_for_overpressure_m",
           "Z_MIN", "Z_MAX", "P_ATM_KPA"]

#: Range of scaled distance (m/kg^(1/3)) over which the Kingery–Bulmash fit holds.
Z_MIN, Z_MAX = 0.2, 198.5
#: Standard atmosphere (kPa).
P_ATM_KPA = 101.325
_BOUNDS = (2.9, 23.8)
_COEF = np.array([[7.2106, -2.1069, -0.3229, 0.1117, 0.0685],
                  [7.5938, -3.0523, 0.40977, 0.0261, -0.01267],
                  [6.0536, -1.4066, 0.0, 0.0, 0.0]])


def scaled_distance(r_m, w_kg) -> np.ndarray:
    """Hopkinson–Cranz scaled distance ``Z = R / W^(1/3)`` (m/kg^(1/3)) of distance ``r_m`` (m) from ``w_kg`` kg."""
    return np.asarray(r_m, float) / np.cbrt(np.asarray(w_kg, float))


def incident_overpressure_kpa(z) -> np.ndarray:
    """Peak incident overpressure (kPa) of a hemispherical TNT surface burst at scaled distance ``z``
    (m/kg^(1/3)), Kingery–Bulmash in Swisdak's (1994) form (see the module docstring)."""
    z = np.maximum(np.asarray(z, float), 1e-6)
    seg = np.searchsorted(np.array(_BOUNDS), z, side="right")
    c = _COEF[seg]
    lz = np.log(z)
    return np.exp(c[..., 0] + lz * (c[..., 1] + lz * (c[..., 2] + lz * (c[..., 3] + lz * c[..., 4]))))


def kinney_graham_kpa(z, *, reflection: float = 1.8) -> np.ndarray:
    """Peak incident overpressure (kPa) by Kinney & Graham's (1985) free-air formula for a surface burst: the
    charge counts ``reflection`` times (1.8 for a burst on ordinary ground, 2 on a rigid surface)."""
    zf = np.asarray(z, float) / np.cbrt(reflection)
    num = 808.0 * (1.0 + (zf / 4.5) ** 2)
    den = np.sqrt(1 + (zf / 0.048) ** 2) * np.sqrt(1 + (zf / 0.32) ** 2) * np.sqrt(1 + (zf / 1.35) ** 2)
    return P_ATM_KPA * num / den


_Z_TABLE = np.geomspace(Z_MIN, Z_MAX, 4001)
_LOGP_ENVELOPE = np.minimum.accumulate(np.log(incident_overpressure_kpa(_Z_TABLE)))


def distance_for_overpressure_m(p_kpa, w_kg) -> np.ndarray:
    """Distance (m) from a ``w_kg`` kg (TNT equivalent) surface burst at which the peak incident overpressure
    falls to ``p_kpa`` (kPa): the inverse of :func:`incident_overpressure_kpa` (log-log interpolation of a
    monotone envelope, clamped to the fit's range ``Z_MIN .. Z_MAX``)."""
    lp = np.log(np.asarray(p_kpa, float))
    lz = np.interp(-lp, -_LOGP_ENVELOPE, np.log(_Z_TABLE))
    return np.exp(lz) * np.cbrt(np.asarray(w_kg, float))
