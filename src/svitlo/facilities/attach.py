"""Make facility demand a load of its own, carved out of its bus's load, so shedding can spare it.

A facility's demand is *part of* its bus's load, never added to it. :func:`carve_facility_loads` moves each
facility's demand out of a host load into a new load ``load:facility:<id>`` on the same bus, with the
facility's priority tier and no population (the people on the bus stay with the host load). The host is the
load the facility names, or else the largest in-service load on its bus. The bus's total demand is unchanged:
``host.p_mw + facility.p_mw`` equals the host's former demand. When the host has less demand left than the
facility needs (or the bus has no load), only what is there is carved (``grid_load_mw`` says how much); a
facility without a carved load is on grid power whenever its bus is energised.

Examples
--------
>>> import pandas as pd
>>> from svitlo.model.grid import make_grid
>>> g = make_grid(buses=pd.DataFrame(index=["bus:0", "bus:1"]),
...               branches=pd.DataFrame({"from_bus": ["bus:0"], "to_bus": ["bus:1"], "x_pu": [0.1]},
...                                     index=["line:0"]),
...               generators=pd.DataFrame({"bus": ["bus:0"], "p_max_mw": [10.0]}, index=["gen:0"]),
...               loads=pd.DataFrame({"bus": ["bus:1"], "p_mw": [5.0]}, index=["load:0"]))
>>> fac = pd.DataFrame({"id": ["h1"], "bus": ["bus:1"], "load": [""], "demand_kw": [800.0], "tier": [1]})
>>> g2, f2 = carve_facility_loads(g, fac)
>>> g2.loads["p_mw"].round(6).tolist(), f2["grid_load"].tolist()
([4.2, 0.8], ['load:facility:h1'])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from svitlo.model.grid import Grid

__all__ = ["carve_facility_loads", "facility_load_id"]


def facility_load_id(facility_id: str) -> str:
    """Asset id of the load carved for a facility.

    >>> facility_load_id("h1")
    'load:facility:h1'
    """
    return f"load:facility:{facility_id}"


def carve_facility_loads(grid: Grid, fac: pd.DataFrame) -> tuple[Grid, pd.DataFrame]:
    """A new grid whose loads include one carved load per facility, and the facility table with
    ``grid_load`` (carved load id, ``""`` if none) and ``grid_load_mw`` (MW carved) added (pure)."""
    loads = grid.loads.copy()
    p = loads["p_mw"].to_numpy(float).copy()
    ok = loads["in_service"].to_numpy(bool) & (loads["kind"].to_numpy() == "load")
    pos = {lid: i for i, lid in enumerate(loads.index)}
    new_rows, carved_id, carved_mw = [], [], []
    for r in fac.itertuples(index=False):
        host = -1
        if getattr(r, "load", ""):
            host = pos[r.load]
        else:
            cand = np.flatnonzero(ok & (loads["bus"].to_numpy() == r.bus) & (p > 0))
            if cand.size:
                host = int(cand[np.argmax(p[cand])])
        take = min(float(r.demand_kw) / 1000.0, max(p[host], 0.0)) if host >= 0 else 0.0
        if take <= 0:
            carved_id.append("")
            carved_mw.append(0.0)
            continue
        p[host] -= take
        lid = facility_load_id(str(r.id))
        new_rows.append({"bus": r.bus, "kind": "load", "p_mw": take, "population": 0.0, "tier": int(r.tier),
                         "in_service": True, "_host": loads.index[host]})
        carved_id.append(lid)
        carved_mw.append(take)
    out = fac.copy()
    out["grid_load"] = carved_id
    out["grid_load_mw"] = carved_mw
    if not new_rows:
        return grid, out
    loads["p_mw"] = p
    extra = pd.DataFrame(new_rows, index=[i for i in carved_id if i]).drop(columns="_host")
    for col in loads.columns:
        if col not in extra.columns:
            dt = loads[col].dtype
            extra[col] = "" if pd.api.types.is_object_dtype(dt) else (False if pd.api.types.is_bool_dtype(dt) else np.nan)
    return grid.with_tables(loads=pd.concat([loads, extra[loads.columns]])), out

