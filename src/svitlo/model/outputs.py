"""Outputs declared as data: every per-scenario metric once (name, dtype, unit, meaning), and the one loading and
overload rule.

:data:`SCENARIO_METRICS` is the contract shared by :class:`svitlo.engine.impact.Impact` (``metrics``), the batched
engine (:class:`svitlo.engine.batch.BatchResult`), sweep rows in the run store and the reports: each uses these
names, units and meanings. :func:`loading_percent` and :func:`overloaded` are the only definitions of branch loading
and overload (used by impact, cascade, AC check and the batched engine).

Examples
--------
>>> [m.name for m in SCENARIO_METRICS][:3]
['load_mw', 'served_mw', 'shed_mw']
>>> metric("shed_mw").unit
'MW'
>>> overloaded(np.array([100.0, 100.0000001, 100.01])).tolist()
[False, False, True]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Metric", "SCENARIO_METRICS", "TIMELINE_METRICS", "metric", "metric_names", "OVERLOAD_PERCENT", "OVERLOAD_TOL_PERCENT",
           "loading_percent", "overloaded"]

#: Loading above which a branch is reported as overloaded (% of its rating).
OVERLOAD_PERCENT = 100.0
#: One tolerance for "above the rating" (%): solver noise below it is not an overload.
OVERLOAD_TOL_PERCENT = 1e-6


@dataclass(frozen=True)
class Metric:
    """One output column: its name (unit in the name), dtype (``float64``/``int32``), unit and meaning."""

    name: str
    dtype: str
    unit: str
    meaning: str


#: Per-scenario metrics, in the order of sweep rows and batch results.
SCENARIO_METRICS: tuple[Metric, ...] = (
    Metric("load_mw", "float64", "MW",
           "demand of in-service loads; a negative load (a source) counts with the injection it delivers, so "
           "load_mw = served_mw + shed_mw"),
    Metric("served_mw", "float64", "MW", "load served by the grid"),
    Metric("shed_mw", "float64", "MW", "load not served (destroyed, stranded in dark islands, or shed)"),
    Metric("weighted_shed_mw", "float64", "MW", "shed weighted by priority tier (svitlo.model.tiers)"),
    Metric("generation_mw", "float64", "MW", "generation dispatched"),
    Metric("people_without_power", "float64", "people", "population of the shed load (pro rata per load)"),
    Metric("islands", "int32", "count", "connected components of surviving buses"),
    Metric("energised_islands", "int32", "count", "islands holding a surviving island-forming generator"),
    Metric("overloaded_branches", "int32", "count", "in-service branches above their rating"),
    Metric("max_loading_percent", "float64", "%", "highest branch loading (0 without ratings)"),
    Metric("islands_collapsed", "int32", "count",
           "islands with load and a grid-forming unit left dark by the viability rules (0 when off)"),
    Metric("ufls_shed_mw", "float64", "MW", "load disconnected by under-frequency load shedding (0 when off)"),
    Metric("units_decommitted", "int32", "count", "units taken off line to respect minimum outputs (0 when off)"),
)

#: Per-hour metrics of a timeline that the planner's view reads beside the per-scenario ones (``Timeline.hourly``).
TIMELINE_METRICS: tuple[Metric, ...] = (
    Metric("critical_load_mw", "float64", "MW", "demand of tier-1 loads (facilities included)"),
    Metric("critical_served_mw", "float64", "MW",
           "tier-1 demand supplied: by the grid, or by a tier-1 facility's own backup (the resilience curve)"),
    Metric("critical_grid_mw", "float64", "MW", "tier-1 demand served by the grid alone (backups not counted)"),
    Metric("telecom_coverage", "float64", "fraction", "share of telecom facilities neither dark nor damaged"),
)

_BY_NAME = {m.name: m for m in SCENARIO_METRICS + TIMELINE_METRICS}


def metric(name: str) -> Metric:
    """The declaration of a metric (per scenario or per hour of a timeline) by name (``KeyError`` if unknown)."""
    return _BY_NAME[name]


def metric_names() -> tuple[str, ...]:
    """Names of :data:`SCENARIO_METRICS`, in order."""
    return tuple(m.name for m in SCENARIO_METRICS)


def loading_percent(flow_mw: np.ndarray, rate_mw: np.ndarray, in_service: np.ndarray | None = None) -> np.ndarray:
    """Branch loading ``|flow| / rating`` (%); 0 out of service or without a finite positive rating."""
    rate = np.asarray(rate_mw, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where((rate > 0) & np.isfinite(rate), np.abs(flow_mw) / rate * 100.0, 0.0)
    return pct if in_service is None else np.where(in_service, pct, 0.0)


def overloaded(loading: np.ndarray) -> np.ndarray:
    """Whether a loading (%) is above :data:`OVERLOAD_PERCENT` by more than :data:`OVERLOAD_TOL_PERCENT`."""
    return np.asarray(loading) > OVERLOAD_PERCENT + OVERLOAD_TOL_PERCENT
