"""Exhaustive N-1 and N-2 screening, streamed through the run store (resumable, exactly C(n, k) rows).

Set number ``r`` of the C(n, k) sets of ``k`` candidates is the ``r``-th in lexicographic order
(``(0, 1), (0, 2), …, (1, 2), …``), rebuilt from ``r`` alone (:func:`sets_at`), so any chunk is computed on its
own and a killed run resumes by computing only its missing parts.

Examples
--------
>>> sets_at(4, 2, 0, 6).tolist()
[[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
>>> sets_at(4, 2, 4, 6).tolist()
[[1, 3], [2, 3]]
"""

from __future__ import annotations

import io
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from svitlo.analyses.rank.pairs import PairPlan, evaluate_pairs, pair_plan
from svitlo.analyses.rank.sets import Candidates, evaluate_sets
from svitlo.analyses.rank.store import open_store, read_rows
from svitlo.analyses.sweep.evaluate import SweepContext
from svitlo.analyses.sweep.plan import grid_fingerprint
from svitlo.errors import ScenarioError

__all__ = ["sets_at", "screen", "ScreenOutcome", "ROW_SCHEMA", "CANDIDATES_FILE", "worst_rows", "pair_stats"]

#: One row per evaluated set (units in names; ``asset_1`` is -1 for N-1).
ROW_SCHEMA = pa.schema([
    pa.field("scenario", pa.int64()), pa.field("asset_0", pa.int32()), pa.field("asset_1", pa.int32()),
    pa.field("shed_mw", pa.float64()), pa.field("weighted_shed_mw", pa.float64()),
    pa.field("people_without_power", pa.float64()), pa.field("facilities_without_grid", pa.int32()),
    pa.field("islands", pa.int32()), pa.field("exact", pa.bool_()),
])
#: The candidate list of a run (position = the ``asset_*`` numbers of its rows).
CANDIDATES_FILE = "candidates.parquet"


def sets_at(n: int, k: int, start: int, stop: int) -> np.ndarray:
    """Sets ``start`` … ``stop - 1`` of the C(n, k) sets of ``k`` ∈ {1, 2} out of ``n``, lexicographic."""
    r = np.arange(start, stop, dtype=np.int64)
    if k == 1:
        return r[:, None]
    if k != 2:
        raise ScenarioError("exhaustive screening covers k = 1 and 2", field="k", value=k)
    i = np.arange(n, dtype=np.int64)
    first = i * (2 * n - i - 1) // 2  # rank of (i, i + 1)
    a = np.searchsorted(first, r, side="right") - 1
    b = r - first[a] + a + 1
    return np.stack([a, b], axis=1)


@dataclass(frozen=True)
class ScreenOutcome:
    """A screening run: its folder, ``n`` rows in all, ``computed`` by this call in ``seconds``."""

    path: Path
    run_id: str
    n: int
    computed: int
    seconds: float


def _rows(ctx: SweepContext, cand: Candidates, k: int, start: int, stop: int, plan: PairPlan | None = None
          ) -> pa.Table:
    combos = sets_at(cand.n, k, start, stop)
    m = evaluate_pairs(ctx, cand, combos, plan) if k == 2 else evaluate_sets(ctx, cand, combos)
    return pa.table({
        "scenario": np.arange(start, stop, dtype=np.int64), "asset_0": combos[:, 0].astype(np.int32),
        "asset_1": (combos[:, 1] if k == 2 else np.full(stop - start, -1)).astype(np.int32),
        "shed_mw": m["shed_mw"], "weighted_shed_mw": m["weighted_shed_mw"],
        "people_without_power": m["people_without_power"],
        "facilities_without_grid": m["facilities_without_grid"].astype(np.int32),
        "islands": m["islands"].astype(np.int32), "exact": m["exact"]}, schema=ROW_SCHEMA)


def screen(ctx: SweepContext, cand: Candidates, k: int, *, out: str | os.PathLike, key: dict[str, Any],
           chunk_size: int | None = None, progress: Callable[[int, int], None] | None = None) -> ScreenOutcome:
    """Evaluate all C(n, k) sets of ``k`` ∈ {1, 2} candidates into the run folder ``out`` (or resume it).

    ``key`` describes the run (scenario, kinds, …) for its run id; ``progress(done, total)`` is called after
    every stored part. Pairs of branches in the ``balance`` mode are screened by
    :mod:`svitlo.analyses.rank.pairs` (only the pairs that split the grid are solved; same rows).
    """
    n = math.comb(cand.n, k)
    if k not in (1, 2) or n < 1:
        raise ScenarioError(f"exhaustive screening needs k in (1, 2) and at most {cand.n} candidates",
                            field="k", value=k)
    cs = int(chunk_size or min(100_000, max(1024, -(-n // 100))))
    t0 = time.perf_counter()
    computed = 0
    with open_store(out, key={**key, "k": k, "candidates": cand.ids.tolist()}, n=n, chunk_size=cs,
                    grid_fingerprint=grid_fingerprint(ctx.cg), info={"analysis": "rank", "k": k},
                    files=(CANDIDATES_FILE,)) as st:
        buf = io.BytesIO()
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"position": np.arange(cand.n, dtype=np.int32), "id": cand.ids.tolist()}), buf)
        st.write_file(CANDIDATES_FILE, buf.getvalue())
        done = st.done_chunks()
        plan = pair_plan(ctx, cand) if k == 2 and len(done) < st.n_chunks else None
        stored = sum(st.chunk_range(c)[1] - st.chunk_range(c)[0] for c in done)
        for c in range(st.n_chunks):
            if c in done:
                continue
            a, b = st.chunk_range(c)
            st.write_part(c, _rows(ctx, cand, k, a, b, plan))
            computed += b - a
            stored += b - a
            if progress:
                progress(stored, n)
        st.update_manifest(complete=True)
        return ScreenOutcome(path=st.path, run_id=st.manifest["run_id"], n=n, computed=computed,
                             seconds=time.perf_counter() - t0)


def worst_rows(path: str | os.PathLike, metric: str, top: int):
    """The ``top`` rows of a screening run with the largest ``metric`` (ties: lower set number first)."""
    if metric not in ROW_SCHEMA.names:
        raise ScenarioError("unknown metric", field="metric", value=metric)
    return read_rows(path, f"SELECT * FROM rows ORDER BY {metric} DESC, scenario LIMIT ?", [int(top)])


def pair_stats(path: str | os.PathLike, metric: str):
    """Per candidate position of an N-2 run: ``n2_worst`` and ``n2_mean`` of ``metric`` over the pairs holding it."""
    if metric not in ROW_SCHEMA.names:
        raise ScenarioError("unknown metric", field="metric", value=metric)
    return read_rows(path, f"""
        SELECT a AS position, max(v) AS n2_worst, avg(v) AS n2_mean FROM (
            SELECT asset_0 AS a, {metric} AS v FROM rows UNION ALL
            SELECT asset_1 AS a, {metric} AS v FROM rows WHERE asset_1 >= 0) GROUP BY a""")
