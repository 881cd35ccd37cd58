"""The exact per-scenario path: :func:`~svitlo.engine.state.evaluate_state` on one scenario at a time, and the
metrics of :func:`~svitlo.engine.impact.build_impact` computed on the arrays (no tables: building the labelled
tables cost as much as the solve).

It defines what the batched kernel must reproduce, solves the scenarios the kernel flags, and runs whole
batches when numba is not installed or the mode is ``opf``.

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> from svitlo.engine.batch.outages import outages_from_ids
>>> cg = compile_grid(svitlo.load_grid("case9"))
>>> m = exact_scenario(cg, outages_from_ids(cg, [["bus:4"]]), 0)
>>> m["islands"], round(m["shed_mw"], 6)
(1, 90.0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from svitlo.engine.batch.outages import Outages
from svitlo.engine.damage import damage_from_indices
from svitlo.engine.state import StateResult, evaluate_state
from svitlo.model.compiled import CompiledGrid
from svitlo.model.outputs import loading_percent, overloaded
from svitlo.model.tiers import tier_weight_array

__all__ = ["exact_scenario", "state_metrics"]


def state_metrics(cg: CompiledGrid, r: StateResult, *, tier_weights: dict[int, float] | None = None
                  ) -> dict[str, Any]:
    """The scalar metrics of :func:`~svitlo.engine.impact.build_impact` for state ``r``, on arrays, with the
    per-load shed (``load_shed_mw``, MW). Equal to ``build_impact(cg, r).metrics`` (tested)."""
    dmg, labels = r.damage, r.labels
    demand = np.where(cg.load_in_service, cg.load_p_mw, 0.0)
    served = np.where(dmg.load_alive, r.load_served_mw, 0.0)
    shed = np.clip(np.where(demand > 0, demand - served, 0.0), 0.0, np.maximum(demand, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(demand > 0, shed / demand, 0.0)
    pwp = np.where(cg.load_in_service, cg.load_population, 0.0) * frac
    br_alive = dmg.branch_alive & (labels[cg.br_f] >= 0) & (labels[cg.br_t] >= 0)
    loading = loading_percent(r.flow_mw, cg.br_rate_mw)
    tiers = np.unique(cg.load_tier)
    by_tier = {int(t): float(shed[cg.load_tier == t].sum()) for t in tiers}
    tw = tier_weight_array(tiers.astype(np.int64), tier_weights)
    v = r.viability
    collapsed = 0
    if v is not None and r.n_islands:
        l_isl = np.where(dmg.load_alive, labels[cg.load_bus], -1)
        load_isl = np.bincount(l_isl[l_isl >= 0], weights=demand[l_isl >= 0], minlength=r.n_islands)
        collapsed = int(((v.reason >= 3) & (load_isl > 0)).sum())
    return {
        "served_mw": float(served.sum()), "shed_mw": float(shed.sum()), "shed_by_tier": by_tier,
        "weighted_shed_mw": float(sum(w * x for w, x in zip(tw, by_tier.values()))),
        "generation_mw": float(r.gen_p_mw.sum()), "people_without_power": float(pwp.sum()),
        "islands": int(r.n_islands), "energised_islands": int(r.energised.sum()),
        "overloaded_branches": int((br_alive & overloaded(loading)).sum()),
        "max_loading_percent": float(loading[br_alive].max(initial=0.0)),
        "islands_collapsed": collapsed,
        "ufls_shed_mw": float(v.ufls_shed_mw.sum()) if v is not None else 0.0,
        "units_decommitted": int(v.decommitted.sum()) if v is not None else 0,
        "load_shed_mw": shed,
    }


def exact_scenario(cg: CompiledGrid, outages: Outages, s: int, *, mode: str = "balance",
                   tier_weights: dict[int, float] | None = None,
                   options: dict | None = None, viability=None) -> dict[str, Any]:
    """Metrics, flows (MW) and per-load shed (MW) of scenario ``s``, solved on its own."""
    sc = outages.scenario(s)
    dmg = damage_from_indices(cg, buses=sc["bus"], branches=sc["branch"], gens=sc["gen"], loads=sc["load"])
    r = evaluate_state(cg, dmg, mode=mode, options=options, viability=viability)  # type: ignore[arg-type]
    m = state_metrics(cg, r, tier_weights=tier_weights)
    m["flows_mw"] = r.flow_mw
    return m

