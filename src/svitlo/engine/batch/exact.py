"""The exact per-scenario path: :func:`~svitlo.engine.state.evaluate_state` and
:func:`~svitlo.engine.impact.build_impact` on one scenario at a time.

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

from svitlo.engine.batch.outages import Outages
from svitlo.engine.damage import damage_from_indices
from svitlo.engine.impact import build_impact
from svitlo.engine.state import evaluate_state
from svitlo.model.compiled import CompiledGrid

__all__ = ["exact_scenario"]


def exact_scenario(cg: CompiledGrid, outages: Outages, s: int, *, mode: str = "balance",
                   tier_weights: dict[int, float] | None = None,
                   options: dict | None = None, viability=None) -> dict[str, Any]:
    """Metrics, flows (MW) and per-load shed (MW) of scenario ``s``, solved on its own."""
    sc = outages.scenario(s)
    dmg = damage_from_indices(cg, buses=sc["bus"], branches=sc["branch"], gens=sc["gen"], loads=sc["load"])
    r = evaluate_state(cg, dmg, mode=mode, options=options, viability=viability)  # type: ignore[arg-type]
    imp = build_impact(cg, r, tier_weights=tier_weights)
    m = dict(imp.metrics)
    m["flows_mw"] = r.flow_mw
    m["load_shed_mw"] = imp.loads["shed_mw"].to_numpy(float)
    m["shed_by_tier"] = m["shed_mw_by_tier"]
    return m

