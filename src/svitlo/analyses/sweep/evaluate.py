"""Evaluate one chunk of a sweep: draw each scenario's strikes from its key, evaluate, return one row each.

Strikes are drawn for the whole chunk at once by the counter-based generator of
:mod:`svitlo.engine.batch.draws` (run format ``svitlo-sweep/2``): scenario ``i`` depends on ``(root seed, i)``
only, and the drawn assets go to the engine as index arrays, without a Python object per asset.

The batched engine :func:`svitlo.engine.batch.evaluate_batch` is used when it is installed; otherwise a loop
over :func:`~svitlo.engine.settle.settle` and :func:`~svitlo.engine.impact.build_impact` gives the same
numbers (same shedding rules, same metric definitions). Scenarios where a facility's carved load is shed in part
are solved again on the exact path, which takes that facility off grid and re-dispatches its island
(:func:`svitlo.engine.settle.settle`), as ``assess`` does. A scenario with ``cascade:`` on always takes that exact
path (the engine is then named ``"exact-cascade"`` in the run's manifest), so each row is the state ``assess``
reports. ``ac_check`` does not apply to sweeps: it raises a :class:`~svitlo.errors.SvitloWarning` and is not
run.

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

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from svitlo.engine.impact import build_impact
from svitlo.errors import SvitloWarning
from svitlo.facilities.supply import SHED_TOL_MW, SHED_TOL_REL, FacilityIndex, facility_index, without_grid
from svitlo.model.compiled import CompiledGrid
from svitlo.model.outputs import SCENARIO_METRICS
from svitlo.scenarios.dispatch_spec import dispatch_options, tier_weights
from svitlo.scenarios.spec import Scenario, Strike
from svitlo.scenarios.strikes import protected_assets, resolve_strikes
from svitlo.store.schema import Column, RowSchema

__all__ = ["SweepContext", "make_context", "evaluate_chunk", "evaluate_ids", "draw_plan_of", "ROW_SCHEMA",
           "METRIC_COLUMNS", "SWEEP_ROWS", "engine_name"]

#: One row per scenario in the run store, declared as data (metrics from
#: :data:`svitlo.model.outputs.SCENARIO_METRICS`).
SWEEP_ROWS = RowSchema("scenarios", (
    Column("scenario", "int64", "", "scenario index 0 … n-1"),
    Column("seed", "int64", "", "the scenario's key, from (root seed, scenario) (svitlo.engine.batch.draws)"),
    Column("destroyed_assets", "int32", "count", "assets destroyed directly by the strikes"),
    *(Column(m.name, m.dtype, m.unit, m.meaning) for m in SCENARIO_METRICS),
    Column("destroyed", "list<string>", "", "ids of the assets destroyed"),
    Column("facilities_without_grid", "list<string>", "", "ids of facilities without full grid supply"),
))

#: Per-scenario metrics with their Arrow types (from :data:`SWEEP_ROWS`).
METRIC_COLUMNS: dict[str, pa.DataType] = {m.name: SWEEP_ROWS.column(m.name).arrow_type()
                                          for m in SCENARIO_METRICS}

#: Arrow schema of :data:`SWEEP_ROWS`.
ROW_SCHEMA = SWEEP_ROWS.arrow()


@dataclass(frozen=True, eq=False)
class SweepContext:
    """Everything a worker needs to evaluate scenarios (picklable; built once and shipped to workers).

    ``strikes`` are the scenario's strikes with the seed-independent ones (explicit lists, targeted)
    already resolved to explicit asset lists, so a scenario only draws its random and geographic strikes.
    ``facilities`` indexes the scenario's facilities (their demand carved into loads of their own), if any.
    ``viability`` holds the island viability rules (None: off); the batched engine sends the scenarios where a
    rule acts to the exact path. ``engine`` (``"batch"`` or ``"loop"``) is chosen once, where the context is made, so every worker of a run
    evaluates with the same engine (a worker without it fails instead of silently switching).
    ``branch_images`` is the batched engine's per-branch image choice for the whole run
    (:func:`branch_images_pay_off`; None: decided per chunk). ``draws`` is the strikes' draw plan
    (:func:`svitlo.engine.batch.draws.draw_plan`; None: built per chunk), made once per run by the sweep.
    """

    cg: CompiledGrid
    strikes: tuple[Strike, ...]
    mode: str
    tier_weights: dict[int, float]
    weapons: dict[str, Any] = field(default_factory=dict)
    facilities: FacilityIndex | None = None
    damage: Any = None
    engine: str = field(default_factory=lambda: engine_name())
    branch_images: bool | None = None
    protected: frozenset[str] = frozenset()
    viability: Any = None  # svitlo.engine.viability.ViabilityOptions, or None (off)
    cascade: dict[str, Any] | None = None
    options: dict[str, Any] | None = None  # opf options from the scenario's dispatch: block
    draws: Any = None  # svitlo.engine.batch.draws.DrawPlan, or None (built per chunk)


def _presolve(cg: CompiledGrid, strikes: Sequence[Strike], weapons: dict[str, Any],
              protected: frozenset[str] = frozenset()) -> tuple[Strike, ...]:
    """Replace seed-independent strikes by their resolved asset lists (same index, same result)."""
    from svitlo.engine.state import intact_flows

    flows: list[np.ndarray] = []

    def lazy_flows() -> np.ndarray:
        if not flows:
            flows.append(intact_flows(cg))
        return flows[0]

    out = []
    for s in strikes:
        if s.assets is not None or s.targeted is not None:
            ids = resolve_strikes(cg, [s], seed=0, intact_flows=lazy_flows, weapons=weapons, protected=protected)
            out.append(Strike(assets=ids) if ids else s)
        else:
            out.append(s)
    return tuple(out)


def make_context(scenario: Scenario, *, grid: Any = None) -> SweepContext:
    """Load and compile the scenario's grid (tiers, population, facility loads carved) and pre-resolve its
    fixed strikes."""
    from svitlo.engine.cascade import cascade_settings
    from svitlo.engine.viability import viability_options
    from svitlo.pipeline import Prepared, prepare

    p = grid if isinstance(grid, Prepared) else prepare(grid, scenario)  # as assess: tiers, facilities carved
    cg, fac = p.compiled, p.facilities
    weapons = dict(scenario.weapons)
    prot = protected_assets(cg, scenario.protected)
    if scenario.ac_check:
        warnings.warn("ac_check is not run in sweeps (one AC power flow per scenario); use `svitlo assess` on "
                      "the scenarios of interest", SvitloWarning, stacklevel=2)
    casc = cascade_settings(scenario.cascade)
    return SweepContext(cg=cg, strikes=_presolve(cg, scenario.strikes, weapons, prot), mode=scenario.mode,
                        tier_weights=tier_weights(scenario.dispatch), weapons=weapons,
                        options=dispatch_options(scenario.dispatch, scenario.mode),
                        facilities=None if fac is None else facility_index(fac, cg), damage=scenario.damage,
                        protected=prot, viability=viability_options(scenario), cascade=casc,
                        **({"engine": "exact-cascade"} if casc is not None else {}))


def branch_images_pay_off(ctx: SweepContext, n: int) -> bool:
    """Whether the batched engine's per-branch images pay off over a whole run of ``n`` scenarios: when the
    run removes each branch about twice or more (estimated from the strikes' sizes), as
    :func:`svitlo.engine.batch.evaluate_batch` decides for one batch.

    Examples
    --------
    >>> import svitlo
    >>> ctx = make_context(svitlo.parse_scenario({"grid": "case9", "strikes": [{"random": {"k": 2}}]}))
    >>> branch_images_pay_off(ctx, 5), branch_images_pay_off(ctx, 100)
    (False, True)
    """
    per = 0
    for s in ctx.strikes:
        if s.random is not None:
            per += s.random.k
        elif s.assets is not None:
            per += len(s.assets)
        else:
            per += 4 * (s.targeted.k if s.targeted is not None else 1)
    return n * max(per, 1) > 2 * max(ctx.cg.n_branch, 1)


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
    from svitlo.engine.damage import apply_damage
    from svitlo.engine.settle import settle
    from svitlo.simulation.facilities import facility_on_grid

    cg, n = ctx.cg, len(id_lists)
    out = {k: np.zeros(n, dtype=t.to_pandas_dtype()) for k, t in METRIC_COLUMNS.items()}
    dark: list[list[str]] = [[] for _ in range(n)]
    opts = ctx.options
    f_load = ctx.facilities.load if ctx.facilities is not None else None
    for s, ids in enumerate(id_lists):
        r = settle(cg, apply_damage(cg, ids), mode=ctx.mode, options=opts,  # type: ignore[arg-type]
                   cascade=ctx.cascade, viability=ctx.viability, facility_loads=f_load).state
        imp = build_impact(cg, r, tier_weights=ctx.tier_weights)
        m = imp.metrics
        for k in METRIC_COLUMNS:
            out[k][s] = m[k]
        if ctx.facilities is not None:
            on = facility_on_grid(cg, r, ctx.facilities)
            dark[s] = [str(x) for x in ctx.facilities.ids[~on]]
    return out, dark


def evaluate_ids(ctx: SweepContext, id_lists: Sequence[Sequence[str]], *, outages: Any = None
                 ) -> tuple[dict[str, np.ndarray], list[list[str]]]:
    """Metrics per scenario for lists of destroyed asset ids, with the best engine available, and the ids of
    the facilities left without grid supply in each (``outages``: the same scenarios as
    :class:`~svitlo.engine.batch.outages.Outages`, when the caller has them)."""
    if ctx.engine != "batch" or ctx.cascade is not None:
        return _loop_metrics(ctx, id_lists)
    from svitlo.engine.batch import evaluate_batch, outages_from_ids

    fac = ctx.facilities
    out_sets = outages if outages is not None else outages_from_ids(ctx.cg, [list(x) for x in id_lists])
    res = evaluate_batch(ctx.cg, out_sets, mode=ctx.mode,
                         tier_weights=ctx.tier_weights, options=ctx.options, return_loads=fac is not None,
                         branch_images=ctx.branch_images, viability=ctx.viability)
    out = {k: np.asarray(getattr(res, k)).astype(t.to_pandas_dtype()) for k, t in METRIC_COLUMNS.items()}
    dark: list[list[str]] = [[] for _ in range(out_sets.n_scenarios)]
    if fac is not None:
        from svitlo.engine.damage import apply_damage
        from svitlo.engine.state import bus_energised

        shed = np.asarray(res.load_shed_mw)
        p = np.where(ctx.cg.load_in_service, ctx.cg.load_p_mw, 0.0)
        for s, ids in enumerate(id_lists):
            dark[s] = without_grid(fac, bus_energised(ctx.cg, apply_damage(ctx.cg, ids)), shed[s], p)
        # a facility whose carved load is shed in part leaves the grid and the island re-dispatches what it
        # frees (svitlo.engine.settle): the kernel does not model that, so those scenarios take the exact path
        redo = np.flatnonzero(_partly_shed(fac, shed, p))
        if redo.size:
            m2, d2 = _loop_metrics(ctx, [id_lists[int(s)] for s in redo])
            for k in out:
                out[k][redo] = m2[k]
            for i, s in enumerate(redo):
                dark[int(s)] = d2[i]
    return out, dark


def _partly_shed(fac: FacilityIndex, shed: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per scenario (rows of ``shed``, MW per load): some facility's carved load is shed in part."""
    j = fac.load[fac.load >= 0]
    if not j.size:
        return np.zeros(shed.shape[0], dtype=bool)
    tol = SHED_TOL_MW + SHED_TOL_REL * np.abs(p[j])
    s = shed[:, j]
    return np.any((s > tol) & (s < p[j] - tol), axis=1)


def draw_plan_of(ctx: SweepContext) -> Any:
    """The context's draw plan (built here when the context has none)."""
    from svitlo.engine.batch.draws import draw_plan

    return ctx.draws if ctx.draws is not None else draw_plan(ctx.cg, ctx.strikes, protected=ctx.protected)


def evaluate_chunk(ctx: SweepContext, *, root_seed: int, start: int, stop: int) -> pa.Table:
    """Rows ``start`` … ``stop - 1`` of a sweep as an Arrow table with :data:`ROW_SCHEMA` (pure)."""
    from svitlo.engine.batch.draws import draw_chunk, scenario_keys

    keys = scenario_keys(root_seed, start, stop)
    d = draw_chunk(draw_plan_of(ctx), keys, cg=ctx.cg, weapons=ctx.weapons, damage=ctx.damage)
    fast = ctx.engine == "batch" and ctx.cascade is None
    need_ids = not fast or ctx.facilities is not None
    id_lists = d.id_lists() if need_ids else []
    metrics, dark = evaluate_ids(ctx, id_lists, outages=d.outages(ctx.cg) if fast else None)
    n = stop - start
    cols: dict[str, Any] = {
        "scenario": np.arange(start, stop, dtype=np.int64),
        "seed": keys,
        "destroyed_assets": d.counts(),
        **metrics,
        "destroyed": d.arrow_lists(),
        "facilities_without_grid": dark if ctx.facilities is not None else pa.ListArray.from_arrays(
            pa.array(np.zeros(n + 1, dtype=np.int32)), pa.array([], type=pa.string())),
    }
    return pa.table(cols, schema=ROW_SCHEMA)
