"""The random inputs of one timeline, drawn from its seed (shared by :func:`svitlo.simulate` and
:mod:`svitlo.simulation.fast`, so both follow the same story for the same seed).

* **Repair durations**: a kind whose ``repairs.durations_h`` entry is a random duration draws one value per
  asset, at the asset's own standard normal number (:func:`svitlo.scenarios.durations.asset_normals`, indexed
  by the asset's position among buses, branches, generators and loads of the compiled grid).
* **Refuel delays**: delivery ``k`` lands at ``at_h + round(delay)`` (``delay_h``, a random duration), drawn at
  :func:`~svitlo.scenarios.durations.event_normals` ``[k]``.
* **Generator breakdowns while running**: ``gen_mttf_h`` (one figure, or one per facility kind) gives the
  probability ``1 - exp(-1 / MTTF)`` per running hour (:mod:`svitlo.facilities.backup`).

Examples
--------
>>> import pandas as pd
>>> run_fail_prob(pd.DataFrame({"kind": ["hospital", "telecom"]}), {"hospital": 1100.0}).round(6).tolist()
[0.000909, 0.0]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from svitlo.model.compiled import CompiledGrid
from svitlo.model.grid import asset_kind
from svitlo.scenarios.durations import Lognormal, asset_normals, event_normals
from svitlo.scenarios.spec import Scenario

__all__ = ["repair_sampler", "refuel_hours", "run_fail_prob", "asset_position"]


def asset_position(cg: CompiledGrid, asset: str) -> int:
    """Position of a canonical asset id among buses, branches, generators and loads (in that order)."""
    cls, j = cg.asset(asset)
    off = {"bus": 0, "branch": cg.n_bus, "gen": cg.n_bus + cg.n_branch,
           "load": cg.n_bus + cg.n_branch + cg.n_gen}[cls]
    return off + int(j)


def repair_sampler(cg: CompiledGrid, sc: Scenario, seed: int | None) -> Callable[[str], float] | None:
    """``asset -> sampled repair hours`` for kinds with a random duration (``None`` when there are none).

    Assets of kinds with a fixed duration return NaN (the caller keeps its per-kind figure)."""
    rep = sc.repairs
    dists: dict[str, Lognormal] = {k: v.lognormal() for k, v in (rep.durations_h if rep else {}).items()
                                   if not isinstance(v, float | int)}
    if not dists:
        return None
    z = asset_normals(seed, cg.n_bus + cg.n_branch + cg.n_gen + cg.n_load)

    def draw(asset: str) -> float:
        d = dists.get(asset_kind(asset))
        return float("nan") if d is None else float(d.at(z[asset_position(cg, asset)]))

    return draw


def refuel_hours(sc: Scenario, seed: int | None) -> list[int]:
    """Hour each refuel of the scenario lands in timeline ``seed`` (``at_h`` plus its sampled delay)."""
    z = event_normals(seed, len(sc.refuel)) if any(r.delay_h for r in sc.refuel) else None
    out = []
    for k, r in enumerate(sc.refuel):
        delay = 0 if r.delay_h is None or z is None else int(round(float(r.delay_h.lognormal().at(z[k]))))
        out.append(int(r.at_h) + delay)
    return out


def run_fail_prob(fac: pd.DataFrame, gen_mttf_h: float | Mapping[Any, float] | None) -> np.ndarray | None:
    """Probability per running hour that each facility's generator breaks down (``None``: no breakdowns)."""
    if gen_mttf_h is None:
        return None
    kinds = fac["kind"].to_numpy(dtype=object)
    if isinstance(gen_mttf_h, Mapping):
        mttf = np.array([float(gen_mttf_h.get(k, np.inf)) for k in kinds], dtype=float)
    else:
        mttf = np.full(kinds.size, float(gen_mttf_h))
    return -np.expm1(-1.0 / mttf)
