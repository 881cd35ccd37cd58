"""The grid schema, declared once as data: every table's columns with type, unit, default and meaning.

:func:`validate_table` enforces it at every load boundary (importers, files, user-built tables), so the
engine can trust what it compiles.

Examples
--------
>>> [c.name for c in BRANCHES][:4]
['from_bus', 'to_bus', 'kind', 'x_pu']
>>> describe("branches")["rate_mw"]
'thermal rating used for loading (MW in DC, MVA nameplate); inf = unlimited'
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from svitlo.errors import GridError

__all__ = ["Column", "INERTIA_H_S_BY_KIND", "BUSES", "BRANCHES", "GENERATORS", "LOADS", "TABLES", "validate_table",
           "describe", "TIER_NAMES", "tier_from_name", "MAX_TIER"]

Check = Literal["any", "finite", "nonneg", "positive", "nonzero", "ge1", "nonneg_or_inf", "nonneg_or_nan"]


@dataclass(frozen=True)
class Column:
    """One column of a grid table.

    Attributes
    ----------
    name
        Column name; units are part of the name (``p_mw``, ``x_pu``).
    dtype
        ``"str"``, ``"float"``, ``"int"`` or ``"bool"``.
    default
        Value filled in when the column is absent; ``None`` means the column is required.
    check
        Constraint on values (``"finite"``, ``"nonneg"``, ``"positive"``, ``"nonzero"``, ``"ge1"``,
        ``"nonneg_or_inf"``; ``"any"`` allows NaN).
    unit
        Physical unit, for people.
    doc
        Meaning, for people.
    limits
        ``(low, high)``: finite non-zero values must satisfy ``low <= |value| <= high`` (values outside mean
        nothing physical and break the solvers: a reactance of 1e-300 p.u., a load of 1e308 MW).
    """

    name: str
    dtype: Literal["str", "float", "int", "bool"]
    default: Any
    check: Check
    unit: str
    doc: str
    limits: tuple[float, float] | None = None


#: Largest tier number (each tier beyond 4 weighs ten times less; beyond 99 the weights underflow).
MAX_TIER = 99

#: Load priority tiers: 1 is the most critical, shed last. Names accepted in files.
TIER_NAMES: dict[str, int] = {"critical": 1, "essential": 2, "priority": 2, "standard": 3, "deferrable": 4}


def tier_from_name(value: int | str) -> int:
    """Tier number from a tier name or number (1 = most critical).

    >>> tier_from_name("critical"), tier_from_name(3)
    (1, 3)
    """
    if isinstance(value, str):
        key = value.strip().lower()
        if key in TIER_NAMES:
            return TIER_NAMES[key]
        if key.isdigit():
            value = int(key) if len(key) < 10 else MAX_TIER + 1
        else:
            raise ValueError(f"unknown tier {value!r}; expected one of {sorted(TIER_NAMES)} or an integer >= 1")
    if isinstance(value, float) and not float(value).is_integer():
        raise ValueError(f"tier must be an integer, got {value!r}")
    if not 1 <= int(value) <= MAX_TIER:
        raise ValueError(f"tier must be an integer from 1 to {MAX_TIER}")
    return int(value)


#: Largest power (MW) any grid value may take: a terawatt is beyond any grid.
_MW = 1e6

#: Default inertia constant per generator kind (s on ``p_max``): synchronous units 4 s (typical thermal and hydro
#: units, 2-9 s; Kundur, *Power System Stability and Control*, 1994, Table 3.2); an external grid stands for an
#: interconnection that holds frequency (inf); inverter-based sources and storage carry none unless declared.
INERTIA_H_S_BY_KIND: dict[str, float] = {"gen": 4.0, "ext_grid": float("inf"), "sgen": 0.0, "storage": 0.0}

BUSES: tuple[Column, ...] = (
    Column("name", "str", "", "any", "", "human-readable name"),
    Column("vn_kv", "float", float("nan"), "any", "kV", "nominal voltage"),
    Column("lat", "float", float("nan"), "any", "deg", "latitude (WGS84), NaN when unknown"),
    Column("lon", "float", float("nan"), "any", "deg", "longitude (WGS84), NaN when unknown"),
    Column("in_service", "bool", True, "any", "", "bus available before any strike"),
)

BRANCHES: tuple[Column, ...] = (
    Column("from_bus", "str", None, "any", "", "id of the from bus"),
    Column("to_bus", "str", None, "any", "", "id of the to bus"),
    Column("kind", "str", "line", "any", "", "line, trafo, impedance or branch"),
    Column("x_pu", "float", None, "nonzero", "p.u. on base_mva", "series reactance", (1e-6, 1e6)),
    Column("tap_ratio", "float", 1.0, "positive", "", "off-nominal tap ratio (1 = nominal)", (1e-2, 1e2)),
    Column("shift_deg", "float", 0.0, "finite", "deg", "phase shift angle", (0.0, 360.0)),
    Column("rate_mw", "float", float("inf"), "nonneg_or_inf", "MW",
           "thermal rating used for loading (MW in DC, MVA nameplate); inf = unlimited", (0.0, _MW)),
    Column("length_km", "float", float("nan"), "any", "km", "line length, NaN when unknown"),
    Column("in_service", "bool", True, "any", "", "branch closed before any strike"),
)

GENERATORS: tuple[Column, ...] = (
    Column("bus", "str", None, "any", "", "id of the bus"),
    Column("kind", "str", "gen", "any", "", "gen, sgen, ext_grid or storage"),
    Column("p_mw", "float", 0.0, "finite", "MW", "scheduled output before any strike", (0.0, _MW)),
    Column("p_max_mw", "float", None, "nonneg_or_inf", "MW", "available capacity", (0.0, _MW)),
    Column("p_min_mw", "float", 0.0, "finite", "MW",
           "minimum output (used by opf); negative on an external grid: its export limit", (0.0, _MW)),
    Column("forms_island", "bool", True, "any", "",
           "can form and hold an island (synchronous units, external grids); inverter-based sources cannot"),
    Column("cost_per_mwh", "float", 0.0, "finite", "currency/MWh",
           "linear cost coefficient c1 (cost per hour = c2 P^2 + c1 P + c0; svitlo.model.costs)", (0.0, 1e9)),
    Column("cost_per_mw2h", "float", 0.0, "nonneg", "currency/(MW^2 h)", "quadratic cost coefficient c2 (convex)"),
    Column("cost_fixed_per_h", "float", 0.0, "finite", "currency/h", "constant cost c0 while the unit is online"),
    Column("cost_pwl", "str", "", "any", "MW, currency/h",
           "piecewise-linear cost as JSON [[p_mw, cost_per_h], ...] (convex); replaces the polynomial when set"),
    Column("black_start", "bool", False, "any", "",
           "can energise a dark island on its own (external grids always can: reconnection to an interconnection)"),
    Column("inertia_h_s", "float", float("nan"), "nonneg_or_nan", "s",
           "inertia constant on p_max (stored energy H p_max, MW s); NaN = default of the kind "
           "(INERTIA_H_S_BY_KIND); inf = holds frequency (an interconnection)"),
    Column("in_service", "bool", True, "any", "", "available before any strike"),
)

LOADS: tuple[Column, ...] = (
    Column("bus", "str", None, "any", "", "id of the bus"),
    Column("kind", "str", "load", "any", "", "load or shunt"),
    Column("p_mw", "float", None, "finite", "MW", "demand", (0.0, _MW)),
    Column("population", "float", 0.0, "nonneg", "people", "people or customers served", (0.0, 1e10)),
    Column("tier", "int", 3, "ge1", "", "priority tier: 1 = critical (shed last), larger = shed first",
           (1.0, float(MAX_TIER))),
    Column("in_service", "bool", True, "any", "", "connected before any strike"),
)

TABLES: dict[str, tuple[Column, ...]] = {
    "buses": BUSES, "branches": BRANCHES, "generators": GENERATORS, "loads": LOADS,
}


def describe(table: str) -> dict[str, str]:
    """Column name to meaning for one table (for people and docs)."""
    return {c.name: c.doc for c in TABLES[table]}


_CHECK_TEXT = {
    "finite": "a finite number",
    "nonneg": "a finite number >= 0",
    "positive": "a finite number > 0",
    "nonzero": "a finite non-zero number",
    "ge1": "an integer >= 1",
    "nonneg_or_inf": "a number >= 0 (inf = unlimited)",
    "nonneg_or_nan": "a number >= 0 or NaN (default)",
}


def _bad_mask(values: np.ndarray, check: Check) -> np.ndarray:
    if check == "any":
        return np.zeros(len(values), dtype=bool)
    v = values.astype(float)
    if check == "finite":
        return ~np.isfinite(v)
    if check == "nonneg":
        return ~(np.isfinite(v) & (v >= 0))
    if check == "positive":
        return ~(np.isfinite(v) & (v > 0))
    if check == "nonzero":
        return ~(np.isfinite(v) & (v != 0))
    if check == "ge1":
        return ~(np.isfinite(v) & (v >= 1))
    if check == "nonneg_or_inf":
        return np.isnan(v) | (v < 0)
    if check == "nonneg_or_nan":
        return v < 0
    raise AssertionError(check)


def validate_table(df: pd.DataFrame, table: str, *, source: str = "grid") -> pd.DataFrame:
    """Return a clean copy of ``df`` that follows the schema of ``table``; raise :class:`GridError` otherwise.

    The index holds asset ids (strings ``kind:key``) and must be unique. Missing optional columns get their
    default; extra columns are kept untouched.

    Parameters
    ----------
    df
        The table, indexed by asset id.
    table
        ``"buses"``, ``"branches"``, ``"generators"`` or ``"loads"``.
    source
        Where the table came from, for error messages.

    Examples
    --------
    >>> t = pd.DataFrame({"bus": ["bus:1"], "p_mw": [5.0]}, index=["load:1"])
    >>> validate_table(t, "loads")["tier"].tolist()
    [3]
    >>> validate_table(t.assign(p_mw=float("nan")), "loads", source="x.json")
    Traceback (most recent call last):
    ...
    svitlo.errors.GridError: x.json: loads.p_mw = nan: expected a finite number (row 'load:1')
    """
    columns = TABLES[table]
    out = df.copy()
    out.index = out.index.map(str)
    if out.index.has_duplicates:
        dup = out.index[out.index.duplicated()][0]
        raise GridError("duplicate asset id", source=source, field=f"{table}.id", value=dup)
    for col in columns:
        if col.name not in out.columns:
            if col.default is None:
                raise GridError("required column missing", source=source, field=f"{table}.{col.name}")
            out[col.name] = col.default
        series = out[col.name]
        try:
            if col.dtype == "str":
                series = series.fillna("").astype(str)
            elif col.dtype == "float":
                series = pd.to_numeric(series, errors="raise").astype(float)
            elif col.dtype == "int":
                num = pd.to_numeric(series, errors="raise").astype(float)
                bad = ~np.isfinite(num.to_numpy()) | (num.to_numpy() != np.round(num.to_numpy()))
                if bad.any():
                    i = int(np.flatnonzero(bad)[0])
                    raise GridError(f"expected an integer (row {out.index[i]!r})", source=source,
                                    field=f"{table}.{col.name}", value=series.iloc[i])
                series = num.astype(np.int64)
            elif col.dtype == "bool":
                series = series.fillna(False).astype(bool)
        except (TypeError, ValueError) as exc:
            if isinstance(exc, GridError):
                raise
            raise GridError(f"cannot read as {col.dtype}: {exc}", source=source, field=f"{table}.{col.name}") from None
        bad = _bad_mask(series.to_numpy(), col.check)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            value = series.iloc[i]
            raise GridError(f"expected {_CHECK_TEXT[col.check]} (row {out.index[i]!r})", source=source,
                            field=f"{table}.{col.name}", value=_plain(value))
        if col.limits is not None:
            lo, hi = col.limits
            mag = np.abs(series.to_numpy(float))
            out_of = np.isfinite(mag) & (mag != 0) & ((mag < lo) | (mag > hi))
            if out_of.any():
                i = int(np.flatnonzero(out_of)[0])
                rng = f"|value| <= {hi:g}" if lo == 0 else f"{lo:g} <= |value| <= {hi:g}"
                raise GridError(f"out of the physically meaningful range {rng} {col.unit} (row {out.index[i]!r})",
                                source=source, field=f"{table}.{col.name}", value=_plain(series.iloc[i]))
        out[col.name] = series
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        f = float(value)
        return f if not math.isnan(f) else float("nan")
    if isinstance(value, np.integer):
        return int(value)
    return value
