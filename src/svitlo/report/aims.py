"""Tie the assets a geographic strike destroyed to the aim points of the scenario, for the story.

The engine records which assets were destroyed, not which impact destroyed them; for people, each destroyed asset
with coordinates is attributed to the nearest aim point of the strikes of its hour (top-level ``strikes`` at hour
0, each wave at its ``at_h``), if that aim point lies within ``reach`` of it: a few destruction radii plus the
weapon's circular error, generous enough for the scatter and never reaching across a town to another aim point's
work. Asset positions as in :mod:`svitlo.scenarios.geo`: a bus at its lat/lon, a branch along the segment between
its end buses (its nearest point counts), a generator at its bus.

Examples
--------
>>> import pandas as pd
>>> from types import SimpleNamespace
>>> from svitlo.scenarios.geo import Aim
>>> grid = SimpleNamespace(buses=pd.DataFrame({"lat": [48.0, 48.1], "lon": [7.0, 7.0]}, index=["bus:1", "bus:2"]),
...                        branches=pd.DataFrame({"from_bus": [], "to_bus": []}), generators=pd.DataFrame())
>>> aims = [(0, Aim(name="substation", lat=48.0, lon=7.0005, weapon="FAB-250"))]
>>> attribute({0: ["bus:1", "bus:2"]}, aims, grid)
[{'hour': 0, 'aim': 'substation', 'weapon': 'FAB-250', 'n': 1, 'destroyed': ['bus:1']}]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from svitlo.scenarios.geo import DEFAULT_WEAPONS, local_xy_m

__all__ = ["scenario_aims", "attribute"]


def scenario_aims(scenario: Any) -> list[tuple[int, Any]]:
    """``(hour, Aim)`` of every aim point of a scenario's strikes (hour 0) and waves."""
    out: list[tuple[int, Any]] = []
    groups = [(0, scenario.strikes)] + [(w.at_h, w.strikes) for w in scenario.waves]
    for hour, strikes in groups:
        for s in strikes:
            if s.geographic is not None:
                out += [(int(hour), a) for a in s.geographic.aim]
    return out


def _ends(asset: str, grid: Any) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """The asset as a segment (lat, lon) -> (lat, lon): a bus or generator is a segment of length 0."""
    b = grid.buses
    if asset in b.index:
        f = t = asset
    elif asset in grid.branches.index:
        f, t = grid.branches.at[asset, "from_bus"], grid.branches.at[asset, "to_bus"]
    elif len(grid.generators) and asset in grid.generators.index:
        f = t = str(grid.generators.at[asset, "bus"])
    else:
        return None
    pts = [(float(b.at[x, "lat"]), float(b.at[x, "lon"])) for x in (f, t)]
    return (pts[0], pts[1]) if np.isfinite(np.array(pts)).all() else None


def _distance_m(seg: tuple[tuple[float, float], tuple[float, float]], lat: float, lon: float) -> float:
    """Distance (m) from (lat, lon) to the nearest point of the segment (local projection, as geo does)."""
    (la1, lo1), (la2, lo2) = seg
    x, y = local_xy_m(np.array([la1, la2]), np.array([lo1, lo2]), lat, lon)
    dx, dy = x[1] - x[0], y[1] - y[0]
    n2 = dx * dx + dy * dy
    u = 0.0 if n2 == 0 else float(np.clip(-(x[0] * dx + y[0] * dy) / n2, 0.0, 1.0))
    return float(np.hypot(x[0] + u * dx, y[0] + u * dy))


def attribute(struck: dict[int, list[str]], aims: list[tuple[int, Any]], grid: Any, *,
              weapons: dict[str, Any] | None = None, radii: float = 4.0) -> list[dict[str, Any]]:
    """For each aim point (in scenario order) the assets destroyed at its hour nearest to it, within
    ``radii`` destruction radii plus the CEP; aim points that destroyed nothing are listed with an empty list."""
    table = {**DEFAULT_WEAPONS, **(weapons or {})}
    out = [{"hour": h, "aim": a.name or f"{a.lat:.4f}, {a.lon:.4f}", "weapon": a.weapon, "n": a.n,
            "destroyed": []} for h, a in aims]
    for hour, assets in struck.items():
        idx = [i for i, (h, _) in enumerate(aims) if h == hour]
        if not idx:
            continue
        for asset in assets:
            seg = _ends(asset, grid)
            if seg is None:
                continue
            d = [_distance_m(seg, aims[i][1].lat, aims[i][1].lon) for i in idx]
            j = int(np.argmin(d))
            a = aims[idx[j]][1]
            w = table.get(a.weapon)
            reach = radii * w.d50_for("bus") + (a.cep_m or w.cep_m) if w is not None else 1000.0
            if d[j] <= reach:
                out[idx[j]]["destroyed"].append(asset)
    return out
