"""Evaluate many sets of lost assets at once: candidates, the ranking metrics, the batched engine.

A *candidate* is an asset that may be lost (in service, of the chosen kinds, not protected). A batch of sets is
an integer array ``combos`` (``n_sets x k``, candidate positions, ``-1`` for "no asset") turned into
:class:`~svitlo.engine.batch.Outages` without a Python loop, evaluated by
:func:`~svitlo.engine.batch.evaluate_batch` (every island handled exactly as in :func:`svitlo.assess`; the
scenarios the fast path cannot prove exact are re-solved one by one and flagged).

Metrics (all "more is worse"): ``shed_mw``, ``weighted_shed_mw`` (priority-weighted shed,
:func:`svitlo.engine.impact.default_tier_weights`), ``people_without_power`` and ``facilities_without_grid``
(the scenario's critical facilities losing grid supply, by the rule of
:mod:`svitlo.analyses.sweep.facility_loss`).

Examples
--------
>>> import svitlo
>>> from svitlo.analyses.sweep.evaluate import make_context
>>> ctx = make_context(svitlo.parse_scenario({"grid": "case9"}))
>>> cand = candidates(ctx, ["bus"])
>>> cand.n, cand.ids[:2].tolist()
(9, ['bus:0', 'bus:1'])
>>> m = evaluate_sets(ctx, cand, np.array([[4], [-1]]))  # bus:4 (with its 90 MW load), then nothing
>>> m["shed_mw"].round(6).tolist()
[90.0, 0.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from svitlo.analyses.sweep.evaluate import SweepContext
from svitlo.engine.state import bus_energised
from svitlo.errors import ScenarioError
from svitlo.facilities.supply import SHED_TOL_MW, SHED_TOL_REL
from svitlo.scenarios.strikes import eligible_assets

__all__ = ["Metric", "METRICS", "Candidates", "candidates", "evaluate_sets", "sets_to_outages", "check_metric"]

Metric = Literal["shed_mw", "weighted_shed_mw", "people_without_power", "facilities_without_grid"]
#: The metrics a ranking or a protection plan can target (more is worse), with their units.
METRICS: dict[str, str] = {"shed_mw": "MW", "weighted_shed_mw": "MW (priority-weighted)",
                           "people_without_power": "people", "facilities_without_grid": "facilities"}
_CLS = {"bus": 0, "branch": 1, "gen": 2, "load": 3}


@dataclass(frozen=True, eq=False)
class Candidates:
    """Assets that may be lost: ``ids`` (canonical), asset class code ``cls`` (0 bus, 1 branch, 2 gen, 3 load)
    and index ``idx`` in the compiled grid's arrays of that class."""

    ids: np.ndarray
    cls: np.ndarray
    idx: np.ndarray

    @property
    def n(self) -> int:
        return int(self.ids.size)


def candidates(ctx: SweepContext, kinds: list[str], *, source: str = "scenario",
               extra_excluded: frozenset[str] = frozenset()) -> Candidates:
    """In-service assets of ``kinds`` (``line``, ``trafo``, ``branch``, ``bus``, ``gen``, ...), minus the
    scenario's protected assets; ``ScenarioError`` for an unknown kind."""
    from typing import get_args

    from svitlo.scenarios.spec import StrikeKind

    allowed = set(get_args(StrikeKind))
    for k in kinds:
        if k not in allowed:
            raise ScenarioError(f"unknown asset kind; expected some of {sorted(allowed)}", source=source,
                                field="kinds", value=k)
    ids = [a for a in eligible_assets(ctx.cg, kinds) if a not in ctx.protected and a not in extra_excluded]
    cls = np.empty(len(ids), dtype=np.int64)
    idx = np.empty(len(ids), dtype=np.int64)
    for j, a in enumerate(ids):
        c, i = ctx.cg.asset(a)
        cls[j], idx[j] = _CLS[c], i
    return Candidates(ids=np.array(ids, dtype=object), cls=cls, idx=idx)


def check_metric(ctx: SweepContext, metric: str, *, source: str = "scenario") -> None:
    """Raise :class:`~svitlo.errors.ScenarioError` for an unknown metric, or a facility metric on a scenario
    without facilities."""
    if metric not in METRICS:
        raise ScenarioError(f"unknown metric; expected one of {list(METRICS)}", source=source, field="metric",
                            value=metric)
    if metric == "facilities_without_grid" and ctx.facilities is None:
        raise ScenarioError("the metric 'facilities_without_grid' needs facilities; the scenario has none "
                            "(scenario key 'facilities')", source=source, field="facilities", value=None)


def _csr(rows: np.ndarray, vals: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((vals, rows))
    rows, vals = rows[order], vals[order]
    keep = np.ones(rows.size, dtype=bool)
    keep[1:] = (rows[1:] != rows[:-1]) | (vals[1:] != vals[:-1])
    ptr = np.zeros(n + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(np.bincount(rows[keep], minlength=n))
    return ptr, vals[keep].astype(np.int64)


def sets_to_outages(cand: Candidates, combos: np.ndarray, *, base: list[np.ndarray] | None = None):
    """:class:`~svitlo.engine.batch.Outages` of the sets ``combos`` (``n x k`` candidate positions, ``-1`` =
    none). ``base``: per-class index arrays (bus, branch, gen, load) lost in every set as well."""
    from svitlo.engine.batch import Outages

    combos = np.atleast_2d(np.asarray(combos, dtype=np.int64))
    n = combos.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.int64), combos.shape[1])
    flat = combos.ravel()
    ok = flat >= 0
    rows, flat = rows[ok], flat[ok]
    parts = {}
    for name, c in _CLS.items():
        sel = cand.cls[flat] == c
        r, v = rows[sel], cand.idx[flat[sel]]
        if base is not None and base[c].size:
            r = np.r_[r, np.repeat(np.arange(n, dtype=np.int64), base[c].size)]
            v = np.r_[v, np.tile(base[c], n)]
        parts[f"{name}_ptr"], parts[f"{name}_idx"] = _csr(r, v, n)
    return Outages(**parts)


def evaluate_sets(ctx: SweepContext, cand: Candidates, combos: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric of :data:`METRICS` (and ``islands``, ``exact``) for each set of ``combos``.

    ``facilities_without_grid`` is 0 when the scenario has no facilities.
    """
    from svitlo.engine.batch import evaluate_batch

    fac = ctx.facilities
    out = sets_to_outages(cand, combos)
    r = evaluate_batch(ctx.cg, out, mode=ctx.mode, tier_weights=ctx.tier_weights, options=ctx.options,
                       return_loads=fac is not None)
    res = {"shed_mw": r.shed_mw, "weighted_shed_mw": r.weighted_shed_mw,
           "people_without_power": r.people_without_power, "islands": r.islands, "exact": r.exact}
    n_fac = np.zeros(out.n_scenarios, dtype=np.int64)
    if fac is not None and len(fac.ids):
        cg = ctx.cg
        p = np.where(cg.load_in_service, cg.load_p_mw, 0.0)
        carved = fac.load >= 0
        carved[carved] = p[fac.load[carved]] > 0  # a zero carved load says nothing: check its bus instead
        j = fac.load[carved]
        shed = np.asarray(r.load_shed_mw)[:, j]
        n_fac += (shed > SHED_TOL_MW + SHED_TOL_REL * p[j]).sum(axis=1)
        if (~carved).any():  # facilities without a load of their own: their bus must be energised
            from svitlo.engine.damage import damage_from_indices

            for s in range(out.n_scenarios):
                sc = out.scenario(s)
                dmg = damage_from_indices(cg, buses=sc["bus"], branches=sc["branch"], gens=sc["gen"],
                                          loads=sc["load"])
                n_fac[s] += int((~bus_energised(cg, dmg)[fac.bus[~carved]]).sum())
    res["facilities_without_grid"] = n_fac
    return res
