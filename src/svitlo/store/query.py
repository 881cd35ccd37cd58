"""Query a run folder's rows with DuckDB — parameterised only: column names are checked against the row schema,
values are bound as parameters, and no SQL text comes from callers.

Examples
--------
>>> import tempfile, pyarrow as pa
>>> from svitlo.store.runstore import RunSpec, RunStore
>>> from svitlo.store.schema import Column, RowSchema
>>> rows = RowSchema("scenarios", (Column("scenario", "int64"), Column("shed_mw", "float64", "MW")))
>>> d = tempfile.mkdtemp()
>>> with RunStore.prepare(d, RunSpec(format="demo/1", run_id="x", n=3, chunk_size=3)) as st:
...     _ = st.write_part(0, pa.table({"scenario": [0, 1, 2], "shed_mw": [0.0, 5.0, 2.0]}))
>>> select(d, rows, filters=[("shed_mw", ">", 1.0)], order_by=["shed_mw"], descending=True)["scenario"].tolist()
[1, 2]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from svitlo.errors import InputError, MissingDependencyError
from svitlo.store.runstore import PARTS_DIR, read_manifest
from svitlo.store.schema import RowSchema

__all__ = ["connect", "select", "Filter", "OPERATORS"]

#: A filter: ``(column, operator, value)``; ``value`` is always bound as a parameter.
Filter = tuple[str, str, Any]
#: Comparison operators of :func:`select` filters (``contains``: a list column holds the value).
OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "contains")


def connect(run_dir: str | os.PathLike, rows: RowSchema, *, formats: tuple[str, ...] | None = None,
            what: str = "run") -> Any:
    """An in-memory DuckDB connection with a view ``rows.table`` over the run's part files (empty, with the
    declared columns, while no part exists)."""
    try:
        import duckdb
    except ImportError:  # pragma: no cover - depends on the environment
        raise MissingDependencyError("querying a run store needs DuckDB", extra="sweep") from None
    d = Path(run_dir)
    read_manifest(d, formats=formats, what=what)
    con = duckdb.connect()
    parts = sorted((d / PARTS_DIR).glob("part-*.parquet")) if (d / PARTS_DIR).is_dir() else []
    if parts:
        glob = str(d / PARTS_DIR / "part-*.parquet").replace("'", "''")
        con.execute(f"CREATE VIEW {_ident(rows.table)} AS SELECT * FROM read_parquet('{glob}')")
    else:
        con.register("_no_rows", rows.arrow().empty_table())
        con.execute(f"CREATE VIEW {_ident(rows.table)} AS SELECT * FROM _no_rows")
    return con


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise InputError("not a plain column or table name", field="column", value=name)
    return f'"{name}"'


def select(run_dir: str | os.PathLike, rows: RowSchema, *, columns: Sequence[str] | None = None,
           filters: Sequence[Filter] = (), order_by: Sequence[str] = (), descending: bool = False,
           limit: int | None = None, con: Any = None, formats: tuple[str, ...] | None = None) -> pd.DataFrame:
    """Rows of a run as a DataFrame: some ``columns`` (default all), rows matching every filter, ordered by
    ``order_by`` (then by the first column), at most ``limit`` rows.

    Unknown columns or operators are an :class:`~svitlo.errors.InputError`; values are bound as parameters.
    """
    names = set(rows.names)
    cols = list(columns) if columns else list(rows.names)
    for c in [*cols, *order_by, *(f[0] for f in filters)]:
        if c not in names:
            raise InputError(f"unknown column; expected one of {sorted(names)}", field="column", value=c)
    where, params = [], []
    for c, op, v in filters:
        if op not in OPERATORS:
            raise InputError(f"unknown operator; expected one of {list(OPERATORS)}", field="operator", value=op)
        where.append(f"list_contains({_ident(c)}, ?)" if op == "contains" else f"{_ident(c)} {op} ?")
        params.append(v)
    if limit is not None and (int(limit) < 0 or int(limit) > 2**62):
        raise InputError("must be between 0 and 2**62", field="limit", value=limit)
    direction = " DESC" if descending else ""
    keys = [f"{_ident(c)}{direction}" for c in order_by] + [_ident(rows.names[0])]
    sql = (f"SELECT {', '.join(_ident(c) for c in cols)} FROM {_ident(rows.table)}"
           + (f" WHERE {' AND '.join(where)}" if where else "") + f" ORDER BY {', '.join(keys)}"
           + (" LIMIT ?" if limit is not None else ""))
    if limit is not None:
        params.append(int(limit))
    c = con if con is not None else connect(run_dir, rows, formats=formats)
    return c.execute(sql, params).df()
