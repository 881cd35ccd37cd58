"""Query a sweep's result store with DuckDB: metric quantiles, worst scenarios, risk curves, assets to protect.

Every function takes a run folder and returns a :class:`pandas.DataFrame`; DuckDB streams over the Parquet
part files, so nothing holds all rows in memory. They work on a partial (still running or killed) run too:
the rows present are the scenarios computed so far.

Per-asset figures count an asset as *lost* in a scenario when a strike destroys it directly (a destroyed bus
also takes its branches, generators and loads, which are not counted separately).

Examples
--------
>>> import tempfile
>>> from svitlo.analyses.sweep.run import sweep
>>> d = sweep({"grid": "case14", "strikes": [{"random": {"k": 2}}]}, n=50, out=tempfile.mkdtemp()).path
>>> s = metric_summary(d).set_index("metric")
>>> bool(s.loc["shed_mw", "p95"] <= s.loc["shed_mw", "max"])
True
>>> rc = risk_curve(d, metric="shed_mw", points=5)
>>> bool(rc["exceedance_probability"].is_monotonic_decreasing)
True
>>> int(asset_risk(d)["times_lost"].sum())  # two assets lost in each of 50 scenarios
100
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from svitlo.analyses.sweep.plan import READ_FORMATS, read_sweep_manifest
from svitlo.errors import StoreError
from svitlo.store.query import Filter, select
from svitlo.store.query import connect as store_connect

__all__ = ["connect", "count_rows", "scenarios", "metric_summary", "worst_scenarios", "risk_curve",
           "asset_risk", "facility_risk", "verify_rows", "FACILITY_TABLE", "SUMMARY_METRICS", "RISK_METRICS"]

#: Metrics summarised by :func:`metric_summary`.
SUMMARY_METRICS = ("shed_mw", "weighted_shed_mw", "people_without_power", "served_mw", "islands",
                   "energised_islands", "overloaded_branches", "max_loading_percent", "destroyed_assets")
#: Metrics with a risk (exceedance) curve.
RISK_METRICS = ("shed_mw", "people_without_power")
_QUANTILES = (0.05, 0.5, 0.95, 0.99)
_TAIL_LEVELS = (0.5, 0.2, 0.1, 0.05, 0.01, 0.001, 0.0001)
#: The scenario's facility table, stored in the run folder when the scenario has facilities.
FACILITY_TABLE = "facility_table.parquet"
_FACILITY_INFO = ("kind", "name", "bus", "tier", "population", "demand_kw", "gen_kw", "fuel_h", "battery_kwh")


def connect(run_dir: str | os.PathLike) -> Any:
    """An in-memory DuckDB connection with a view ``scenarios`` over the run's part files."""
    from svitlo.analyses.sweep.evaluate import SWEEP_ROWS

    return store_connect(run_dir, SWEEP_ROWS, formats=READ_FORMATS, what="sweep run")


def _df(con: Any, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).df()


def count_rows(run_dir: str | os.PathLike) -> int:
    """Scenarios stored so far."""
    con = connect(run_dir)
    return int(con.execute("SELECT count(*) FROM scenarios").fetchall()[0][0])


def scenarios(run_dir: str | os.PathLike, *, columns: list[str] | None = None,
              filters: Sequence[Filter] = (), limit: int | None = None) -> pd.DataFrame:
    """Per-scenario rows ordered by ``scenario``: optionally some ``columns``, ``filters`` as
    ``(column, operator, value)`` tuples (values bound as parameters, see :func:`svitlo.store.select`) and a
    ``limit``.

    >>> import tempfile
    >>> from svitlo.analyses.sweep.run import sweep
    >>> d = sweep({"grid": "case9", "strikes": [{"random": {"k": 1}}]}, n=6, out=tempfile.mkdtemp()).path
    >>> len(scenarios(d, filters=[("destroyed_assets", "=", 1)], columns=["scenario"]))
    6
    """
    from svitlo.analyses.sweep.evaluate import SWEEP_ROWS

    return select(run_dir, SWEEP_ROWS, columns=columns, filters=filters, limit=limit, con=connect(run_dir))


def metric_summary(run_dir: str | os.PathLike) -> pd.DataFrame:
    """One row per metric: mean, std, min, p05, p50, p95, p99, max (quantiles interpolated)."""
    con = connect(run_dir)
    rows = []
    for m in SUMMARY_METRICS:
        qs = ", ".join(f'quantile_cont("{m}", {q})' for q in _QUANTILES)
        r = con.execute(f'SELECT avg("{m}"), stddev_samp("{m}"), min("{m}"), {qs}, max("{m}") '
                        "FROM scenarios").fetchall()[0]
        rows.append([m, *r])
    df = pd.DataFrame(rows, columns=["metric", "mean", "std", "min", "p05", "p50", "p95", "p99", "max"])
    stats = df.columns[1:]
    df[stats] = df[stats].apply(pd.to_numeric, errors="coerce").astype(float)  # NULL (no rows) -> NaN
    return df


def worst_scenarios(run_dir: str | os.PathLike, *, by: str = "shed_mw", k: int = 10) -> pd.DataFrame:
    """The ``k`` scenarios with the largest ``by`` (ties by scenario number), with their destroyed assets."""
    from svitlo.analyses.sweep.evaluate import SWEEP_ROWS

    if by not in SWEEP_ROWS.numeric():
        raise StoreError(f"field 'by' = {by!r}: not a per-scenario metric")
    cols = ["scenario", "seed", "shed_mw", "weighted_shed_mw", "people_without_power", "islands",
            "energised_islands", "overloaded_branches", "destroyed_assets", "destroyed"]
    return select(run_dir, SWEEP_ROWS, columns=cols, order_by=[by], descending=True, limit=int(k),
                  con=connect(run_dir))


def risk_curve(run_dir: str | os.PathLike, *, metric: str = "shed_mw", points: int = 41) -> pd.DataFrame:
    """Exceedance probability ``P(metric > threshold)`` at ``points`` thresholds evenly spaced from 0 to the
    maximum, plus the thresholds exceeded with probability about 0.5, 0.2, 0.1, 0.05, 0.01, 0.001 and 0.0001
    (where the run is large enough to resolve them), so heavy tails keep points.

    Returns columns ``metric``, ``threshold``, ``exceedance_probability``, ``scenarios_above``.
    """
    if metric not in RISK_METRICS + ("weighted_shed_mw",):
        raise StoreError(f"field 'metric' = {metric!r}: expected one of {list(RISK_METRICS)}")
    con = connect(run_dir)
    n, hi = con.execute(f'SELECT count(*), coalesce(max("{metric}"), 0) FROM scenarios').fetchall()[0]
    thr = np.linspace(0.0, float(hi), max(2, int(points)))
    levels = [p for p in _TAIL_LEVELS if p * n >= 1]
    if n and levels:
        qs = ", ".join(f'quantile_cont("{metric}", {1.0 - p})' for p in levels)
        tail = np.asarray(con.execute(f"SELECT {qs} FROM scenarios").fetchall()[0], dtype=float)
        thr = np.unique(np.concatenate([thr, tail[np.isfinite(tail)]]))
    if n == 0:
        return pd.DataFrame({"metric": metric, "threshold": thr, "exceedance_probability": np.nan,
                             "scenarios_above": 0})
    con.register("th", pd.DataFrame({"threshold": thr}))
    df = _df(con, f'SELECT th.threshold, count(s.scenario) AS scenarios_above FROM th '
                  f'LEFT JOIN scenarios s ON s."{metric}" > th.threshold GROUP BY th.threshold '
                  f'ORDER BY th.threshold')
    df["exceedance_probability"] = df["scenarios_above"] / float(n)
    df.insert(0, "metric", metric)
    return df[["metric", "threshold", "exceedance_probability", "scenarios_above"]]


def asset_risk(run_dir: str | os.PathLike, *, top: int | None = None) -> pd.DataFrame:
    """Per asset hit in at least one scenario: how often it is lost and what happens then.

    Columns: ``asset``, ``kind``, ``times_lost``, ``loss_probability``, ``expected_shed_when_lost_mw``,
    ``expected_shed_when_intact_mw``, ``expected_people_without_power_when_lost``, ``protect_score_mw``
    (= loss probability × (shed when lost − shed when intact): expected shed associated with losing it; the
    ranking is *what to protect first*), sorted by that score. An asset lost in every scenario (an explicit
    strike, or one a geographic strike always reaches) has no intact scenarios to compare with: its
    intact shed and score are NaN and it is listed last — rank it with the ``rank`` analysis instead.
    """
    con = connect(run_dir)
    sql = """
    WITH tot AS (SELECT count(*) AS n, sum(shed_mw) AS s FROM scenarios),
    hit AS (SELECT unnest(destroyed) AS asset, shed_mw, people_without_power FROM scenarios),
    per AS (SELECT asset, count(*) AS k, sum(shed_mw) AS s, sum(people_without_power) AS p FROM hit
            GROUP BY asset)
    SELECT per.asset AS asset, split_part(per.asset, ':', 1) AS kind, per.k AS times_lost,
           per.k / tot.n AS loss_probability,
           per.s / per.k AS expected_shed_when_lost_mw,
           CASE WHEN tot.n > per.k THEN (tot.s - per.s) / (tot.n - per.k) END AS expected_shed_when_intact_mw,
           per.p / per.k AS expected_people_without_power_when_lost
    FROM per, tot
    """
    df = _df(con, sql)
    df["protect_score_mw"] = df["loss_probability"] * (df["expected_shed_when_lost_mw"]
                                                       - df["expected_shed_when_intact_mw"])
    df = df.sort_values(["protect_score_mw", "times_lost", "asset"], ascending=[False, False, True],
                        kind="stable", na_position="last")
    df = df.reset_index(drop=True)
    return df.head(top) if top is not None else df


def facility_risk(run_dir: str | os.PathLike) -> pd.DataFrame:
    """Per facility of the scenario: how often it loses grid supply (hour 0, before repairs).

    Columns: ``facility``, the facility's ``kind``, ``name``, ``bus``, ``tier``, ``population``, ``demand_kw``,
    backup (``gen_kw``, ``fuel_h``, ``battery_kwh``), ``times_without_grid``, ``probability_without_grid``,
    ``expected_shed_when_without_grid_mw``, ``backup_h`` (full tank plus battery, h at demand) and
    ``probability_dark_within_horizon`` (within the scenario's ``horizon_h`` if nothing is repaired or
    refuelled, generator start failures included); sorted by probability of losing grid, then population.
    Empty when the scenario has no facilities.
    """
    d = Path(run_dir)
    con = connect(d)
    n = int(con.execute("SELECT count(*) FROM scenarios").fetchall()[0][0])
    per = _df(con, "SELECT f AS facility, count(*) AS times_without_grid, avg(shed_mw) AS "
                   "expected_shed_when_without_grid_mw FROM (SELECT unnest(facilities_without_grid) AS f, shed_mw "
                   "FROM scenarios) GROUP BY f")
    table = d / FACILITY_TABLE
    if table.is_file():
        info = pd.read_parquet(table)
        info = info[["id", *[c for c in _FACILITY_INFO if c in info.columns]]].rename(columns={"id": "facility"})
        df = info.merge(per, on="facility", how="left")
    else:
        df = per
    df["times_without_grid"] = df["times_without_grid"].fillna(0).astype(np.int64)
    df["probability_without_grid"] = df["times_without_grid"] / n if n else np.nan
    if table.is_file():
        horizon = float(read_sweep_manifest(d).get("scenario", {}).get("horizon_h", 72))
        df["backup_h"], df["probability_dark_within_horizon"] = _dark_within(pd.read_parquet(table), df, horizon)
        df["horizon_h"] = horizon
    sort = ["probability_without_grid"] + (["population"] if "population" in df else [])
    df = df.sort_values(sort + ["facility"], ascending=[False] * len(sort) + [True], kind="stable")
    return df.reset_index(drop=True)


def _dark_within(fac: pd.DataFrame, df: pd.DataFrame, horizon_h: float) -> tuple[np.ndarray, np.ndarray]:
    """Backup hours (full tank plus battery, generator started) and the probability of going dark within the
    horizon if nothing is repaired or refuelled (:func:`svitlo.facilities.backup.dark_within_probability`)."""
    from svitlo.facilities.backup import backup_duration_h, backup_spec, dark_within_probability

    spec = backup_spec(fac)
    pos = {f: i for i, f in enumerate(fac["id"].astype(str))}
    idx = np.array([pos[f] for f in df["facility"].astype(str)], dtype=np.int64)
    hours = backup_duration_h(spec, generator_starts=np.ones(len(fac), bool))[idx]
    return hours, df["probability_without_grid"].to_numpy(float) * dark_within_probability(spec, horizon_h)[idx]


def verify_rows(run_dir: str | os.PathLike) -> dict[str, int]:
    """Check the store holds scenarios ``0 … n-1`` exactly once each; raise :class:`StoreError` otherwise."""
    man = read_sweep_manifest(run_dir)
    con = connect(run_dir)
    cnt, distinct, lo, hi = con.execute("SELECT count(*), count(DISTINCT scenario), min(scenario), "
                                        "max(scenario) FROM scenarios").fetchall()[0]
    n = int(man["n"])
    if cnt != n or distinct != n or (n and (lo != 0 or hi != n - 1)):
        raise StoreError(f"{run_dir}: holds {cnt} rows ({distinct} distinct scenarios, range {lo}…{hi}); "
                         f"expected scenarios 0…{n - 1} once each")
    return {"rows": int(cnt), "distinct": int(distinct)}
