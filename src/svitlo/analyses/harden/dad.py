"""Worst-case protection: defender–attacker–defender over every ``k``-attack (small grids).

The defender protects a set ``P`` of candidates within the budget; the attacker then destroys up to ``k``
unprotected candidates, choosing the set that maximises the metric; the grid then settles (the ``balance``
rule). The plan minimises the attacker's best value ``W(P) = max_{|A| ≤ k, A ∩ P = ∅} v(A)``.

Decomposition (Brown, Carlyle, Salmerón & Wood 2006, with the attacker–defender problem as the oracle):

* **Oracle.** For a plan ``P``, the attacker's optimum ``W(P)`` and its attack ``A`` — the attacker–defender
  MILP of :func:`svitlo.analyses.rank.exact.milp_worst_k` over the unprotected candidates (or, for metrics it
  does not model, enumeration of every set). ``W(P)`` of any plan is an upper bound.
* **Master.** Binary ``w_j`` (protect candidate ``j``), ``η`` the worst value::

      min η   s.t.  Σ_j c_j w_j ≤ B,   η ≥ v(S) (1 − Σ_{j∈S} w_j)   for every subset S of every attack found,

  where ``v(S)`` is the engine's value of losing ``S``. Each cut is valid: when no asset of ``S`` is
  protected the attacker can still play ``S``, so ``W(P) ≥ v(S)``; otherwise its right side is ≤ 0. The cuts
  on the subsets of an attack say what a partial protection of it leaves. Every single candidate is a subset
  cut from the start (its N-1 value). The master's optimum is a lower bound.

The loop stops when the bounds meet (``gap`` ≤ ``tol``): a plan whose oracle attack is already cut gives
``η ≥ v(A) = W(P)``, so it ends after finitely many attacks. At the time limit the best plan found is returned
with its gap.

Reference: G. Brown, M. Carlyle, J. Salmerón, K. Wood, "Defending critical infrastructure", Interfaces 36(6),
2006, 530–544.

Examples
--------
>>> import svitlo
>>> from svitlo.analyses.sweep.evaluate import make_context
>>> from svitlo.analyses.rank.sets import candidates
>>> ctx = make_context(svitlo.parse_scenario({"grid": "case14"}))
>>> cand = candidates(ctx, ["line", "trafo"])
>>> r = dad_plan(ctx, cand, k=2, budget=1)
>>> r.status, r.value <= r.before, len(r.chosen)
('optimal', True, 1)
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from svitlo.analyses.rank.exact import enumerate_worst_k, milp_supported, milp_worst_k
from svitlo.analyses.rank.sets import Candidates, evaluate_sets
from svitlo.analyses.sweep.evaluate import SweepContext
from svitlo.errors import ScenarioError, SolverError

__all__ = ["DadPlan", "dad_plan", "worst_attack"]


@dataclass(frozen=True)
class DadPlan:
    """Chosen positions, ``value`` = the worst ``k``-attack's metric with them protected (certified when
    ``status`` is ``optimal``), ``before`` (nothing protected), the worst ``attack`` left, ``gap`` (relative),
    master ``iterations``, attacks found, seconds in all and in the oracle."""

    chosen: list[int]
    value: float
    before: float
    attack: list[int]
    status: str
    gap: float
    iterations: int
    seconds: float
    oracle_seconds: float
    attacks: list[tuple[list[int], float]] = field(default_factory=list)


def _sub(cand: Candidates, keep: np.ndarray) -> Candidates:
    return Candidates(ids=cand.ids[keep], cls=cand.cls[keep], idx=cand.idx[keep])


def worst_attack(ctx: SweepContext, cand: Candidates, *, k: int, protected: Sequence[int] = (), metric: str = "shed_mw",
                 time_limit_s: float = 300.0) -> tuple[list[int], float]:
    """The attacker's best ``k``-set (positions of ``cand``) avoiding ``protected`` and its value: the MILP where
    it models ``metric`` on this grid, else enumeration."""
    keep = np.ones(cand.n, dtype=bool)
    keep[list(protected)] = False
    pos = np.flatnonzero(keep)
    if pos.size == 0:
        return [], float(evaluate_sets(ctx, cand, np.array([[-1]]))[metric][0])
    sub = _sub(cand, keep)
    kk = min(int(k), pos.size)
    if milp_supported(ctx, sub, metric) is None:
        r = milp_worst_k(ctx, sub, k=kk, metric=metric, time_limit_s=time_limit_s)
        if r.status != "optimal":
            raise SolverError(f"the attacker MILP stopped at its time limit (gap {r.gap:.2%})")
    else:
        r = enumerate_worst_k(ctx, sub, k=kk, metric=metric, keep=1)
    return [int(pos[j]) for j in r.best], float(r.value)


def _values(ctx: SweepContext, cand: Candidates, sets: list[tuple[int, ...]], metric: str) -> np.ndarray:
    w = max(len(s) for s in sets)
    combos = np.array([list(s) + [-1] * (w - len(s)) for s in sets], dtype=np.int64)
    return np.asarray(evaluate_sets(ctx, cand, combos)[metric], dtype=float)


def dad_plan(ctx: SweepContext, cand: Candidates, *, k: int, budget: float, metric: str = "shed_mw",
             costs: np.ndarray | None = None, eligible: np.ndarray | None = None, tol: float = 1e-6,
             time_limit_s: float = 600.0) -> DadPlan:
    """Protect within ``budget`` (a count, or money with ``costs`` per position) to minimise the worst ``k``-attack
    over ``cand`` (module docstring); ``eligible`` masks the positions that may be protected."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    if not (isinstance(k, (int, np.integer)) and 1 <= k <= cand.n):
        raise ScenarioError(f"the attack size must be between 1 and {cand.n}", field="k", value=k)
    if not np.isfinite(budget) or budget < 0:
        raise ScenarioError("the budget must be a non-negative number", field="budget", value=budget)
    t0 = time.perf_counter()
    n = cand.n
    c = np.ones(n) if costs is None else np.asarray(costs, dtype=float)
    ok = np.ones(n, dtype=bool) if eligible is None else np.asarray(eligible, dtype=bool)
    cuts: dict[tuple[int, ...], float] = {}
    single = _values(ctx, cand, [(j,) for j in range(n)], metric)
    for j in range(n):
        cuts[(j,)] = float(single[j])
    t_or = 0.0
    best: tuple[float, list[int], list[int]] | None = None
    plan: list[int] = []
    attacks: list[tuple[list[int], float]] = []
    lb, it, status, before = 0.0, 0, "optimal", float("nan")
    while True:
        it += 1
        t1 = time.perf_counter()
        att, val = worst_attack(ctx, cand, k=k, protected=plan, metric=metric,
                                time_limit_s=max(1.0, time_limit_s - (t1 - t0)))
        t_or += time.perf_counter() - t1
        attacks.append((att, val))
        if it == 1 and not plan:
            before = val
        if best is None or val < best[0] - 1e-12:
            best = (val, list(plan), att)
        subsets = [s for r in range(2, len(att) + 1) for s in itertools.combinations(sorted(att), r)
                   if s not in cuts]
        if subsets:
            for s, v in zip(subsets, _values(ctx, cand, subsets, metric)):
                cuts[s] = float(v)
        if best[0] - lb <= tol * max(1.0, abs(best[0])):
            break
        if time.perf_counter() - t0 > time_limit_s:
            status = "time_limit"
            break
        # master: variables w (n) | eta
        keys = [s for s, v in cuts.items() if v > 0]
        rows = np.zeros((len(keys) + 1, n + 1))
        lo = np.full(len(keys) + 1, -np.inf)
        hi = np.zeros(len(keys) + 1)
        for r, s in enumerate(keys):  # v(S) sum_{j in S} w_j + eta >= v(S)
            rows[r, list(s)] = cuts[s]
            rows[r, n] = 1.0
            lo[r], hi[r] = cuts[s], np.inf
        rows[-1, :n] = c
        hi[-1] = float(budget)
        ub = np.r_[ok.astype(float), np.inf]
        res = milp(np.r_[np.zeros(n), 1.0], constraints=LinearConstraint(rows, lo, hi),
                   bounds=Bounds(np.zeros(n + 1), ub), integrality=np.r_[np.ones(n), 0.0],
                   options={"disp": False, "mip_rel_gap": 0.0})
        if res.x is None:
            raise SolverError(f"HiGHS failed on the protection master problem: {res.message}")
        lb = max(lb, float(res.fun))
        new = [int(j) for j in np.flatnonzero(res.x[:n] > 0.5)]
        if best[0] - lb <= tol * max(1.0, abs(best[0])):
            break
        plan = new
    value, chosen, att = best
    gap = max(0.0, (value - lb) / max(abs(value), 1e-12)) if value > 0 else 0.0
    return DadPlan(chosen=sorted(chosen), value=value, before=before, attack=sorted(att),
                   status=status if status == "time_limit" else "optimal", gap=gap if status == "time_limit" else 0.0,
                   iterations=it, seconds=time.perf_counter() - t0, oracle_seconds=t_or, attacks=attacks)


def n_attacks(n: int, k: int) -> int:
    """C(n, k): the attacks the plan is certified against."""
    return math.comb(n, k)
