"""The run store of rank (and harden): a run folder with a run id, parts written atomically, the done parts
listed, every row read back through DuckDB — a thin layer over :class:`svitlo.store.RunStore`.

A run is identified by a hash of everything that decides its rows (``key``); a folder holding another run
is refused.

Examples
--------
>>> import tempfile, pyarrow as pa
>>> d = tempfile.mkdtemp()
>>> with open_store(d, key={"analysis": "demo"}, n=3, chunk_size=2) as st:
...     _ = st.write_part(0, pa.table({"scenario": [0, 1], "v": [1.0, 2.0]}))
...     sorted(st.done_chunks())
[0]
>>> read_rows(d, "SELECT sum(v) AS s FROM rows")["s"].tolist()
[3.0]
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from svitlo.store import PARTS_DIR, RunSpec, RunStore

__all__ = ["open_store", "read_rows", "RANK_FORMAT"]

#: Store format of rank runs.
RANK_FORMAT = "svitlo-rank/1"


def open_store(path: str | os.PathLike, *, key: dict[str, Any], n: int, chunk_size: int,
               grid_fingerprint: str = "", info: dict[str, Any] | None = None,
               files: tuple[str, ...] = ()) -> RunStore:
    """Create or reopen (to resume) the run folder of a run of ``n`` rows in parts of ``chunk_size``.

    ``key`` (JSON-able) holds everything that decides the rows; with svitlo's version, ``n`` and the grid
    fingerprint it forms the run id. Use as a context manager (it holds the folder's write lock).
    """
    from svitlo._version import __version__

    ident = {"key": key, "n": int(n), "grid": grid_fingerprint, "engine": f"{__version__}+batch"}
    run_id = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:20]
    spec = RunSpec(format=RANK_FORMAT, run_id=run_id, n=int(n), chunk_size=int(chunk_size),
                   identity={"grid": grid_fingerprint, "engine": ident["engine"]}, files=files)
    return RunStore.prepare(path, spec, info=info)


def read_rows(path: str | os.PathLike, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    """Run a parameterised DuckDB query over the run's rows (a view named ``rows``)."""
    import duckdb

    con = duckdb.connect()
    glob = str(Path(path) / PARTS_DIR / "part-*.parquet").replace("'", "''")
    con.execute(f"CREATE VIEW rows AS SELECT * FROM read_parquet('{glob}')")
    return con.execute(sql, params or []).df()
