"""Read a sweep run folder back: manifest, per-scenario rows and aggregates as DataFrames (DuckDB underneath).

Examples
--------
>>> import tempfile
>>> from svitlo.analyses.sweep.run import sweep
>>> d = tempfile.mkdtemp()
>>> _ = sweep({"grid": "case9", "strikes": [{"random": {"k": 1}}]}, n=12, out=d)
>>> t = report_tables(d, top=3)
>>> sorted(t)
['assets', 'metrics', 'risk_curve', 'worst']
>>> int(t["risk_curve"]["exceedance_probability"].iloc[-1])
0
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from svitlo.analyses.sweep import aggregate as agg
from svitlo.analyses.sweep.plan import read_sweep_manifest
from svitlo.errors import InputError

__all__ = ["SweepRun", "open_run", "report_tables"]


@dataclass(frozen=True)
class SweepRun:
    """A sweep run folder opened for reading (see :func:`open_run`)."""

    path: Path
    manifest: dict[str, Any]

    @property
    def n(self) -> int:
        """Scenarios planned."""
        return int(self.manifest["n"])

    @property
    def complete(self) -> bool:
        """All ``n`` scenarios stored and the aggregates written."""
        return bool(self.manifest.get("complete"))

    def rows(self) -> int:
        """Scenarios stored so far."""
        return agg.count_rows(self.path)

    def scenarios(self, **kw: Any) -> pd.DataFrame:
        """Per-scenario rows (see :func:`svitlo.analyses.sweep.aggregate.scenarios`)."""
        return agg.scenarios(self.path, **kw)

    def metrics(self) -> pd.DataFrame:
        """Quantiles of every metric."""
        return agg.metric_summary(self.path)

    def worst(self, *, by: str = "shed_mw", k: int = 10) -> pd.DataFrame:
        """The ``k`` worst scenarios by ``by``."""
        return agg.worst_scenarios(self.path, by=by, k=k)

    def risk_curve(self, *, metric: str = "shed_mw", points: int = 41) -> pd.DataFrame:
        """Exceedance probability of ``metric``."""
        return agg.risk_curve(self.path, metric=metric, points=points)

    def assets(self, *, top: int | None = None) -> pd.DataFrame:
        """Per-asset loss probability and shed when lost, ranked: what to protect first."""
        return agg.asset_risk(self.path, top=top)

    def facilities(self) -> pd.DataFrame:
        """Per facility: probability of losing grid supply (empty without facilities)."""
        return agg.facility_risk(self.path)

    def connect(self) -> Any:
        """A DuckDB connection with the view ``scenarios``, for your own queries."""
        return agg.connect(self.path)


def open_run(path: str | os.PathLike) -> SweepRun:
    """Open a run folder written by :func:`svitlo.analyses.sweep.sweep` (``StoreError`` if it is not one)."""
    p = Path(path)
    return SweepRun(path=p, manifest=read_sweep_manifest(p))


#: Most rows asked of a report table (``top``) and most risk-curve points (``points``).
MAX_TOP = 100_000
MAX_POINTS = 10_000


def report_tables(path: str | os.PathLike, *, top: int = 10, points: int = 11) -> dict[str, pd.DataFrame]:
    """The tables of a sweep report: ``metrics`` (quantiles), ``worst`` scenarios, ``risk_curve`` points
    (shed MW and people without power), ``assets`` to protect first (``top`` rows each) and, when the
    scenario has facilities, ``facilities`` (all of them, most often without grid first).

    ``top`` is at most :data:`MAX_TOP` and ``points`` from 2 to :data:`MAX_POINTS`."""
    for name, v, lo, hi in (("top", top, 1, MAX_TOP), ("points", points, 2, MAX_POINTS)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
            raise InputError(f"expected an integer from {lo} to {hi:,}", field=name, value=v)
    run = open_run(path)
    curves = pd.concat([run.risk_curve(metric=m, points=points) for m in agg.RISK_METRICS], ignore_index=True)
    out = {"metrics": run.metrics(), "worst": run.worst(k=top), "risk_curve": curves,
           "assets": run.assets(top=top)}
    if (run.path / agg.FACILITY_TABLE).is_file():
        out["facilities"] = run.facilities()
    return out
