"""The facility table, declared once as data, and its validation (pure: no files, no grid).

Columns (CSV header; GeoJSON features carry the same keys as properties, with a Point geometry):

==================  =====  ============================================================================
column              unit   meaning
==================  =====  ============================================================================
id                         unique facility id (required)
kind                       hospital, water, heating, telecom, shelter or emergency (required)
name                       human-readable name (default: the id)
bus                        asset id of the bus it hangs on (optional)
load                       asset id of the load it is part of (optional; sets the bus)
lat, lon            deg    position (WGS84); snaps to the nearest bus when neither bus nor load is given
demand_kw           kW     electrical demand
population          people people served
tier                       priority tier, 1 = critical (names: critical, essential, standard, ...)
gen_kw              kW     backup generator rating (0 = none)
fuel_h              h      generator fuel, hours at rated load
fuel_l              l      generator fuel, litres (with fuel_l_per_h; instead of fuel_h)
fuel_l_per_h        l/h    generator consumption at rated load
tank_l              l      tank capacity (with fuel_l_per_h); refuels never hold more (default: the initial fuel)
gen_fail_prob              probability that the generator fails to start, per start
battery_kwh         kWh    battery (UPS) energy
==================  =====  ============================================================================

Missing optional values take the defaults of the facility's kind (:mod:`svitlo.facilities.defaults`): a
missing ``gen_kw`` is the facility's demand when its kind has a generator by default or when fuel is given,
and a missing ``battery_kwh`` is the kind's battery hours times the demand.

Examples
--------
>>> t = validate_facilities(pd.DataFrame({"id": ["h1"], "kind": ["hospital"], "bus": ["bus:1"],
...                                       "fuel_l": [1000.0], "fuel_l_per_h": [50.0]}), source="f.csv")
>>> t.loc[0, ["demand_kw", "gen_kw", "fuel_h"]].astype(float).tolist(), int(t.loc[0, "tier"])
([500.0, 500.0, 20.0], 1)
>>> validate_facilities(pd.DataFrame({"id": ["h1"], "kind": ["hospital"], "fuel_h": [-5]}), source="f.csv")
Traceback (most recent call last):
...
svitlo.errors.FacilityError: f.csv: fuel_h = -5.0: expected a finite number >= 0 (facility 'h1', row 1)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from svitlo.errors import FacilityError
from svitlo.facilities.defaults import FACILITY_KINDS, KIND_DEFAULTS
from svitlo.model.schema import Column, tier_from_name

__all__ = ["FACILITY_COLUMNS", "validate_facilities", "OUTPUT_COLUMNS"]

FACILITY_COLUMNS: tuple[Column, ...] = (
    Column("id", "str", None, "any", "", "unique facility id"),
    Column("kind", "str", None, "any", "", "hospital, water, heating, telecom, shelter or emergency"),
    Column("name", "str", "", "any", "", "human-readable name (default: the id)"),
    Column("bus", "str", "", "any", "", "asset id of the bus (optional)"),
    Column("load", "str", "", "any", "", "asset id of the load the facility is part of (optional)"),
    Column("lat", "float", float("nan"), "any", "deg", "latitude (WGS84)"),
    Column("lon", "float", float("nan"), "any", "deg", "longitude (WGS84)"),
    Column("demand_kw", "float", float("nan"), "positive", "kW", "electrical demand"),
    Column("population", "float", float("nan"), "nonneg", "people", "people served"),
    Column("tier", "int", float("nan"), "ge1", "", "priority tier, 1 = critical"),
    Column("gen_kw", "float", float("nan"), "nonneg", "kW", "backup generator rating (0 = none)"),
    Column("fuel_h", "float", float("nan"), "nonneg", "h", "generator fuel in hours at rated load"),
    Column("fuel_l", "float", float("nan"), "nonneg", "l", "generator fuel in litres"),
    Column("fuel_l_per_h", "float", float("nan"), "positive", "l/h", "generator consumption at rated load"),
    Column("tank_l", "float", float("nan"), "positive", "l",
           "tank capacity (with fuel_l_per_h; refuels fill up to it; default: the initial fuel)"),
    Column("gen_fail_prob", "float", float("nan"), "prob",  # type: ignore[arg-type]  # 0 <= p <= 1
           "", "failure-to-start probability per start"),
    Column("battery_kwh", "float", float("nan"), "nonneg", "kWh", "battery energy"),
)

#: Columns of a validated facility table, in order (``snap_m``: distance to the bus it snapped to, m).
OUTPUT_COLUMNS = [c.name for c in FACILITY_COLUMNS] + ["snap_m"]

_CHECK_TEXT = {"positive": "a finite number > 0", "nonneg": "a finite number >= 0", "ge1": "an integer >= 1",
               "prob": "a probability between 0 and 1"}


def _where(ids: pd.Series, i: int) -> str:
    fid = ids.iloc[i] if i < len(ids) else ""
    return f"(facility {fid!r}, row {i + 1})" if fid else f"(row {i + 1})"


def _plain(v: Any) -> Any:
    if isinstance(v, (np.floating, float)):
        return float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _numeric(df: pd.DataFrame, col: Column, ids: pd.Series, source: str) -> pd.Series:
    raw = df[col.name] if col.name in df.columns else pd.Series([np.nan] * len(df), index=df.index)
    out = np.full(len(raw), np.nan)
    for i, v in enumerate(raw.to_numpy(dtype=object)):
        if v is None or (isinstance(v, str) and not v.strip()):
            continue
        if col.name == "tier" and isinstance(v, str):
            try:
                out[i] = tier_from_name(v)
            except ValueError as exc:
                raise FacilityError(f"{exc} {_where(ids, i)}", source=source, field="tier", value=v) from None
            continue
        try:
            out[i] = float(v)
        except (TypeError, ValueError):
            raise FacilityError(f"expected a number {_where(ids, i)}", source=source, field=col.name,
                                value=v) from None
    given = ~np.isnan(out)
    if col.check == "positive":
        bad = given & ~(np.isfinite(out) & (out > 0))
    elif col.check == "nonneg":
        bad = given & ~(np.isfinite(out) & (out >= 0))
    elif col.check == "ge1":
        bad = given & ~(np.isfinite(out) & (out >= 1) & (out == np.round(out)))
    elif col.check == "prob":
        bad = given & ~((out >= 0) & (out <= 1))
    else:
        bad = np.zeros(len(out), dtype=bool)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise FacilityError(f"expected {_CHECK_TEXT[col.check]} {_where(ids, i)}", source=source, field=col.name,
                            value=_plain(out[i]))
    return pd.Series(out, index=df.index)


def validate_facilities(df: pd.DataFrame, *, source: str = "facilities") -> pd.DataFrame:
    """A clean facility table with per-kind defaults filled in; raise :class:`FacilityError` otherwise.

    Checks ids (present, unique), kinds, numbers (demand > 0, fuel, battery, generator >= 0, probabilities in
    [0, 1], tiers >= 1), lat/lon ranges and fuel given once (``fuel_h`` or ``fuel_l`` + ``fuel_l_per_h``).
    Grid references (bus, load, snapping) are checked by :func:`svitlo.io.facilities.attach_facilities`.
    ``fuel_h`` of the result is always the fuel in hours at rated load.
    """
    if len(df) == 0:
        raise FacilityError("no facilities in the table", source=source)
    for col in ("id", "kind"):
        if col not in df.columns:
            raise FacilityError("required column missing", source=source, field=col)
    known = {c.name for c in FACILITY_COLUMNS}
    extra = [c for c in df.columns if c not in known]
    if extra:
        raise FacilityError(f"unknown column; expected some of {[c.name for c in FACILITY_COLUMNS]}",
                            source=source, field=str(extra[0]))
    df = df.reset_index(drop=True)

    def text(col: str) -> pd.Series:
        if col not in df.columns:
            return pd.Series([""] * len(df))
        return df[col].map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v).strip())

    ids = text("id")
    for i, v in enumerate(ids):
        if not v:
            raise FacilityError(f"missing facility id (row {i + 1})", source=source, field="id", value=v)
    dup = ids[ids.duplicated()]
    if len(dup):
        raise FacilityError("duplicate facility id", source=source, field="id", value=dup.iloc[0])
    kinds = text("kind").str.lower()
    for i, k in enumerate(kinds):
        if k not in FACILITY_KINDS:
            raise FacilityError(f"unknown kind; expected one of {list(FACILITY_KINDS)} {_where(ids, i)}",
                                source=source, field="kind", value=df["kind"].iloc[i])
    out = pd.DataFrame({"id": ids, "kind": kinds})
    names = text("name")
    out["name"] = np.where(names == "", ids, names)
    out["bus"] = text("bus")
    out["load"] = text("load")
    num = {c.name: _numeric(df, c, ids, source) for c in FACILITY_COLUMNS if c.dtype != "str"}
    for col, lo, hi in (("lat", -90, 90), ("lon", -180, 180)):
        v = num[col].to_numpy()
        bad = ~np.isnan(v) & ~((v >= lo) & (v <= hi))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise FacilityError(f"expected degrees in [{lo}, {hi}] {_where(ids, i)}", source=source, field=col,
                                value=float(v[i]))
    d = pd.DataFrame([KIND_DEFAULTS[k] for k in kinds])

    def fill(col: str, default: pd.Series) -> np.ndarray:
        v = num[col].to_numpy()
        return np.where(np.isnan(v), default.to_numpy(float), v)

    out["lat"], out["lon"] = num["lat"].to_numpy(), num["lon"].to_numpy()
    demand = fill("demand_kw", d["demand_kw"])
    out["demand_kw"] = demand
    out["population"] = fill("population", d["population"])
    out["tier"] = fill("tier", d["tier"]).astype(np.int64)
    fh, fl, flh = num["fuel_h"].to_numpy(), num["fuel_l"].to_numpy(), num["fuel_l_per_h"].to_numpy()
    both = ~np.isnan(fh) & ~np.isnan(fl)
    if both.any():
        i = int(np.flatnonzero(both)[0])
        raise FacilityError(f"give fuel_h or fuel_l with fuel_l_per_h, not both {_where(ids, i)}", source=source,
                            field="fuel_l", value=float(fl[i]))
    no_rate = ~np.isnan(fl) & np.isnan(flh)
    if no_rate.any():
        i = int(np.flatnonzero(no_rate)[0])
        raise FacilityError(f"fuel in litres needs fuel_l_per_h (l/h at rated load) {_where(ids, i)}",
                            source=source, field="fuel_l_per_h")
    tank = num["tank_l"].to_numpy()
    no_rate = ~np.isnan(tank) & np.isnan(flh)
    if no_rate.any():
        i = int(np.flatnonzero(no_rate)[0])
        raise FacilityError(f"a tank in litres needs fuel_l_per_h (l/h at rated load) {_where(ids, i)}",
                            source=source, field="fuel_l_per_h")
    fuel_given = ~np.isnan(fh) | ~np.isnan(fl)
    with np.errstate(invalid="ignore", divide="ignore"):
        fuel_h = np.where(~np.isnan(fh), fh, np.where(~np.isnan(fl), fl / flh, d["fuel_h"].to_numpy(float)))
    gen_default = np.where((d["gen_ratio"].to_numpy(float) > 0) | fuel_given,
                           demand * np.maximum(d["gen_ratio"].to_numpy(float), 1.0 * fuel_given), 0.0)
    out["gen_kw"] = np.where(np.isnan(num["gen_kw"].to_numpy()), gen_default, num["gen_kw"].to_numpy())
    out["fuel_h"] = fuel_h
    out["fuel_l"], out["fuel_l_per_h"], out["tank_l"] = fl, flh, tank
    with np.errstate(invalid="ignore"):
        over = ~np.isnan(tank) & (fuel_h * flh > tank * (1 + 1e-12))
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise FacilityError(f"the initial fuel ({fuel_h[i] * flh[i]:g} l) exceeds the tank {_where(ids, i)}",
                            source=source, field="tank_l", value=float(tank[i]))
    out["gen_fail_prob"] = fill("gen_fail_prob", d["gen_fail_prob"])
    out["battery_kwh"] = fill("battery_kwh", d["battery_h"] * demand)
    out["snap_m"] = np.nan
    return out[OUTPUT_COLUMNS]
