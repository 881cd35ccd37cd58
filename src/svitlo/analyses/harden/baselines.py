"""Protection plans a planner would otherwise pick: highest degree, highest intact flow, and the sweep's
protect-first score (loss probability × (mean metric when lost − mean metric when intact), as
:func:`svitlo.analyses.sweep.asset_risk` computes it from the same scenario rows).

Each baseline takes the ``budget`` best-scored assets among those the strikes can reach (the scenario set's
universe), cheapest first on ties, within the money budget when there are costs.

Examples
--------
>>> import numpy as np
>>> pick(np.array([3.0, 9.0, 1.0, 9.0]), budget=2)
[1, 3]
"""

from __future__ import annotations

import numpy as np

from svitlo.analyses.harden.scenario_set import ScenarioSet
from svitlo.analyses.sweep.evaluate import SweepContext

__all__ = ["pick", "baseline_scores"]


def pick(score: np.ndarray, *, budget: float, costs: np.ndarray | None = None,
         eligible: np.ndarray | None = None) -> list[int]:
    """Positions of the highest scores that fit ``budget`` (greedy by score; ties by position)."""
    c = np.ones(score.size) if costs is None else np.asarray(costs, dtype=float)
    ok = np.ones(score.size, dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    out, left = [], float(budget)
    for a in np.lexsort((np.arange(score.size), -score)):
        if ok[a] and c[a] <= left + 1e-12:
            out.append(int(a))
            left -= c[a]
    return sorted(out)


def baseline_scores(ctx: SweepContext, ss: ScenarioSet) -> dict[str, np.ndarray]:
    """Score per asset position of ``ss.assets`` for each baseline (``degree``, ``flow``, ``protect_first``)."""
    from svitlo.engine.state import intact_flows

    cg = ctx.cg
    a = ss.assets
    m = cg.br_in_service
    deg = np.bincount(cg.br_f[m], minlength=cg.n_bus) + np.bincount(cg.br_t[m], minlength=cg.n_bus)
    flow = np.abs(intact_flows(cg))
    bus_flow = (np.bincount(cg.br_f, weights=flow, minlength=cg.n_bus)
                + np.bincount(cg.br_t, weights=flow, minlength=cg.n_bus)) / 2
    d = np.zeros(a.n)
    f = np.zeros(a.n)
    for j in range(a.n):
        c, i = int(a.cls[j]), int(a.idx[j])
        if c == 0:
            d[j], f[j] = deg[i], bus_flow[i]
        elif c == 1:
            d[j], f[j] = deg[cg.br_f[i]] + deg[cg.br_t[i]], flow[i]
        elif c == 2:
            d[j], f[j] = deg[cg.gen_bus[i]], abs(cg.gen_p_mw[i])
        else:
            d[j], f[j] = deg[cg.load_bus[i]], abs(cg.load_p_mw[i])
    mt = ss.member.T.tocsr()
    k = np.diff(mt.indptr).astype(float)
    s_lost = np.asarray(mt @ ss.base).ravel()
    tot = ss.base.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        lost = np.where(k > 0, s_lost / k, 0.0)
        intact = np.where(ss.n > k, (tot - s_lost) / (ss.n - k), np.nan)
    pf = np.nan_to_num((k / ss.n) * (lost - intact), nan=-np.inf)
    return {"degree": d, "flow": f, "protect_first": pf}
