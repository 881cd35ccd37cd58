"""The labelled grid: four validated tables (buses, branches, generators, loads) indexed by asset id.

Asset ids are strings ``kind:key`` (``bus:7``, ``line:3``, ``gen:2``). The tables are for people; the engine
works on :class:`svitlo.model.compiled.CompiledGrid`, built once by :func:`compile_grid`.

Examples
--------
>>> import pandas as pd
>>> g = make_grid(
...     buses=pd.DataFrame(index=["bus:1", "bus:2"]),
...     branches=pd.DataFrame({"from_bus": ["bus:1"], "to_bus": ["bus:2"], "x_pu": [0.1]}, index=["line:0"]),
...     generators=pd.DataFrame({"bus": ["bus:1"], "p_mw": [10.0], "p_max_mw": [50.0]}, index=["gen:0"]),
...     loads=pd.DataFrame({"bus": ["bus:2"], "p_mw": [10.0]}, index=["load:0"]),
...     name="two-bus")
>>> g.summary()
{'name': 'two-bus', 'buses': 2, 'branches': 1, 'generators': 1, 'loads': 1, 'load_mw': 10.0}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from svitlo.errors import GridError
from svitlo.model.schema import validate_table

__all__ = ["Grid", "make_grid", "ASSET_KINDS", "asset_kind"]

#: Asset kinds by the table they live in.
ASSET_KINDS: dict[str, str] = {
    "bus": "buses",
    "line": "branches", "trafo": "branches", "impedance": "branches", "branch": "branches",
    "gen": "generators", "sgen": "generators", "ext_grid": "generators", "storage": "generators",
    "load": "loads", "shunt": "loads",
}


def asset_kind(asset_id: str) -> str:
    """The kind of an asset id (the part before the first colon).

    >>> asset_kind("trafo:12")
    'trafo'
    """
    return asset_id.split(":", 1)[0]


@dataclass(frozen=True, eq=False)
class Grid:
    """A validated power grid. Build it with :func:`make_grid` or an importer in :mod:`svitlo.io`.

    Attributes
    ----------
    name
        Case name, for reports.
    base_mva
        System base (MVA) of the per-unit reactances.
    buses, branches, generators, loads
        Tables indexed by asset id; columns as declared in :mod:`svitlo.model.schema`.
    aliases
        Other ids that name the same asset (e.g. buses fused by closed bus-bus switches) -> canonical id.
    source_net
        The pandapower network the grid was imported from (the importer's own copy; treat it as read-only),
        used by the AC check; None for other sources.
    """

    name: str
    base_mva: float
    buses: pd.DataFrame
    branches: pd.DataFrame
    generators: pd.DataFrame
    loads: pd.DataFrame
    aliases: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    source_net: Any = field(default=None, repr=False)

    def summary(self) -> dict[str, object]:
        """Counts and total load (MW) of the in-service grid."""
        return {
            "name": self.name,
            "buses": int(len(self.buses)),
            "branches": int(len(self.branches)),
            "generators": int(len(self.generators)),
            "loads": int(len(self.loads)),
            "load_mw": round(float(self.loads.loc[self.loads["in_service"], "p_mw"].sum()), 6),
        }

    def resolve(self, asset_id: str) -> str:
        """Canonical id of ``asset_id`` (following aliases); raises :class:`GridError` if unknown."""
        aid = str(asset_id).strip()
        aid = self.aliases.get(aid, aid)
        table = ASSET_KINDS.get(asset_kind(aid))
        if table is None or aid not in getattr(self, table).index:
            raise GridError(
                "unknown asset id; expected 'kind:key' with kind in "
                f"{sorted(set(ASSET_KINDS))} naming an asset of grid {self.name!r}",
                field="asset", value=asset_id)
        return aid

    def with_tables(self, **tables: pd.DataFrame) -> "Grid":
        """A new grid with some tables replaced (validated again)."""
        kw = {k: getattr(self, k) for k in ("buses", "branches", "generators", "loads")}
        kw.update(tables)
        return make_grid(**kw, name=self.name, base_mva=self.base_mva, aliases=dict(self.aliases),
                         source_net=self.source_net)


def make_grid(*, buses: pd.DataFrame, branches: pd.DataFrame, generators: pd.DataFrame, loads: pd.DataFrame,
              name: str = "grid", base_mva: float = 100.0, aliases: Mapping[str, str] | None = None,
              source: str | None = None, source_net: Any = None) -> Grid:
    """Validate four tables against the schema and their cross references, and return a :class:`Grid`.

    Raises
    ------
    GridError
        On a missing column, a bad value (NaN reactance, negative rating, ...), a duplicate id, a reference
        to a bus that does not exist, or an empty grid.
    """
    src = source or name
    try:
        base = float(base_mva)
    except (TypeError, ValueError):
        base = float("nan")
    if not (math.isfinite(base) and 0 < base <= 1e6):
        raise GridError("expected a finite system base, 0 < base_mva <= 1e6 MVA", source=src, field="base_mva",
                        value=base_mva)
    buses = validate_table(buses, "buses", source=src)
    if len(buses) == 0:
        raise GridError("empty grid: no buses", source=src, field="buses")
    branches = validate_table(branches, "branches", source=src)
    generators = validate_table(generators, "generators", source=src)
    loads = validate_table(loads, "loads", source=src)
    known = set(buses.index)
    for table, df, cols in (("branches", branches, ("from_bus", "to_bus")), ("generators", generators, ("bus",)),
                            ("loads", loads, ("bus",))):
        for col in cols:
            missing = ~df[col].isin(known)
            if missing.any():
                row = df.index[missing.to_numpy().nonzero()[0][0]]
                raise GridError(f"refers to a bus that does not exist (row {row!r})", source=src,
                                field=f"{table}.{col}", value=df.at[row, col])
    for table, df in (("buses", buses), ("branches", branches), ("generators", generators), ("loads", loads)):
        kinds = {asset_kind(i) for i in df.index}
        bad = [k for k in kinds if ASSET_KINDS.get(k) != table]
        if bad:
            raise GridError(f"asset id kind {bad[0]!r} does not belong in this table; expected ids like "
                            f"{[k + ':1' for k, t in ASSET_KINDS.items() if t == table]}",
                            source=src, field=f"{table}.id")
    return Grid(name=name, base_mva=base, buses=buses, branches=branches, generators=generators,
                loads=loads, aliases=MappingProxyType(dict(aliases or {})), source_net=source_net)
