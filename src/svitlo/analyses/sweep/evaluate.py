"""Evaluate one chunk of a sweep: draw each scenario's strikes from its seed, evaluate, return one row each.

The batched engine :func:`svitlo.engine.batch.evaluate_batch` is used when it is installed; otherwise a loop
over :func:`~svitlo.engine.state.evaluate_state` and :func:`~svitlo.engine.impact.build_impact` gives the same
numbers (same shedding rules, same metric definitions).

Examples
--------
>>> import svitlo
>>> sc = svitlo.parse_scenario({"grid": "case9", "strikes": [{"random": {"k": 2}}]})
>>> ctx = make_context(sc)
>>> t = evaluate_chunk(ctx, root_seed=1, start=0, stop=3)
>>> t.num_rows, t.column("scenario").to_pylist()
(3, [0, 1, 2])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from svitlo.analyses.sweep.facility_loss import FacilityIndex, bus_energised, facility_index, without_grid
from svitlo.analyses.sweep.plan import scenario_seeds
from svitlo.engine.impact import build_impact, default_tier_weights
from svitlo.model.compiled import CompiledGrid
from svitlo.scenarios.spec import Scenario, Strike
from svitlo.scenarios.strikes import resolve_strikes

__all__ = ["SweepContext", "make_context", "evaluate_chunk", "evaluate_ids", "ROW_SCHEMA", "METRIC_COLUMNS",
           "engine_name"]

#: Per-scenario metrics, one column each (units in names; counts are plain integers).
METRIC_COLUMNS: dict[str, pa.DataType] = {
    "load_mw": pa.float64(),
    "served_mw": pa.float64(),
    "shed_mw": pa.float64(),
    "weighted_shed_mw": pa.float64(),
    "generation_mw": pa.float64(),
    "people_without_power": pa.float64(),
    "islands": pa.int32(),
    "energised_islands": pa.int32(),
    "overloaded_branches": pa.int32(),
    "max_loading_percent": pa.float64(),
}

#: Schema of one row per scenario in the result store.
ROW_SCHEMA = pa.schema(
    [pa.field("scenario", pa.int64()), pa.field("seed", pa.int64()), pa.field("destroyed_assets", pa.int32())]
    + [pa.field(k, t) for k, t in METRIC_COLUMNS.items()]
    + [pa.field("destroyed", pa.list_(pa.string())), pa.field("facilities_without_grid", pa.list_(pa.string()))]
)


@dataclass(frozen=True, eq=False)
class SweepContext:
    """Everything a worker needs to evaluate scenarios (picklable; built once and shipped to workers).

    ``strikes`` are the scenario's strikes with the seed-independent ones (explicit lists, targeted)
    already resolved to explicit asset lists, so a scenario only draws its random and geographic strikes.
    ``facilities`` indexes the scenario's facilities (their demand carved into loads of their own), if any.
    ``engine`` (``"batch"`` or ``"loop"``) is chosen once, where the context is made, so every worker of a run
    evaluates with the same engine (a worker without it fails instead of silently switching).
    """

    cg: CompiledGrid
    strikes: tuple[Strike, ...]
    mode: str
    tier_weights: dict[int, float]
    weapons: dict[str, Any] = field(default_factory=dict)
    facilities: FacilityIndex | None = None
    engine: str = field(default_factory=lambda: engine_name())


def _presolve(cg: CompiledGrid, strikes: Sequence[Strike], weapons: dict[str, Any]) -> tuple[Strike, ...]:
    """Replace seed-independent strikes by their resolved asset lists (same index, same result)."""
    from svitlo.engine.assess import intact_flows

    flows: list[np.ndarray] = []

    def lazy_flows() -> np.ndarray:
        if not flows:
            flows.append(intact_flows(cg))
        return flows[0]

    out = []
    for s in strikes:
        if s.assets is not None or s.targeted is not None:
            ids = resolve_strikes(cg, [s], seed=0, intact_flows=lazy_flows, weapons=weapons)
            out.append(Strike(assets=ids) if ids else s)
        else:
            out.append(s)
    return tuple(out)


def make_context(scenario: Scenario, *, grid: Any = None) -> SweepContext:
    """Load and compile the scenario's grid (tiers, population, facility loads carved) and pre-resolve its
    fixed strikes."""
    from svitlo.engine.assess import prepare_grid
    from svitlo.facilities.attach import prepare_facilities
    from svitlo.io.cases import load_grid
    from svitlo.model.compiled import compile_grid

    g = load_grid(scenario.grid if grid is None else grid, base_dir=scenario.base_dir)
    g, fac = prepare_facilities(prepare_grid(g, scenario), scenario)  # as assess: facility demand carved out
    cg = compile_grid(g)
    weapons = dict(scenario.weapons)
    return SweepContext(cg=cg, strikes=_presolve(cg, scenario.strikes, weapons), mode=scenario.mode,
                        tier_weights=default_tier_weights(), weapons=weapons,
                        facilities=None if fac is None else facility_index(fac, cg))


def engine_name() -> str:
    """``"batch"`` when :mod:`svitlo.engine.batch` provides ``evaluate_batch``, else ``"loop"``."""
    try:
        from svitlo.engine.batch import evaluate_batch, outages_from_ids  # noqa: F401
    except ImportError:
        return "loop"
    return "batch"


def _loop_metrics(ctx: SweepContext, id_lists: Sequence[Sequence[str]]
                  ) -> tuple[dict[str, np.ndarray], list[list[str]]]:
    """Metrics per scenario, one full evaluation each (the reference path), and facilities without grid."""
    from svitlo.engine.backup import facility_on_grid
    from svitlo.engine.damage import apply_damage
    from svitlo.engine.state import evaluate_state

    cg, n = ctx.cg, len(id_lists)
    out = {k: np.zeros(n, dtype=t.to_pandas_dtype()) for k, t in METRIC_COLUMNS.items()}
    dark: list[list[str]] = [[] for _ in range(n)]
    opts = {"tier_weights": ctx.tier_weights} if ctx.mode == "opf" else None
    for s, ids in enumerate(id_lists):
        r = evaluate_state(cg, apply_damage(cg, ids), mode=ctx.mode, options=opts)  # type: ignore[arg-type]
        imp = build_impact(cg, r, tier_weights=ctx.tier_weights)
        m = imp.metrics
        for k in METRIC_COLUMNS:
            if k != "max_loading_percent":
                out[k][s] = m[k]
        br = imp.branches
        lp = br["loading_percent"].to_numpy(float)[br["in_service"].to_numpy(bool)]
        out["max_loading_percent"][s] = float(lp.max()) if lp.size else 0.0
        if ctx.facilities is not None:
            on = facility_on_grid(cg, r, ctx.facilities.load, ctx.facilities.bus)
            dark[s] = [str(x) for x in ctx.facilities.ids[~on]]
    return out, dark


def evaluate_ids(ctx: SweepContext, id_lists: Sequence[Sequence[str]]
                 ) -> tuple[dict[str, np.ndarray], list[list[str]]]:
    """Metrics per scenario for lists of destroyed asset ids, with the best engine available, and the ids of
    the facilities left without grid supply in each."""
    if ctx.engine == "loop":
        return _loop_metrics(ctx, id_lists)
    from svitlo.engine.batch import evaluate_batch, outages_from_ids

    fac = ctx.facilities
    res = evaluate_batch(ctx.cg, outages_from_ids(ctx.cg, [list(x) for x in id_lists]), mode=ctx.mode,
                         tier_weights=ctx.tier_weights, return_loads=fac is not None)
    out = {k: np.asarray(getattr(res, k)).astype(t.to_pandas_dtype()) for k, t in METRIC_COLUMNS.items()}
    dark: list[list[str]] = [[] for _ in id_lists]
    if fac is not None:
        from svitlo.engine.damage import apply_damage

        shed = np.asarray(res.load_shed_mw)
        for s, ids in enumerate(id_lists):
            dark[s] = without_grid(fac, bus_energised(ctx.cg, apply_damage(ctx.cg, ids)), shed[s],
                                   np.where(ctx.cg.load_in_service, ctx.cg.load_p_mw, 0.0))
    return out, dark


def evaluate_chunk(ctx: SweepContext, *, root_seed: int, start: int, stop: int) -> pa.Table:
    """Rows ``start`` … ``stop - 1`` of a sweep as an Arrow table with :data:`ROW_SCHEMA` (pure)."""
    seeds = scenario_seeds(root_seed, start, stop)
    id_lists = [resolve_strikes(ctx.cg, ctx.strikes, seed=int(s), use_strike_seeds=False, weapons=ctx.weapons)
                for s in seeds]
    metrics, dark = evaluate_ids(ctx, id_lists)
    cols: dict[str, Any] = {
        "scenario": np.arange(start, stop, dtype=np.int64),
        "seed": seeds,
        "destroyed_assets": np.fromiter((len(x) for x in id_lists), dtype=np.int32, count=len(id_lists)),
        **metrics,
        "destroyed": id_lists,
        "facilities_without_grid": dark,
    }
    return pa.table(cols, schema=ROW_SCHEMA)

