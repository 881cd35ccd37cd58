"""Read facility tables (CSV, GeoJSON, inline lists) and attach them to a grid's buses.

A facility hangs on a bus: the one it names (``bus``), the bus of the load it names (``load``), or — when it
names neither — the bus nearest to its ``lat``/``lon`` (haversine distance; the distance is kept as
``snap_m``). A lat/lon farther than ``margin_km`` (default :data:`SNAP_MARGIN_KM`) from the bounding box of the
grid's bus coordinates is an error: it is almost always a typo or swapped coordinates. A facility with a bus but
no lat/lon takes its bus's coordinates.

Examples
--------
>>> import svitlo
>>> g = svitlo.load_grid("mv_oberrhein")
>>> f = load_facilities([{"id": "h1", "kind": "hospital", "lat": 48.41, "lon": 7.78}], g)
>>> f.loc[0, "bus"], bool(f.loc[0, "snap_m"] < 500)
('bus:1', True)
>>> load_facilities([{"id": "h1", "kind": "hospital", "lat": 50.45, "lon": 30.52}], g, source="f.csv")
Traceback (most recent call last):
...
svitlo.errors.FacilityError: f.csv: lat/lon = (50.45, 30.52): lies 1640.2 km outside the area of the grid's buses (allowed margin 5.0 km) (facility 'h1', row 1)
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from svitlo.errors import FacilityError, GridError
from svitlo.facilities.schema import validate_facilities
from svitlo.model.grid import Grid, asset_kind
from svitlo.scenarios.geo import haversine_m

__all__ = ["load_facilities", "read_facility_file", "parse_geojson", "attach_facilities", "SNAP_MARGIN_KM"]

#: How far (km) a facility may lie outside the bounding box of the grid's bus coordinates.
SNAP_MARGIN_KM = 5.0


def parse_geojson(data: Any, *, source: str = "facilities.geojson") -> pd.DataFrame:
    """A raw facility table from a GeoJSON FeatureCollection of Point features (pure).

    >>> parse_geojson({"type": "FeatureCollection", "features": [{"geometry": "POINT (7 48)"}]}, source="f.geojson")
    Traceback (most recent call last):
    ...
    svitlo.errors.FacilityError: f.geojson: features[0].geometry = 'POINT (7 48)': expected a GeoJSON Point object
    """
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise FacilityError("expected a GeoJSON FeatureCollection", source=source, field="type",
                            value=data.get("type") if isinstance(data, dict) else type(data).__name__)
    features = data.get("features")
    if features is None:
        features = []
    if not isinstance(features, list):
        raise FacilityError("expected a list of features", source=source, field="features", value=features)
    rows = []
    for i, feat in enumerate(features):
        if not isinstance(feat, dict):
            raise FacilityError("expected a Feature object", source=source, field=f"features[{i}]", value=feat)
        geom = feat.get("geometry")
        if not isinstance(geom, dict):
            raise FacilityError("expected a GeoJSON Point object", source=source, field=f"features[{i}].geometry",
                                value=geom)
        if geom.get("type") != "Point":
            raise FacilityError("expected a Point geometry", source=source, field=f"features[{i}].geometry.type",
                                value=geom.get("type"))
        coords = geom.get("coordinates")
        if (not isinstance(coords, list) or len(coords) < 2
                or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in coords[:2])):
            raise FacilityError("expected [lon, lat] coordinates (numbers)", source=source,
                                field=f"features[{i}].geometry.coordinates", value=coords)
        props = feat.get("properties")
        if props is None:
            props = {}
        if not isinstance(props, dict):
            raise FacilityError("expected an object of facility fields", source=source,
                                field=f"features[{i}].properties", value=props)
        props = dict(props)
        props.setdefault("lon", coords[0])
        props.setdefault("lat", coords[1])
        rows.append(props)
    return pd.DataFrame(rows)


def read_facility_file(path: str | os.PathLike) -> pd.DataFrame:
    """A raw facility table from a ``.csv`` or ``.geojson``/``.json`` file (UTF-8, within the limits of
    :mod:`svitlo.io.text`)."""
    from svitlo.io.text import load_json, read_text

    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".csv", ".geojson", ".json"):
        read_text(p, error=FacilityError)  # a missing file says so first
        raise FacilityError("cannot tell the file format; expected .csv or .geojson", source=str(p))
    text = read_text(p, error=FacilityError)
    if suffix == ".csv":
        try:
            return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise FacilityError(f"not a readable CSV file: {exc}", source=str(p)) from None
    return parse_geojson(load_json(text, source=str(p), error=FacilityError), source=str(p))


def _resolve(grid: Grid, aid: str, table: str, source: str, field: str, where: str) -> str:
    try:
        canon = grid.resolve(aid)
    except GridError:
        canon = ""
    if not canon or asset_kind(canon) not in (("bus",) if table == "buses" else ("load", "shunt")):
        what = "bus" if table == "buses" else "load"
        raise FacilityError(f"refers to a {what} that does not exist in grid {grid.name!r} {where}",
                            source=source, field=field, value=aid)
    return canon


def _bbox_distance_m(lat: float, lon: float, blat: np.ndarray, blon: np.ndarray) -> float:
    """Distance (m) from a point to the lat/lon bounding box of the buses (0 inside)."""
    clat = float(np.clip(lat, blat.min(), blat.max()))
    clon = float(np.clip(lon, blon.min(), blon.max()))
    return float(haversine_m(lat, lon, clat, clon))


def attach_facilities(fac: pd.DataFrame, grid: Grid, *, source: str = "facilities",
                      margin_km: float = SNAP_MARGIN_KM) -> pd.DataFrame:
    """Resolve every facility's bus (by bus, load or nearest bus to lat/lon) and fill lat/lon (pure).

    Raises :class:`FacilityError` for a bus or load not in the grid, a load on another bus than the one given,
    a facility with neither bus, load nor lat/lon, or a lat/lon outside the grid's area.
    """
    out = fac.copy()
    buses = grid.buses
    has = np.isfinite(buses["lat"].to_numpy(float)) & np.isfinite(buses["lon"].to_numpy(float))
    blat, blon = buses["lat"].to_numpy(float)[has], buses["lon"].to_numpy(float)[has]
    bus_ids = buses.index.to_numpy()[has]
    for i in range(len(out)):
        where = f"(facility {out.at[i, 'id']!r}, row {i + 1})"
        bus, load = out.at[i, "bus"], out.at[i, "load"]
        lat, lon = float(out.at[i, "lat"]), float(out.at[i, "lon"])
        if np.isnan(lat) != np.isnan(lon):
            raise FacilityError(f"give both lat and lon, or neither {where}", source=source, field="lat/lon",
                                value=(lat, lon))
        if not np.isnan(lat) and has.any():
            gap = _bbox_distance_m(lat, lon, blat, blon)
            if gap > margin_km * 1000.0:
                raise FacilityError(f"lies {gap / 1000:.1f} km outside the area of the grid's buses (allowed margin "
                                    f"{margin_km} km) {where}", source=source, field="lat/lon", value=(lat, lon))
        if load:
            load = _resolve(grid, load, "loads", source, "load", where)
            lbus = str(grid.loads.at[load, "bus"])
            if bus and _resolve(grid, bus, "buses", source, "bus", where) != lbus:
                raise FacilityError(f"bus does not match the bus of load {load!r} ({lbus}) {where}", source=source,
                                    field="bus", value=bus)
            bus = lbus
        elif bus:
            bus = _resolve(grid, bus, "buses", source, "bus", where)
        elif not np.isnan(lat):
            if not has.any():
                raise FacilityError(f"grid {grid.name!r} has no bus coordinates to snap to; give a bus {where}",
                                    source=source, field="bus")
            d = haversine_m(lat, lon, blat, blon)
            j = int(np.argmin(d))
            bus = str(bus_ids[j])
            out.at[i, "snap_m"] = float(d[j])
        else:
            raise FacilityError(f"needs a bus, a load or lat/lon {where}", source=source, field="bus")
        out.at[i, "bus"], out.at[i, "load"] = bus, load
        if np.isnan(lat):
            out.at[i, "lat"] = float(buses.at[bus, "lat"])
            out.at[i, "lon"] = float(buses.at[bus, "lon"])
    return out


def load_facilities(spec: str | os.PathLike | Sequence[dict[str, Any]] | pd.DataFrame, grid: Grid, *,
                    base_dir: str | os.PathLike | None = None, source: str | None = None,
                    margin_km: float = SNAP_MARGIN_KM) -> pd.DataFrame:
    """Read, validate and attach a facility table.

    Parameters
    ----------
    spec
        A ``.csv`` or ``.geojson`` path (relative to ``base_dir``), a list of dicts (inline YAML) or a table.
    grid
        The grid the facilities hang on.
    source
        Name used in error messages (default: the file path, or ``"facilities"``).
    margin_km
        How far (km) a facility may lie outside the bounding box of the bus coordinates.

    Returns
    -------
    pandas.DataFrame
        One row per facility, columns :data:`svitlo.facilities.schema.OUTPUT_COLUMNS`, ``bus`` resolved to a
        canonical bus id and ``fuel_h`` in hours at rated load.
    """
    if isinstance(spec, (str, os.PathLike)):
        p = Path(spec)
        if base_dir is not None and not p.is_absolute():
            p = Path(base_dir) / p
        raw = read_facility_file(p)
        src = source or str(p)
    elif isinstance(spec, pd.DataFrame):
        raw, src = spec, source or "facilities"
    else:
        items = list(spec)
        bad = [i for i, r in enumerate(items) if not isinstance(r, dict)]
        if bad:
            raise FacilityError("expected a mapping of facility fields", source=source or "facilities",
                                field=f"facilities[{bad[0]}]", value=items[bad[0]])
        raw, src = pd.DataFrame(items), source or "facilities"
    fac = validate_facilities(raw, source=src)
    return attach_facilities(fac, grid, source=src, margin_km=margin_km)
