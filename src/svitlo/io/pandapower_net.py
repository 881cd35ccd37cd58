"""Import a pandapower network into a svitlo :class:`~svitlo.model.grid.Grid`.

Branch parameters (per-unit reactance, tap ratio, phase shift, rating) are taken from pandapower's own
conversion to its internal case (``_pd2ppc``), so transformer models, parallel lines and switches mean exactly
what they mean in pandapower. Buses fused by closed bus-bus switches become one svitlo bus (the lowest index
names it; the others are aliases). Generators and loads are read from the element tables. An ``ext_grid``
imports up to ``max_p_mw`` and exports down to ``min_p_mw`` (negative); a missing limit is unbounded
(``p_max_mw = inf``, ``p_min_mw = -UNBOUNDED_EXPORT_MW``).

Asset ids: ``bus:<index>``, ``line:<index>``, ``trafo:<index>``, ``impedance:<index>``, ``gen:<index>``,
``sgen:<index>``, ``ext_grid:<index>``, ``storage:<index>``, ``load:<index>``, ``shunt:<index>``.
"""

from __future__ import annotations

import copy
import json
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from svitlo.errors import GridError
from svitlo.model.costs import pwl_to_text
from svitlo.model.grid import Grid, make_grid

__all__ = ["check_json_references", "from_pandapower", "DEFAULT_PEOPLE_PER_MW", "UNBOUNDED_EXPORT_MW"]

#: People served per MW of load when a source carries no population: an indicative default (about 2.3 people
#: per household and a mixed residential/commercial average draw near 1.1 kW per household). Override per
#: scenario with ``people_per_mw``.
DEFAULT_PEOPLE_PER_MW = 2000.0

#: Export limit (MW) given to an ``ext_grid`` without ``min_p_mw``: unbounded in practice, as a missing
#: ``max_p_mw`` is unbounded import (``p_min_mw`` must be finite; 1e6 MW is the largest grid value accepted).
UNBOUNDED_EXPORT_MW = 1e6

_SUPPORTED_BRANCHES = {"line": ("from_bus", "to_bus"), "trafo": ("hv_bus", "lv_bus"),
                       "impedance": ("from_bus", "to_bus")}
_UNSUPPORTED = ("trafo3w", "dcline", "ward", "xward", "svc", "tcsc", "ssc", "vsc")


#: Element columns that name a bus (pandapower indexes arrays by them without bounds checks).
_BUS_COLUMNS = {"line": ("from_bus", "to_bus"), "trafo": ("hv_bus", "lv_bus"), "impedance": ("from_bus", "to_bus"),
                "gen": ("bus",), "sgen": ("bus",), "load": ("bus",), "ext_grid": ("bus",), "shunt": ("bus",),
                "storage": ("bus",), "motor": ("bus",), "switch": ("bus",)}
#: Largest bus index read (pandapower sizes its lookup arrays by the largest index).
MAX_BUS_INDEX = 10_000_000


def _check_references(net: Any, source: str) -> None:
    """Every bus index an integer in 0 … :data:`MAX_BUS_INDEX`, and every element's bus one of them.

    pandapower's compiled helpers index arrays by these numbers without checking them: a line to bus 10**9 or
    to a bus that is not in the table crashed the process (segmentation fault) instead of raising.
    """
    idx = net.bus.index
    v = pd.to_numeric(pd.Series(idx), errors="coerce").to_numpy(float)
    bad = ~np.isfinite(v) | (v != np.round(v)) | (v < 0) | (v > MAX_BUS_INDEX)
    if bad.any():
        raise GridError(f"expected bus indices 0 … {MAX_BUS_INDEX:,}", source=source, field="bus.index",
                        value=idx[int(np.flatnonzero(bad)[0])])
    if idx.has_duplicates:
        raise GridError("duplicate bus index", source=source, field="bus.index",
                        value=idx[idx.duplicated()][0])
    known = set(v.astype(np.int64).tolist())
    for table, cols in _BUS_COLUMNS.items():
        df = getattr(net, table, None) if table in net else None
        if not isinstance(df, pd.DataFrame) or not len(df):
            continue
        for col in cols:
            if col not in df.columns:
                raise GridError("column missing", source=source, field=f"{table}.{col}")
            w = pd.to_numeric(df[col], errors="coerce").to_numpy(float)
            ok = np.isfinite(w) & (w == np.round(w))
            ok[ok] = [int(x) in known for x in w[ok]]
            if not ok.all():
                i = int(np.flatnonzero(~ok)[0])
                raise GridError(f"not a bus of the network ({table} {df.index[i]})", source=source,
                                field=f"{table}.{col}", value=df[col].iloc[i])
    sw = getattr(net, "switch", None) if "switch" in net else None
    if isinstance(sw, pd.DataFrame) and len(sw) and {"et", "element"} <= set(sw.columns):
        targets = {"b": known, "l": set(net.line.index.tolist()) if "line" in net else set(),
                   "t": set(net.trafo.index.tolist()) if "trafo" in net else set()}
        for i, (et, el) in enumerate(zip(sw["et"], sw["element"])):
            ok = et in targets
            try:
                ok = ok and float(el) == int(el) and int(el) in targets[et]
            except (TypeError, ValueError, OverflowError):
                ok = False
            if not ok and et in ("b", "l", "t"):
                raise GridError(f"switch {sw.index[i]} names no {dict(b='bus', l='line', t='trafo')[et]} of the "
                                "network", source=source, field="switch.element", value=el)


def check_json_references(doc: Any, source: str) -> None:
    """The bus references of a parsed pandapower JSON document, checked before pandapower reads it.

    pandapower's reader casts these columns to fixed-width integers, so a reference like ``2**40`` would reach
    svitlo as ``0`` (a real bus) and the network would be silently rewired. Values outside 0 …
    :data:`MAX_BUS_INDEX` are refused here, naming table, column and value; anything else is left to
    :func:`from_pandapower`'s checks on the frames.

    >>> check_json_references({"_object": {"line": {"_object": '{"columns": ["from_bus"], "data": [[1099511627776]]}'}}},
    ...                       "g.json")
    Traceback (most recent call last):
    ...
    svitlo.errors.GridError: g.json: line.from_bus = 1099511627776: expected a bus index 0 … 10,000,000
    """
    obj = doc.get("_object", doc) if isinstance(doc, dict) else None
    if not isinstance(obj, dict):
        return
    for table, cols in _BUS_COLUMNS.items():
        entry = obj.get(table)
        raw = entry.get("_object") if isinstance(entry, dict) else None
        if not isinstance(raw, str):
            continue
        try:
            frame = json.loads(raw)
        except (ValueError, RecursionError):
            continue  # pandapower names a frame it cannot read
        if not isinstance(frame, dict) or not isinstance(frame.get("columns"), list):
            continue
        data = frame.get("data")
        rows: list[Any] = data if isinstance(data, list) else []
        for col in cols:
            if col not in frame["columns"]:
                continue
            j = frame["columns"].index(col)
            for row in rows:
                v = row[j] if isinstance(row, list) and j < len(row) else None
                if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) \
                        and v == int(v) and not 0 <= v <= MAX_BUS_INDEX:
                    raise GridError(f"expected a bus index 0 … {MAX_BUS_INDEX:,}", source=source,
                                    field=f"{table}.{col}", value=v)


def _ppc_of(net: Any, source: str) -> tuple[dict, dict, Any]:
    import pandapower as pp

    work = copy.deepcopy(net)
    try:
        with warnings.catch_warnings():  # pandapower's own deprecation notes on old bundled nets
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", FutureWarning)
            pp.rundcpp(work, check_connectivity=False)
    except Exception as exc:  # pandapower raises many kinds; name the source
        raise GridError(f"pandapower could not convert the network: {exc}", source=source) from None
    return work._ppc, work._pd2ppc_lookups, work


def _geo(bus: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    lat = np.full(len(bus), np.nan)
    lon = np.full(len(bus), np.nan)
    if "geo" in bus.columns:
        for i, g in enumerate(bus["geo"].to_numpy()):
            if isinstance(g, str) and g:
                try:
                    c = json.loads(g).get("coordinates")
                    lon[i], lat[i] = float(c[0]), float(c[1])
                except (ValueError, TypeError, IndexError, AttributeError):
                    pass
    return lat, lon


def from_pandapower(net: Any, *, name: str | None = None, source: str | None = None,
                    people_per_mw: float = DEFAULT_PEOPLE_PER_MW, geographic: bool = True) -> Grid:
    """Convert a pandapower net (left unchanged) into a validated :class:`Grid`.

    Parameters
    ----------
    net
        A ``pandapowerNet``.
    name
        Grid name (default: the net's name).
    source
        Where the net came from, for error messages.
    people_per_mw
        Population attributed per MW of load (people/MW).
    geographic
        Read bus ``geo`` points as WGS84 longitude/latitude (GeoJSON's convention). Pass False for nets whose
        coordinates are only plotting positions (most of pandapower's bundled transmission cases); buses then have
        no lat/lon. Points outside [-90, 90] x [-180, 180] are never read as lat/lon.

    Examples
    --------
    >>> import pandapower.networks as pn
    >>> g = from_pandapower(pn.case9(), name="case9")
    >>> e = g.generators.loc["ext_grid:0"]
    >>> e["kind"], bool(e["forms_island"]), float(e["p_max_mw"])
    ('ext_grid', True, 250.0)
    """
    src = source or name or str(getattr(net, "name", "") or "pandapower net")
    for table in _UNSUPPORTED:
        df = getattr(net, table, None) if table in net else None
        if df is not None and len(df) and bool(df.get("in_service", pd.Series(True, index=df.index)).any()):
            raise GridError(f"element table {table!r} is not supported yet; remove or replace it", source=src,
                            field=table, value=len(df))
    if len(net.bus) == 0:
        raise GridError("empty grid: no buses", source=src, field="bus")
    _check_references(net, src)
    ppc, lookups, work = _ppc_of(net, src)
    base_mva = float(ppc["baseMVA"])
    bus_lookup = np.asarray(lookups["bus"])
    pp_bus_idx = net.bus.index.to_numpy()
    ppc_of_bus = bus_lookup[pp_bus_idx]
    # canonical pandapower bus per ppc bus: the lowest index in each fused group
    order = np.lexsort((pp_bus_idx, ppc_of_bus))
    canon: dict[int, int] = {}
    for i in order:
        canon.setdefault(int(ppc_of_bus[i]), int(pp_bus_idx[i]))
    bus_id = {int(b): f"bus:{canon[int(p)]}" for b, p in zip(pp_bus_idx, ppc_of_bus)}
    aliases = {f"bus:{b}": bid for b, bid in bus_id.items() if f"bus:{b}" != bid}
    lat, lon = _geo(net.bus)
    if not geographic or np.any(np.abs(lat[np.isfinite(lat)]) > 90) or np.any(np.abs(lon[np.isfinite(lon)]) > 180):
        lat = np.full(len(net.bus), np.nan)
        lon = np.full(len(net.bus), np.nan)
    keep = np.array([f"bus:{b}" == bus_id[int(b)] for b in pp_bus_idx])
    in_service_group: dict[str, bool] = {}
    for b, ok in zip(pp_bus_idx, net.bus["in_service"].to_numpy(bool)):
        in_service_group[bus_id[int(b)]] = in_service_group.get(bus_id[int(b)], False) or bool(ok)
    buses = pd.DataFrame({
        "name": net.bus["name"].astype(object).where(net.bus["name"].notna(), "").astype(str).to_numpy()[keep],
        "vn_kv": net.bus["vn_kv"].to_numpy(float)[keep],
        "lat": lat[keep], "lon": lon[keep],
    }, index=[f"bus:{b}" for b in pp_bus_idx[keep]])
    buses["in_service"] = [in_service_group[i] for i in buses.index]

    ppc_br = np.asarray(ppc["branch"])
    open_sw = net.switch[(~net.switch["closed"].astype(bool))] if len(net.switch) else net.switch
    rows: list[dict[str, Any]] = []
    ids: list[str] = []
    for kind, (fcol, tcol) in _SUPPORTED_BRANCHES.items():
        df = getattr(net, kind) if kind in net else None
        if df is None or len(df) == 0:
            continue
        start, stop = lookups["branch"][kind]
        block = ppc_br[start:stop]
        et = {"line": "l", "trafo": "t"}.get(kind)
        opened = set(open_sw.loc[open_sw["et"] == et, "element"].astype(int)) if et and len(open_sw) else set()
        for j, (idx, row) in enumerate(df.iterrows()):
            r = block[j]
            x = float(np.real(r[3]))
            tap = float(np.real(r[8])) or 1.0
            rate = float(np.real(r[5]))
            if _no_rating_placeholder(kind, row):
                rate = 0.0  # pandapower's converter stand-in for "no rating" (MATPOWER RATE_A = 0)
            rows.append({
                "from_bus": bus_id[int(row[fcol])], "to_bus": bus_id[int(row[tcol])], "kind": kind,
                "x_pu": x, "tap_ratio": tap, "shift_deg": float(np.real(r[9])),
                "rate_mw": rate if rate > 0 else math.inf,
                "length_km": float(row["length_km"]) if kind == "line" else math.nan,
                "in_service": bool(row["in_service"]) and int(idx) not in opened,
            })
            ids.append(f"{kind}:{idx}")
    branches = pd.DataFrame(rows, index=ids, columns=["from_bus", "to_bus", "kind", "x_pu", "tap_ratio",
                                                      "shift_deg", "rate_mw", "length_km", "in_service"])
    # pandapower writes x = 0 branches (bus-bus like impedances) only for parallel corner cases; reject clearly
    gens = _generators(net, bus_id)
    loads = _loads(net, bus_id, people_per_mw)
    return make_grid(buses=buses, branches=branches, generators=gens, loads=loads,
                     name=name or str(getattr(net, "name", "") or "pandapower"), base_mva=base_mva,
                     aliases=aliases, source=src, source_net=work)


def _no_rating_placeholder(kind: str, row: pd.Series) -> bool:
    """True when a branch's rating is the placeholder pandapower's MATPOWER converter writes for RATE_A = 0:
    ``max_i_ka = 99999`` for lines, ``sn_mva = 99999`` (or 99.999, the same number from its former kVA units, as
    in the bundled PEGASE and RTE cases) for transformers and impedances."""
    if kind == "line":
        return float(row.get("max_i_ka", 0.0)) >= 99999.0
    sn = float(row.get("sn_mva", 0.0))
    return bool(np.isclose(sn, 99999.0) or np.isclose(sn, 99.999, rtol=0.0, atol=1e-9))


def _col(df: pd.DataFrame, name: str, default: float) -> np.ndarray:
    if name in df.columns:
        return pd.to_numeric(df[name], errors="coerce").to_numpy(float)
    return np.full(len(df), default)


def _generators(net: Any, bus_id: dict[int, str]) -> pd.DataFrame:
    parts = []
    cost = _costs(net)
    for kind, forms in (("gen", True), ("ext_grid", True), ("sgen", False), ("storage", False)):
        df = getattr(net, kind) if kind in net else None
        if df is None or len(df) == 0:
            continue
        scaling = _col(df, "scaling", 1.0)
        scaling = np.where(np.isfinite(scaling), scaling, 1.0)
        if kind == "ext_grid":
            p = np.zeros(len(df))
            pmax = _col(df, "max_p_mw", math.inf)
            pmax = np.where(np.isfinite(pmax), pmax, math.inf)
            pmin = _col(df, "min_p_mw", math.nan)  # no limit: unbounded export, as unbounded import above
            pmin = np.where(np.isfinite(pmin), pmin, -UNBOUNDED_EXPORT_MW)
        elif kind == "storage":
            # storage discharging is negative load in pandapower; treat a storage unit as a source of up to
            # its rated discharge power
            p = np.zeros(len(df))
            pmax = np.abs(_col(df, "max_p_mw", 0.0))
            pmax = np.where(np.isfinite(pmax), pmax, 0.0)
            pmin = np.zeros(len(df))
        else:
            p = _col(df, "p_mw", 0.0) * scaling
            pmax = _col(df, "max_p_mw", math.nan)
            pmax = np.where(np.isfinite(pmax), pmax, np.maximum(p, 0.0))
            pmin = _col(df, "min_p_mw", 0.0)
        pmin = np.where(np.isfinite(pmin), pmin, 0.0)
        ids = [f"{kind}:{i}" for i in df.index]
        parts.append(pd.DataFrame({
            "bus": [bus_id[int(b)] for b in df["bus"]], "kind": kind, "p_mw": p,
            "p_max_mw": np.maximum(pmax, 0.0), "p_min_mw": np.minimum(pmin, np.maximum(pmax, 0.0)),
            "forms_island": forms,
            **{col: [cost.get(i, {}).get(col, dflt) for i in ids] for col, dflt in
               (("cost_per_mwh", 0.0), ("cost_per_mw2h", 0.0), ("cost_fixed_per_h", 0.0), ("cost_pwl", ""))},
            "in_service": df["in_service"].to_numpy(bool),
        }, index=ids))
    if not parts:
        return pd.DataFrame(columns=["bus", "p_max_mw"])
    return pd.concat(parts)


def _costs(net: Any) -> dict[str, dict[str, Any]]:
    """Active-power cost curves by generator id from ``poly_cost`` (cp2, cp1, cp0) and ``pwl_cost``.

    pandapower's ``pwl_cost.points`` are ``[[p0, p1, slope], [p1, p2, slope], ...]`` (slope in currency/MWh
    between p0 and p1); the curve is 0 at the first point, as pandapower integrates it.
    """
    out: dict[str, dict[str, Any]] = {}

    def num(v: Any) -> float:
        f = float(v)
        return f if np.isfinite(f) else 0.0

    if "poly_cost" in net and len(net.poly_cost):
        pc = net.poly_cost
        z = pd.Series(0.0, index=pc.index)
        for et, el, c2, c1, c0 in zip(pc["et"], pc["element"], pc.get("cp2_eur_per_mw2", z),
                                      pc.get("cp1_eur_per_mw", z), pc.get("cp0_eur", z)):
            out[f"{et}:{int(el)}"] = {"cost_per_mw2h": num(c2), "cost_per_mwh": num(c1), "cost_fixed_per_h": num(c0)}
    if "pwl_cost" in net and len(net.pwl_cost):
        for _, row in net.pwl_cost.iterrows():
            if str(row.get("power_type", "p")) != "p":
                continue
            seg = np.asarray(row["points"], dtype=float).reshape(-1, 3)
            p = np.concatenate([seg[:, 0], seg[-1:, 1]])
            c = np.concatenate([[0.0], np.cumsum(seg[:, 2] * (seg[:, 1] - seg[:, 0]))])
            out[f"{row['et']}:{int(row['element'])}"] = {"cost_pwl": pwl_to_text(p, c)}
    return out


def _loads(net: Any, bus_id: dict[int, str], people_per_mw: float) -> pd.DataFrame:
    parts = []
    if len(net.load):
        df = net.load
        scaling = _col(df, "scaling", 1.0)
        p = _col(df, "p_mw", 0.0) * np.where(np.isfinite(scaling), scaling, 1.0)
        parts.append(pd.DataFrame({
            "bus": [bus_id[int(b)] for b in df["bus"]], "kind": "load", "p_mw": p,
            "population": np.maximum(p, 0.0) * people_per_mw, "tier": 3,
            "in_service": df["in_service"].to_numpy(bool),
        }, index=[f"load:{i}" for i in df.index]))
    if "shunt" in net and len(net.shunt):
        df = net.shunt
        step = _col(df, "step", 1.0)
        p = _col(df, "p_mw", 0.0) * np.where(np.isfinite(step), step, 1.0)
        nz = p != 0
        if nz.any():
            parts.append(pd.DataFrame({
                "bus": [bus_id[int(b)] for b in df["bus"][nz]], "kind": "shunt", "p_mw": p[nz],
                "population": 0.0, "tier": 3, "in_service": df["in_service"].to_numpy(bool)[nz],
            }, index=[f"shunt:{i}" for i in df.index[nz]]))
    if not parts:
        return pd.DataFrame(columns=["bus", "p_mw"])
    return pd.concat(parts)
