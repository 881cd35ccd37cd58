"""Exact sample-average protection plan: a MILP over every outcome of every scenario (small cases).

Scenario ``s`` destroys ``D_s``; protecting ``P`` leaves ``D_s \\ P`` lost, so its value depends only on
``T = P ∩ D_s``. All ``2^|D_s|`` outcomes ``m_{s,T}`` are evaluated with the batched engine, and with binary
``p_a`` (protect ``a``) the outcome indicator is linearised from below (the objective pushes it down)::

    z_{s,T} ≥ 1 − Σ_{a∈T} (1 − p_a) − Σ_{a∈D_s∖T} p_a,   z ≥ 0,   v_s = Σ_T m_{s,T} z_{s,T}

    expected:  min Σ_s v_s / N        cvar95:  min η + Σ_s u_s / (0.05 N),  u_s ≥ v_s − η,  u ≥ 0
    worst:     min t,  t ≥ v_s        with  Σ_a c_a p_a ≤ budget

This is the sample-average approximation of the two-stage protection problem; for the worst-case objective
it is exact over the sampled scenario set (the worst over every k-set instead:
:mod:`svitlo.analyses.harden.dad`). Identical damage sets are merged.

Examples
--------
>>> import svitlo
>>> from svitlo.analyses.sweep.evaluate import make_context
>>> from svitlo.analyses.harden.scenario_set import draw_set
>>> ctx = make_context(svitlo.parse_scenario({"grid": "case14", "strikes": [{"random": {"k": 2}}]}))
>>> ss = draw_set(ctx, n=60, root_seed=3, metric="shed_mw")
>>> r = milp_plan(ctx, ss, budget=2, objective="expected")
>>> r.status, len(r.chosen) <= 2
('optimal', True)
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

import numpy as np

from svitlo.analyses.harden.objective import ALPHA, objective
from svitlo.analyses.harden.scenario_set import ScenarioSet
from svitlo.analyses.milp import Rows, solve_milp
from svitlo.analyses.rank.sets import evaluate_sets
from svitlo.analyses.sweep.evaluate import SweepContext
from svitlo.errors import ScenarioError, SolverError

__all__ = ["MilpPlan", "milp_plan", "MAX_OUTCOMES"]

#: Largest number of (scenario, outcome) pairs the exact MILP accepts.
MAX_OUTCOMES = 300_000


@dataclass(frozen=True)
class MilpPlan:
    """Chosen positions, objective value (in sample, re-measured), HiGHS status, gap and seconds."""

    chosen: list[int]
    value: float
    status: str
    gap: float
    seconds: float
    outcomes: int


def milp_plan(ctx: SweepContext, ss: ScenarioSet, *, budget: float, objective: str = "expected",
              costs: np.ndarray | None = None, eligible: np.ndarray | None = None,
              time_limit_s: float = 300.0) -> MilpPlan:
    """Solve the SAA protection MILP (module docstring) with HiGHS through :func:`scipy.optimize.milp`."""
    t0 = time.perf_counter()
    mem = ss.member.tocsr()
    sets = [tuple(mem.indices[mem.indptr[s]:mem.indptr[s + 1]].tolist()) for s in range(ss.n)]
    uniq: dict[tuple[int, ...], int] = {}
    inv = np.array([uniq.setdefault(d, len(uniq)) for d in sets], dtype=np.int64)
    groups = list(uniq)
    total = sum(2 ** len(d) for d in groups)
    if total > MAX_OUTCOMES:
        raise ScenarioError(f"the exact plan needs {total:,} outcomes (more than {MAX_OUTCOMES:,}); use the greedy "
                            "method or fewer scenarios", field="method", value="milp")
    # every outcome: (group, survivors T as a tuple) -> value
    out_g, out_t, combos = [], [], []
    width = max((len(d) for d in groups), default=0) or 1
    for g, d in enumerate(groups):
        for r in range(len(d) + 1):
            for T in itertools.combinations(d, r):
                lost = [a for a in d if a not in T]
                out_g.append(g)
                out_t.append(T)
                combos.append(lost + [-1] * (width - len(lost)))
    vals = np.asarray(evaluate_sets(ctx, ss.assets, np.array(combos, dtype=np.int64))[ss.metric], dtype=float)
    na, ng = ss.assets.n, len(groups)
    mult = np.bincount(inv, minlength=ng).astype(float)
    nz = np.flatnonzero(vals > 1e-12)
    nzn = nz.size
    # variables: p (na) | z (nzn) | v (ng) | extra (eta, u (ng)) or (t)
    op, oz, ov = 0, na, na + nzn
    ox = ov + ng
    n_extra = {"expected": 0, "cvar95": 1 + ng, "worst": 1}[objective]
    nv = ox + n_extra
    cvec = np.zeros(nv)
    rows = Rows()
    add = rows.add
    for j, o in enumerate(nz):  # z - Σ_T p + Σ_{D∖T} p ≥ 1 - |T|
        d, T = groups[out_g[o]], out_t[o]
        add([(oz + j, 1.0)] + [(op + a, -1.0) for a in T] + [(op + a, 1.0) for a in d if a not in T],
            1.0 - len(T), np.inf)
    for g in range(ng):  # v_g = Σ m z
        js = np.flatnonzero(np.asarray(out_g)[nz] == g) if nzn else np.zeros(0, dtype=np.int64)
        add([(ov + g, 1.0)] + [(oz + int(j), -float(vals[nz[j]])) for j in js], 0.0, 0.0)
    N = float(ss.n)
    if objective == "expected":
        cvec[ov:ov + ng] = mult / N
    elif objective == "cvar95":
        cvec[ox] = 1.0
        cvec[ox + 1:] = mult / (ALPHA * N)
        for g in range(ng):  # u_g - v_g + eta >= 0
            add([(ox + 1 + g, 1.0), (ov + g, -1.0), (ox, 1.0)], 0.0, np.inf)
    elif objective == "worst":
        cvec[ox] = 1.0
        for g in range(ng):
            add([(ox, 1.0), (ov + g, -1.0)], 0.0, np.inf)
    else:
        raise ScenarioError("unknown objective", field="objective", value=objective)
    c = np.ones(na) if costs is None else np.asarray(costs, dtype=float)
    add([(op + a, float(c[a])) for a in range(na)], -np.inf, float(budget))
    ub = np.full(nv, np.inf)
    ub[:na] = 1.0 if eligible is None else np.asarray(eligible, dtype=float)
    lb = np.zeros(nv)
    if objective == "cvar95":
        lb[ox] = -np.inf
    integ = np.r_[np.ones(na), np.zeros(nv - na)]
    res = solve_milp(cvec, rows, lb, ub, integ, time_limit_s=time_limit_s)
    if res.x is None:
        raise SolverError(f"HiGHS found no protection plan: {res.message}")
    chosen = [int(a) for a in np.flatnonzero(res.x[:na] > 0.5)]
    # the value, re-measured from the outcome table
    T_of = {g: tuple(a for a in d if a in set(chosen)) for g, d in enumerate(groups)}
    lookup = {(g, T): float(v) for g, T, v in zip(out_g, out_t, vals)}
    v_s = np.array([lookup[(int(g), T_of[int(g)])] for g in inv])
    status = "optimal" if res.status == 0 else "time_limit"
    return MilpPlan(chosen=chosen, value=_obj(v_s, objective), status=status,
                    gap=0.0 if status == "optimal" else float(getattr(res, "mip_gap", np.nan) or np.nan),
                    seconds=time.perf_counter() - t0, outcomes=total)


def _obj(v: np.ndarray, kind: str) -> float:
    return objective(v, kind)
