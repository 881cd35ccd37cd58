"""An exact repair schedule for small cases: a time-indexed MILP solved by HiGHS (``scipy.optimize.milp``).

Variables: ``y[j, s] = 1`` when job ``j`` starts at hour ``s`` (only starts at or after its release, outside
its access windows, ending within the horizon); per hour ``t`` a supply model of the grid — generation
``g[k, t]`` up to the unit's capacity, served load ``x[l, t]`` up to its demand, branch flows ``f[e, t]``
(bounded by the total demand, no ratings) with power balance at every bus. An asset struck at hour ``h`` is in
service before ``h`` and from the end of its repair on; out of service, its flows, generation or load are
forced to zero (its bus: everything attached). Constraints: at most ``crews`` jobs in progress in any hour;
at most ``stock`` jobs of a kind with spares start before the spares' ``lead_h``. Objective: minimise the
tier-weighted energy not served, ``sum_t sum_l w_l (demand_l - x[l, t])``.

The supply model is a network-flow relaxation of the ``balance`` rule: it needs no island-forming unit and
may spread shedding differently, and it ignores facility backup and rolling outages. So the MILP is exact for
its own model; the schedule it returns is then simulated like any other, and the gap reported is the
heuristic's simulated objective against the simulated MILP schedule (and the solver's own MIP gap).

Examples
--------
>>> from svitlo.analyses.restore.problem import restore_problem
>>> p = restore_problem({"grid": "case9", "horizon_h": 8, "strikes": [{"assets": ["line:3", "line:6"]}],
...                      "repairs": {"durations_h": {"line": 2}}}, crews=1)
>>> r = solve_milp(p, time_limit_s=30)
>>> r.status, sorted(r.schedule.values())
('optimal', [(0, 0, 2), (0, 2, 4)])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from svitlo.analyses.restore.problem import RestoreProblem
from svitlo.model.tiers import tier_weight_array

__all__ = ["MilpResult", "solve_milp", "milp_size"]


@dataclass(frozen=True)
class MilpResult:
    """Status (``optimal``, ``time_limit``, ``infeasible``, ...), the schedule ``asset -> (crew, start, end)``,
    the model's objective (weighted MWh) and the solver's relative MIP gap."""

    status: str
    schedule: dict[str, tuple[int, int, int]]
    objective: float
    mip_gap: float
    variables: int


def milp_size(p: RestoreProblem) -> int:
    """Number of MILP variables (a quick size test before building it)."""
    cg, H = p.model.cg, p.horizon_h
    return H * (cg.n_branch + cg.n_gen + cg.n_load) + sum(max(H - j.duration_h - j.release_h + 1, 0)
                                                         for j in p.jobs)


def _starts(p: RestoreProblem, j) -> list[int]:
    out = []
    for s in range(j.release_h, p.horizon_h - j.duration_h + 1):
        if any(j.asset in a and s < hi and s + j.duration_h > lo for a, lo, hi in p.access):
            continue
        out.append(s)
    return out


def solve_milp(p: RestoreProblem, *, time_limit_s: float = 60.0, mip_rel_gap: float = 1e-6) -> MilpResult:
    """Solve the MILP of the module docstring (pure; needs scipy >= 1.9, which bundles HiGHS)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    cg, H = p.model.cg, p.horizon_h
    first_hit = {}
    from svitlo.analyses.restore.problem import _strike_hours

    for a, hours in _strike_hours(p.model, p.seed).items():
        first_hit[a] = min(hours)
    jobs = p.jobs
    starts = [_starts(p, j) for j in jobs]
    n_y = sum(len(s) for s in starts)
    y_off = np.cumsum([0] + [len(s) for s in starts])
    nb, ng, nl = cg.n_branch, cg.n_gen, cg.n_load
    per_t = nb + ng + nl
    n = n_y + H * per_t

    def col_f(t: int, e: int) -> int:
        return n_y + t * per_t + e

    def col_g(t: int, k: int) -> int:
        return n_y + t * per_t + nb + k

    def col_x(t: int, ld: int) -> int:
        return n_y + t * per_t + nb + ng + ld

    demand = np.where(cg.load_in_service, np.maximum(cg.load_p_mw, 0.0), 0.0)
    big = max(float(demand.sum()), 1.0)
    w = tier_weight_array(cg.load_tier.astype(np.int64))
    cap = np.where(cg.gen_in_service, np.nan_to_num(np.maximum(cg.gen_p_max_mw, 0.0), posinf=big), 0.0)
    cap = np.minimum(cap, big)
    lo = np.zeros(n)
    hi = np.ones(n)
    for t in range(H):
        base = n_y + t * per_t
        lo[base:base + nb] = -big * cg.br_in_service
        hi[base:base + nb] = big * cg.br_in_service
        hi[base + nb:base + nb + ng] = cap
        hi[base + nb + ng:base + per_t] = demand
    c = np.zeros(n)
    for t in range(H):
        c[n_y + t * per_t + nb + ng:n_y + (t + 1) * per_t] = -w   # maximise weighted served
    rows, cols, vals, rlo, rhi = [], [], [], [], []

    def row(entries: list[tuple[int, float]], lo_v: float, hi_v: float) -> None:
        r = len(rlo)
        for ci, v in entries:
            rows.append(r)
            cols.append(ci)
            vals.append(v)
        rlo.append(lo_v)
        rhi.append(hi_v)

    # each job at most once; crews per hour; spares
    for i, s in enumerate(starts):
        if s:
            row([(y_off[i] + k, 1.0) for k in range(len(s))], 0.0, 1.0)
    for tau in range(H):
        ent = [(y_off[i] + k, 1.0) for i, (j, s) in enumerate(zip(jobs, starts)) for k, s0 in enumerate(s)
               if s0 <= tau < s0 + j.duration_h]
        if ent:
            row(ent, 0.0, float(p.crews))
    for kind, (stock, lead) in p.stock.items():
        ent = [(y_off[i] + k, 1.0) for i, (j, s) in enumerate(zip(jobs, starts)) if j.kind == kind
               for k, s0 in enumerate(s) if s0 < lead]
        if ent:
            row(ent, 0.0, float(stock))
    # power balance per bus and hour
    for t in range(H):
        ent: dict[int, list[tuple[int, float]]] = {}
        for e in range(nb):
            ent.setdefault(int(cg.br_f[e]), []).append((col_f(t, e), -1.0))
            ent.setdefault(int(cg.br_t[e]), []).append((col_f(t, e), 1.0))
        for k in range(ng):
            ent.setdefault(int(cg.gen_bus[k]), []).append((col_g(t, k), 1.0))
        for ld in range(nl):
            ent.setdefault(int(cg.load_bus[ld]), []).append((col_x(t, ld), -1.0))
        for _b, e in ent.items():
            row(e, 0.0, 0.0)
    # availability of damaged assets: var <= bound * (repaired by t), var >= -bound * (...) for flows
    by_bus: dict[int, list[tuple[str, int]]] = {}
    for e in range(nb):
        by_bus.setdefault(int(cg.br_f[e]), []).append(("f", e))
        by_bus.setdefault(int(cg.br_t[e]), []).append(("f", e))
    for k in range(ng):
        by_bus.setdefault(int(cg.gen_bus[k]), []).append(("g", k))
    for ld in range(nl):
        by_bus.setdefault(int(cg.load_bus[ld]), []).append(("x", ld))
    for i, j in enumerate(jobs):
        cls, idx = cg.asset(j.asset)
        targets = by_bus.get(idx, []) if cls == "bus" else [({"branch": "f", "gen": "g", "load": "x"}[cls], idx)]
        for t in range(first_hit[j.asset], H):
            up = [(y_off[i] + k, 1.0) for k, s0 in enumerate(starts[i]) if s0 + j.duration_h <= t]
            for what, q in targets:
                col = {"f": col_f, "g": col_g, "x": col_x}[what](t, q)
                bound = big if what == "f" else (cap[q] if what == "g" else demand[q])
                if bound <= 0:
                    continue
                row([(col, 1.0)] + [(ci, -bound) for ci, _v in up], -np.inf, 0.0)
                if what == "f":
                    row([(col, 1.0)] + [(ci, bound) for ci, _v in up], 0.0, np.inf)
    a = sp.csr_matrix((vals, (rows, cols)), shape=(len(rlo), n))
    integrality = np.zeros(n)
    integrality[:n_y] = 1
    res = milp(c, constraints=LinearConstraint(a, np.array(rlo), np.array(rhi)), integrality=integrality,
               bounds=Bounds(lo, hi), options={"time_limit": float(time_limit_s), "mip_rel_gap": mip_rel_gap,
                                               "disp": False})
    status = {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded"}.get(res.status, "error")
    if res.x is None:
        return MilpResult(status=status, schedule={}, objective=float("nan"), mip_gap=float("nan"), variables=n)
    y = np.round(res.x[:n_y]).astype(int)
    picked = sorted(((starts[i][k], jobs[i]) for i in range(len(jobs)) for k in range(len(starts[i]))
                     if y[y_off[i] + k]), key=lambda x: (x[0], x[1].asset))
    free = [0] * p.crews
    schedule = {}
    for s0, j in picked:   # crews by earliest free (a feasible assignment exists: at most `crews` at a time)
        crew = min(range(p.crews), key=lambda cc: (free[cc] > s0, free[cc], cc))
        free[crew] = s0 + j.duration_h
        schedule[j.asset] = (crew, s0, s0 + j.duration_h)
    total_w = float((w * demand).sum()) * H
    gap = float(getattr(res, "mip_gap", 0.0) or 0.0)
    return MilpResult(status=status, schedule=schedule, objective=total_w + float(res.fun), mip_gap=gap,
                      variables=n)
