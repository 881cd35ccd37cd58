"""Where to draw each bus: a local projection of bus latitude/longitude into SVG units.

Buses with coordinates are projected with an equirectangular projection about the grid's mean latitude
(distances are true to well under 1 % over a region of a few tens of km). A bus without coordinates is placed
at the mean of its placed neighbours; when fewer than half the buses carry coordinates the whole grid is laid
out from its topology instead (spectral layout), and no scale bar is drawn.

Examples
--------
>>> import numpy as np
>>> lay = layout_buses(np.array([48.0, 48.0, 48.01]), np.array([7.0, 7.01, 7.0]),
...                    np.array([0, 0]), np.array([1, 2]), width=500.0)
>>> lay.geographic, lay.x.round(1).tolist(), lay.y.round(1).tolist()
(True, [20.0, 404.7, 20.0], [595.0, 595.0, 20.0])
>>> round(float(lay.km_per_unit * (lay.x[1] - lay.x[0])), 3)  # 0.01 deg of longitude at 48 deg N, in km
0.744
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Layout", "layout_buses", "project_points", "EARTH_KM_PER_DEG"]

#: Kilometres per degree of latitude (mean Earth radius 6371.0 km).
EARTH_KM_PER_DEG = 2 * math.pi * 6371.0 / 360.0


@dataclass(frozen=True)
class Layout:
    """Bus positions in SVG user units (y grows downwards).

    Attributes
    ----------
    x, y
        Position of each bus (SVG units).
    width, height
        Size of the drawing (SVG units), padding included.
    geographic
        True when positions come from latitude/longitude.
    lat0, lon0, scale
        Projection: ``x = pad + (lon - lon0) * cos(lat_mid) * scale``, ``y = pad + (lat0 - lat) * scale``
        (``scale`` in SVG units per degree).
    lat_mid
        Latitude of true scale (deg).
    km_per_unit
        Kilometres per SVG unit (NaN when not geographic).
    """

    x: np.ndarray
    y: np.ndarray
    width: float
    height: float
    geographic: bool
    lat0: float = math.nan
    lon0: float = math.nan
    lat_mid: float = math.nan
    scale: float = math.nan
    pad: float = 20.0

    @property
    def km_per_unit(self) -> float:
        return EARTH_KM_PER_DEG / self.scale if self.geographic else math.nan


def project_points(lay: Layout, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project latitude/longitude (deg) with a geographic layout's projection (NaN stays NaN)."""
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    if not lay.geographic:
        return np.full(lat.shape, np.nan), np.full(lon.shape, np.nan)
    k = math.cos(math.radians(lay.lat_mid))
    return lay.pad + (lon - lay.lon0) * k * lay.scale, lay.pad + (lay.lat0 - lat) * lay.scale


def layout_buses(lat: np.ndarray, lon: np.ndarray, br_f: np.ndarray, br_t: np.ndarray, *,
                 width: float = 1000.0, pad: float = 20.0) -> Layout:
    """Positions of ``n`` buses for a map ``width`` SVG units wide.

    Parameters
    ----------
    lat, lon
        Bus coordinates (deg, NaN when unknown).
    br_f, br_t
        Bus index at each end of every branch (used to place buses without coordinates).
    width
        Drawing width (SVG units).
    pad
        Margin around the drawing (SVG units).
    """
    lat = np.asarray(lat, dtype=float)
    lon = np.asarray(lon, dtype=float)
    n = lat.size
    known = np.isfinite(lat) & np.isfinite(lon)
    if n == 0:
        return Layout(np.zeros(0), np.zeros(0), width, 2 * pad, False, pad=pad)
    if known.sum() >= max(1, n / 2):
        lat_f, lon_f = _fill_from_neighbours(lat, lon, known, br_f, br_t)
        lat_mid = float(np.mean(lat_f))
        k = math.cos(math.radians(lat_mid))
        span_x = max(float(np.ptp(lon_f)) * k, 1e-9)
        span_y = max(float(np.ptp(lat_f)), 1e-9)
        scale = (width - 2 * pad) / max(span_x, span_y * 0.8)  # at most 1.25 times as tall as wide
        lat0, lon0 = float(lat_f.max()), float(lon_f.min())
        x = pad + (lon_f - lon0) * k * scale
        y = pad + (lat0 - lat_f) * scale
        height = float(y.max()) + pad
        return Layout(x, y, width, height, True, lat0=lat0, lon0=lon0, lat_mid=lat_mid, scale=scale, pad=pad)
    u, v = _spectral(n, br_f, br_t)
    u = (u - u.min()) / max(float(np.ptp(u)), 1e-12)
    v = (v - v.min()) / max(float(np.ptp(v)), 1e-12)
    side = width - 2 * pad
    return Layout(pad + u * side, pad + v * side * 0.75, width, side * 0.75 + 2 * pad, False, pad=pad)


def _fill_from_neighbours(lat: np.ndarray, lon: np.ndarray, known: np.ndarray, br_f: np.ndarray,
                          br_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lat, lon, known = lat.copy(), lon.copy(), known.copy()
    f = np.concatenate([br_f, br_t]).astype(np.int64)
    t = np.concatenate([br_t, br_f]).astype(np.int64)
    for _ in range(lat.size):
        if known.all():
            break
        use = known[f] & ~known[t]
        if not use.any():
            break
        cnt = np.bincount(t[use], minlength=lat.size)
        s_lat = np.bincount(t[use], weights=lat[f[use]], minlength=lat.size)
        s_lon = np.bincount(t[use], weights=lon[f[use]], minlength=lat.size)
        new = cnt > 0
        lat[new] = s_lat[new] / cnt[new]
        lon[new] = s_lon[new] / cnt[new]
        known |= new
    # isolated buses without coordinates: a row along the southern edge
    rest = ~known
    if rest.any():
        lat[rest] = np.nanmin(lat[known])
        lon[rest] = np.linspace(np.nanmin(lon[known]), np.nanmax(lon[known]), int(rest.sum()))
    return lat, lon


def _spectral(n: int, br_f: np.ndarray, br_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Second and third eigenvectors of the graph Laplacian (isolated buses on a line)."""
    if n < 3:
        return np.arange(n, dtype=float), np.zeros(n)
    import scipy.sparse as sp
    from scipy.sparse.csgraph import laplacian

    a = sp.coo_matrix((np.ones(len(br_f)), (br_f, br_t)), shape=(n, n)).tocsr()
    a = ((a + a.T) > 0).astype(float)
    lap = laplacian(a + sp.eye(n) * 1e-6 / n)
    if n <= 2500:
        _, vec = np.linalg.eigh(lap.toarray())
    else:
        from scipy.sparse.linalg import eigsh

        _, vec = eigsh(lap.tocsc(), k=3, sigma=-1e-3, which="LM")
    return vec[:, 1].copy(), vec[:, 2].copy()
