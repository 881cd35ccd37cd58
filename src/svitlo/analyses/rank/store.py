"""The run store of an analysis other than a sweep: a run folder with a run id, parts written atomically,
the done parts listed, every row read back through DuckDB.

This is the small interface rank (and harden) write against; underneath it is the sweep's
:class:`~svitlo.analyses.sweep.store.RunStore` (manifest, atomic parts, lock, resume). A run is identified by
a hash of everything that decides its rows (``key``); a folder holding another run is refused.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from svitlo.analyses.sweep.plan import chunk_bounds
from svitlo.analyses.sweep.store import PARTS_DIR, RunStore

__all__ = ["open_store", "read_rows", "AnalysisPlan"]


@dataclass(frozen=True)
class AnalysisPlan:
    """What a run computes (the fields a :class:`RunStore` manifest holds); ``run_id`` hashes ``key``."""

    n: int
    chunk_size: int
    key_json: str
    grid_fingerprint: str = ""
    engine_version: str = ""
    root_seed: int = 0

    @property
    def scenario_json(self) -> str:
        return self.key_json

    @property
    def run_id(self) -> str:
        k = {"key": json.loads(self.key_json), "n": self.n, "grid": self.grid_fingerprint,
             "engine": self.engine_version}
        return hashlib.sha256(json.dumps(k, sort_keys=True).encode()).hexdigest()[:20]

    @property
    def chunks(self) -> list[tuple[int, int]]:
        return chunk_bounds(self.n, chunk_size=self.chunk_size)


def open_store(path: str | os.PathLike, *, key: dict[str, Any], n: int, chunk_size: int,
               grid_fingerprint: str = "", info: dict[str, Any] | None = None) -> RunStore:
    """Create or reopen (to resume) the run folder of an analysis run of ``n`` rows in parts of ``chunk_size``.

    ``key`` (JSON-able) holds everything that decides the rows; with svitlo's version, ``n`` and the grid
    fingerprint it forms the run id. Use as a context manager (it holds the folder's write lock).
    """
    from svitlo import __version__

    plan = AnalysisPlan(n=int(n), chunk_size=int(chunk_size), key_json=json.dumps(key, sort_keys=True),
                        grid_fingerprint=grid_fingerprint, engine_version=f"{__version__}+batch")
    return RunStore.prepare(path, plan, info=info)  # type: ignore[arg-type]


def read_rows(path: str | os.PathLike, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    """Run a parameterised DuckDB query over the run's rows (a view named ``rows``)."""
    import duckdb

    con = duckdb.connect()
    glob = str(Path(path) / PARTS_DIR / "part-*.parquet").replace("'", "''")
    con.execute(f"CREATE VIEW rows AS SELECT * FROM read_parquet('{glob}')")
    return con.execute(sql, params or []).df()
