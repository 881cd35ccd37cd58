"""Row schemas as data: the columns an analysis stores per row, each with its Arrow type, unit and meaning.

Examples
--------
>>> rows = RowSchema("scenarios", (Column("scenario", "int64", "", "row key"),
...                                Column("shed_mw", "float64", "MW", "load shed")))
>>> rows.arrow().names, rows.names
(['scenario', 'shed_mw'], ('scenario', 'shed_mw'))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Column", "RowSchema"]

_TYPES = ("int32", "int64", "float64", "bool", "string", "list<string>")


@dataclass(frozen=True)
class Column:
    """One stored column: ``name`` (unit in the name), ``dtype`` (one of ``int32, int64, float64, bool, string,
    list<string>``), ``unit`` and ``meaning``."""

    name: str
    dtype: str
    unit: str = ""
    meaning: str = ""

    def __post_init__(self) -> None:
        if self.dtype not in _TYPES:
            raise ValueError(f"column {self.name!r}: dtype {self.dtype!r} not one of {_TYPES}")

    def arrow_type(self) -> Any:
        import pyarrow as pa

        return {"int32": pa.int32(), "int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(),
                "string": pa.string(), "list<string>": pa.list_(pa.string())}[self.dtype]


@dataclass(frozen=True)
class RowSchema:
    """The rows of one table of a run: its ``table`` name (the DuckDB view) and its columns in order."""

    table: str
    columns: tuple[Column, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def arrow(self) -> Any:
        """The :class:`pyarrow.Schema` of the rows."""
        import pyarrow as pa

        return pa.schema([pa.field(c.name, c.arrow_type()) for c in self.columns])

    def numeric(self) -> tuple[str, ...]:
        """Names of the numeric columns."""
        return tuple(c.name for c in self.columns if c.dtype in ("int32", "int64", "float64"))
