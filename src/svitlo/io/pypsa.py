"""Import PyPSA networks (objects, netCDF, HDF5 or CSV folders) into a :class:`~svitlo.model.grid.Grid`.

Mapping (one snapshot, default the first):

* buses -> buses (``bus:<name>``); ``x``/``y`` read as longitude/latitude when they are valid WGS84 values;
* lines and transformers -> branches with PyPSA's effective per-unit reactance ``x_pu_eff`` on a 1 MVA base
  (``base_mva = 1``, PyPSA's own convention), ``phase_shift`` and rating ``s_nom * s_max_pu`` (``s_nom_opt``
  when the capacity was optimised; no rating when zero);
* links -> controllable flows at their dispatch ``p_set``: a withdrawal ``p`` at ``bus0`` (a load of kind
  ``link``, tier 1 so that it is the last thing shed) and an injection ``efficiency * p`` at ``bus1`` (a
  generator of kind ``link`` that cannot form an island, capped at that value) — exactly what PyPSA's linear
  power flow does with a link;
* generators -> generators at ``p_set``, capacity ``p_nom * p_max_pu``; ``forms_island`` from the carrier
  (:data:`GRID_FORMING_CARRIERS`: synchronous machines form islands; wind, solar and other inverter-based
  carriers do not);
* storage units -> generators of kind ``storage`` when discharging (``p_set >= 0``), loads of kind ``storage``
  when charging; loads -> loads at ``p_set``.

Shunt impedances and stores carry no DC power flow and are not imported. Asset ids are ``<kind>:<name>``
(``line:``, ``trafo:``, ``gen:``, ``storage:``, ``load:``); a link's two ends are ``load:link:<name>`` and
``sgen:link:<name>``, a charging storage unit ``load:storage:<name>``.

Examples
--------
>>> import pytest
>>> pypsa = pytest.importorskip("pypsa")  # the ``pypsa`` extra
>>> n = pypsa.Network()
>>> _ = n.add("Bus", ["a", "b"], v_nom=110.0)
>>> _ = n.add("Line", "ab", bus0="a", bus1="b", x=10.0, s_nom=100.0)
>>> _ = n.add("Generator", "g", bus="a", p_set=40.0, carrier="gas", p_nom=80.0)
>>> _ = n.add("Load", "l", bus="b", p_set=40.0)
>>> g = from_pypsa(n)
>>> g.summary()["load_mw"], float(g.branches.loc["line:ab", "x_pu"]) == 10.0 / 110.0**2
(40.0, True)
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from svitlo.errors import GridError
from svitlo.io.pandapower_net import DEFAULT_PEOPLE_PER_MW
from svitlo.model.grid import Grid, make_grid

__all__ = ["GRID_FORMING_CARRIERS", "from_pypsa", "read_pypsa"]

#: Carriers (lower case, matched by prefix) whose generators and storage can form and hold an island.
GRID_FORMING_CARRIERS = ("gas", "ocgt", "ccgt", "coal", "lignite", "nuclear", "oil", "hydro", "ror", "phs",
                         "biomass", "geothermal", "waste", "diesel", "synchronous", "chp", "h2 turbine")


def _forms(carrier: Any) -> bool:
    c = str(carrier or "").strip().lower()
    return any(c.startswith(k) for k in GRID_FORMING_CARRIERS)


def _dense(n: Any, component: str, attr: str, snapshot: Any) -> pd.Series:
    df = getattr(n, {"Load": "loads", "Generator": "generators", "StorageUnit": "storage_units",
                     "Link": "links"}[component])
    out = df[attr].astype(float).copy() if attr in df else pd.Series(0.0, index=df.index)
    varying = getattr(n, f"{component.lower()}s_t" if component != "StorageUnit" else "storage_units_t", None)
    if component == "Load":
        varying = n.loads_t
    elif component == "Generator":
        varying = n.generators_t
    elif component == "Link":
        varying = n.links_t
    tv = getattr(varying, attr, None) if varying is not None else None
    if tv is not None and len(tv.columns) and snapshot in tv.index:
        row = tv.loc[snapshot]
        out.loc[row.index] = row.astype(float).to_numpy()
    return out


def _active(df: pd.DataFrame) -> np.ndarray:
    return df["active"].to_numpy(bool) if "active" in df else np.ones(len(df), dtype=bool)


def from_pypsa(network: Any, *, snapshot: Any = None, name: str | None = None, source: str | None = None,
               people_per_mw: float = DEFAULT_PEOPLE_PER_MW) -> Grid:
    """Convert a ``pypsa.Network`` (left unchanged) at one ``snapshot`` (default: the first) into a Grid."""
    n = network.copy() if hasattr(network, "copy") else network
    src = source or name or str(getattr(n, "name", "") or "pypsa network")
    if len(n.buses) == 0:
        raise GridError("empty network: no buses", source=src, field="buses")
    snaps = list(n.snapshots)
    snap = snaps[0] if snapshot is None and snaps else snapshot
    if snapshot is not None and snapshot not in snaps:
        raise GridError("no such snapshot", source=src, field="snapshot", value=str(snapshot))
    n.calculate_dependent_values()
    b = n.buses
    bid = {str(k): f"bus:{k}" for k in b.index}
    x = b["x"].to_numpy(float) if "x" in b else np.full(len(b), np.nan)
    y = b["y"].to_numpy(float) if "y" in b else np.full(len(b), np.nan)
    geo = np.isfinite(x) & np.isfinite(y) & (np.abs(x) <= 180) & (np.abs(y) <= 90) & ((x != 0) | (y != 0))
    buses = pd.DataFrame({"name": [str(k) for k in b.index], "vn_kv": b["v_nom"].to_numpy(float),
                          "lat": np.where(geo, y, np.nan), "lon": np.where(geo, x, np.nan),
                          "in_service": True}, index=[bid[str(k)] for k in b.index])

    rows, ids = [], []
    for table, kind, prefix in ((n.lines, "line", "line"), (n.transformers, "trafo", "trafo")):
        if len(table) == 0:
            continue
        act = _active(table)
        s_nom = table["s_nom"].to_numpy(float)
        if "s_nom_opt" in table:
            opt = table["s_nom_opt"].to_numpy(float)
            s_nom = np.where(table["s_nom_extendable"].to_numpy(bool) & (opt > 0), opt, s_nom)
        rate = s_nom * table["s_max_pu"].to_numpy(float)
        shift = table["phase_shift"].to_numpy(float) if "phase_shift" in table else np.zeros(len(table))
        length = table["length"].to_numpy(float) if "length" in table else np.full(len(table), math.nan)
        for j, (idx, r) in enumerate(table.iterrows()):
            rows.append({"from_bus": bid[str(r["bus0"])], "to_bus": bid[str(r["bus1"])], "kind": kind,
                         "x_pu": float(r["x_pu_eff"]), "tap_ratio": 1.0, "shift_deg": float(shift[j]),
                         "rate_mw": float(rate[j]) if rate[j] > 0 else math.inf,
                         "length_km": float(length[j]) if kind == "line" else math.nan,
                         "in_service": bool(act[j])})
            ids.append(f"{prefix}:{idx}")
    branches = pd.DataFrame(rows, index=ids, columns=["from_bus", "to_bus", "kind", "x_pu", "tap_ratio",
                                                      "shift_deg", "rate_mw", "length_km", "in_service"])
    bad = branches.index[branches["x_pu"].to_numpy(float) == 0.0]
    if len(bad):
        raise GridError("zero series reactance; PyPSA's linear power flow cannot use it either", source=src,
                        field="lines.x", value=str(bad[0]))

    gens, loads = [], []
    g = n.generators
    if len(g):
        p = _dense(n, "Generator", "p_set", snap)
        pmax = _dense(n, "Generator", "p_max_pu", snap) * g["p_nom"].astype(float)
        cost = g["marginal_cost"].astype(float) if "marginal_cost" in g else pd.Series(0.0, index=g.index)
        act = _active(g)
        for j, idx in enumerate(g.index):
            gens.append({"id": f"gen:{idx}", "bus": bid[str(g.at[idx, "bus"])], "kind": "gen",
                         "p_mw": float(p[idx]), "p_max_mw": max(float(pmax[idx]), float(p[idx]), 0.0),
                         "p_min_mw": 0.0, "forms_island": _forms(g.at[idx, "carrier"]),
                         "cost_per_mwh": float(cost[idx]), "in_service": bool(act[j])})
    su = n.storage_units
    if len(su):
        p = _dense(n, "StorageUnit", "p_set", snap)
        for j, idx in enumerate(su.index):
            v = float(p[idx])
            if v >= 0:
                gens.append({"id": f"storage:{idx}", "bus": bid[str(su.at[idx, "bus"])], "kind": "storage",
                             "p_mw": v, "p_max_mw": max(float(su.at[idx, "p_nom"]) * float(su.at[idx, "p_max_pu"]),
                                                        v), "p_min_mw": 0.0,
                             "forms_island": _forms(su.at[idx, "carrier"]), "cost_per_mwh": 0.0,
                             "in_service": bool(_active(su)[j])})
            else:
                loads.append({"id": f"load:storage:{idx}", "bus": bid[str(su.at[idx, "bus"])], "kind": "storage",
                              "p_mw": -v, "population": 0.0, "tier": 3, "in_service": bool(_active(su)[j])})
    lk = n.links
    if len(lk):
        p = _dense(n, "Link", "p_set", snap)
        eff = lk["efficiency"].astype(float)
        act = _active(lk)
        for j, idx in enumerate(lk.index):
            v = float(p[idx])
            if v == 0.0:
                continue
            loads.append({"id": f"load:link:{idx}", "bus": bid[str(lk.at[idx, "bus0"])], "kind": "link", "p_mw": v,
                          "population": 0.0, "tier": 1, "in_service": bool(act[j])})
            gens.append({"id": f"sgen:link:{idx}", "bus": bid[str(lk.at[idx, "bus1"])], "kind": "link",
                         "p_mw": v * float(eff[idx]), "p_max_mw": max(v * float(eff[idx]), 0.0), "p_min_mw": 0.0,
                         "forms_island": False, "cost_per_mwh": 0.0, "in_service": bool(act[j])})
    ld = n.loads
    if len(ld):
        p = _dense(n, "Load", "p_set", snap)
        act = _active(ld)
        for j, idx in enumerate(ld.index):
            v = float(p[idx])
            loads.append({"id": f"load:{idx}", "bus": bid[str(ld.at[idx, "bus"])], "kind": "load", "p_mw": v,
                          "population": max(v, 0.0) * people_per_mw, "tier": 3, "in_service": bool(act[j])})
    gcols = ["bus", "kind", "p_mw", "p_max_mw", "p_min_mw", "forms_island", "cost_per_mwh", "in_service"]
    lcols = ["bus", "kind", "p_mw", "population", "tier", "in_service"]
    generators = pd.DataFrame(gens, columns=["id", *gcols]).set_index("id")
    loads_df = pd.DataFrame(loads, columns=["id", *lcols]).set_index("id")
    generators.index.name = None
    loads_df.index.name = None
    return make_grid(buses=buses, branches=branches, generators=generators, loads=loads_df,
                     name=name or str(getattr(n, "name", "") or "pypsa"), base_mva=1.0, source=src)


def read_pypsa(path: str | os.PathLike, *, snapshot: Any = None,
               people_per_mw: float = DEFAULT_PEOPLE_PER_MW) -> Grid:
    """Read a PyPSA network file (``.nc`` netCDF, ``.h5`` HDF5) or CSV folder into a :class:`Grid`."""
    import warnings

    import pypsa

    p = Path(path)
    if not p.exists():
        raise GridError("file not found", source=str(p))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            net = pypsa.Network(str(p))
    except Exception as exc:  # pypsa raises many kinds on a bad file
        raise GridError(f"not a readable PyPSA network: {exc}", source=str(p)) from None
    return from_pypsa(net, snapshot=snapshot, name=p.stem, source=str(p), people_per_mw=people_per_mw)
