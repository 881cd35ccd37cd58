"""Sites: buses that stand together (the voltage levels of one substation) and take damage together.

A site is a group of buses: those named together under ``damage.sites`` (by id), joined with those within
``damage.site_radius_m`` of each other (single linkage over bus coordinates; the default 1 m joins buses drawn at
the same point). Every bus with coordinates belongs to exactly one site (possibly alone). Branches with both ends
at one site (its transformers, bus ties), and generators and loads at its buses, are components of the site.
:mod:`svitlo.scenarios.outcome` draws the damage of a site's components with one common factor.

Examples
--------
>>> import pandas as pd
>>> from svitlo.model.grid import make_grid
>>> from svitlo.model.compiled import compile_grid
>>> g = make_grid(buses=pd.DataFrame({"lat": [50.0, 50.0, 50.01], "lon": [30.0, 30.0, 30.0]},
...                                  index=["bus:0", "bus:1", "bus:2"]),
...               branches=pd.DataFrame({"from_bus": ["bus:0", "bus:1"], "to_bus": ["bus:1", "bus:2"],
...                                      "x_pu": [0.1, 0.1]}, index=["trafo:0", "line:0"]),
...               generators=pd.DataFrame({"bus": ["bus:0"], "p_max_mw": [10.0]}, index=["gen:0"]),
...               loads=pd.DataFrame({"bus": ["bus:2"], "p_mw": [5.0]}, index=["load:0"]))
>>> bus_sites(compile_grid(g), site_radius_m=1.0).tolist()
[0, 0, 1]
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from svitlo.errors import ScenarioError
from svitlo.model.compiled import CompiledGrid
from svitlo.scenarios.damage_states import SiteSpec

__all__ = ["bus_sites", "component_sites"]

_CACHE: "weakref.WeakKeyDictionary[CompiledGrid, dict[tuple, np.ndarray]]" = weakref.WeakKeyDictionary()
_M_PER_DEG = np.pi / 180.0 * 6_371_008.8


def bus_sites(cg: CompiledGrid, *, sites: Sequence[SiteSpec] = (), site_radius_m: float = 1.0,
              where: str = "damage", source: str = "scenario") -> np.ndarray:
    """Site label (0..) of every bus; -1 for buses without coordinates that no explicit site names.

    Raises :class:`~svitlo.errors.ScenarioError` naming ``{where}.sites[i].buses`` for an id that is not a bus
    of the grid.
    """
    key = (tuple((s.id, tuple(s.buses)) for s in sites), float(site_radius_m))
    cache = _CACHE.setdefault(cg, {})
    if key in cache:
        return cache[key]
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    for i, s in enumerate(sites):
        idx = []
        for b in s.buses:
            try:
                cls, j = cg.asset(b)
            except ScenarioError:
                raise
            except Exception:
                cls, j = "", -1
            if cls != "bus":
                raise ScenarioError(f"unknown bus id in grid {cg.name!r} (site {s.id!r})", source=source,
                                    field=f"{where}.sites[{i}].buses", value=b)
            idx.append(j)
        rows.append(np.full(len(idx) - 1, idx[0], dtype=np.int64))
        cols.append(np.asarray(idx[1:], dtype=np.int64))
    ok = np.flatnonzero(np.isfinite(cg.bus_lat) & np.isfinite(cg.bus_lon))
    if ok.size and site_radius_m > 0:
        lat0 = float(np.mean(cg.bus_lat[ok]))
        xy = np.column_stack([cg.bus_lon[ok] * _M_PER_DEG * np.cos(np.radians(lat0)), cg.bus_lat[ok] * _M_PER_DEG])
        from scipy.spatial import cKDTree  # lazily: scipy.spatial costs ~0.1 s of every command's start

        pairs = cKDTree(xy).query_pairs(r=float(site_radius_m), output_type="ndarray")
        if pairs.size:
            rows.append(ok[pairs[:, 0]])
            cols.append(ok[pairs[:, 1]])
    r = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    c = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    adj = coo_matrix((np.ones(r.size), (r, c)), shape=(cg.n_bus, cg.n_bus))
    _, comp = connected_components(adj, directed=False)
    named = np.zeros(cg.n_bus, bool)
    named[r] = True
    named[c] = True
    has = np.isfinite(cg.bus_lat) & np.isfinite(cg.bus_lon) | named
    _, label = np.unique(np.where(has, comp, -1), return_inverse=True)
    label = np.where(has, label - (0 if has.all() else 1), -1)
    cache[key] = label
    return label


def component_sites(cg: CompiledGrid, bus_site: np.ndarray, kind: str, idx: np.ndarray) -> np.ndarray:
    """Site label of assets ``idx`` of ``kind``: a bus's own site; a branch's if both ends share one; a
    generator's or load's bus's site; -1 otherwise."""
    if kind == "bus":
        return bus_site[idx]
    if kind in ("gen", "sgen"):
        return bus_site[cg.gen_bus[idx]]
    if kind == "load":
        return bus_site[cg.load_bus[idx]]
    f, t = bus_site[cg.br_f[idx]], bus_site[cg.br_t[idx]]
    return np.where(f == t, f, -1)
