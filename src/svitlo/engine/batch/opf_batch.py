"""``mode="opf"`` scenarios of :func:`svitlo.engine.batch.evaluate_batch` on the fast opf path
(:mod:`svitlo.engine.opf_fast`), with :func:`~svitlo.engine.batch.exact.exact_scenario` (the reference,
:func:`svitlo.engine.opf.opf_dispatch`) wherever the fast path does not apply.

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> from svitlo.engine.batch.outages import outages_from_ids
>>> cg = compile_grid(svitlo.load_grid("case30"))
>>> out = outages_from_ids(cg, [["line:3", "line:10"]])
>>> a = opf_scenario(cg, out, 0, options={})
>>> b = exact_scenario(cg, out, 0, mode="opf", options={})
>>> bool(abs(a["shed_mw"] - b["shed_mw"]) < 1e-6 and abs(a["generation_mw"] - b["generation_mw"]) < 1e-6)
True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from svitlo.engine.batch.exact import exact_scenario, state_metrics
from svitlo.engine.batch.outages import Outages
from svitlo.engine.damage import damage_from_indices
from svitlo.engine.opf_fast import fallback_reason, fast_opf
from svitlo.model.compiled import CompiledGrid

__all__ = ["one_blas_thread", "opf_scenario"]


def opf_scenario(cg: CompiledGrid, outages: Outages, s: int, *, tier_weights: dict[int, float] | None = None,
                 options: dict | None = None, viability=None, engine: str = "auto") -> dict[str, Any]:
    """Metrics, flows and per-load shed (MW) of scenario ``s`` in ``opf`` mode, as
    :func:`~svitlo.engine.batch.exact.exact_scenario` returns them: on the fast path unless viability rules
    are on, ``engine="exact"``, or :func:`~svitlo.engine.opf_fast.fallback_reason` names a reason."""
    if viability is None and engine != "exact" and fallback_reason(cg, options) is None:
        sc = outages.scenario(s)
        dmg = damage_from_indices(cg, buses=sc["bus"], branches=sc["branch"], gens=sc["gen"], loads=sc["load"])
        r = fast_opf(cg, options).solve(dmg)
        if r is not None:
            m = state_metrics(cg, r, tier_weights=tier_weights)
            m["flows_mw"] = r.flow_mw
            return m
    return exact_scenario(cg, outages, s, mode="opf", tier_weights=tier_weights, options=options,
                          viability=viability)


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """BLAS on one thread while opf states are solved (a no-op without ``threadpoolctl``): OpenBLAS threads
    spin between the fast path's small products and take the core HiGHS needs (29.9 against 54.3 scenarios/s
    on case2869pegase with two BLAS threads, and twice the CPU time on an idle machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - depends on the environment
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
