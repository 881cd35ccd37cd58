"""Exact worst-case ``k``: enumeration of all C(n, k) sets, or a bilevel attacker–defender MILP on HiGHS.

**Enumeration** evaluates every set with the batched engine (any metric, any grid); it is exact by
construction and practical while C(n, k) stays in the low millions.

**MILP.** The attacker picks ``x`` (at most ``k`` candidates); the defender then minimises (weighted) shed.
Under the ``balance`` rule, line ratings play no part in shedding, so the defender's problem is a transport
problem on the surviving network with uncapacitated branches::

    min  Σ_d w_d s_d   s.t.  per bus n:  Σ_{g∈n} p_g + Σ_e (inflow − outflow)_e + Σ_{d∈n} s_d = Σ_{d∈n} D_d
                             0 ≤ p_g ≤ P_g (1 − x_g − x_{bus(g)}),  0 ≤ s_d ≤ D_d,  f_e = 0 if e or an end is lost

whose value is Σ over islands of the priority-weighted deficit max(0, D_C − P_C) — exactly the ``balance``
rule's shed when every generator can form an island. Its LP dual has one price ``π_n ∈ [0, w_max]`` per bus,
equal across every surviving branch; maximising the dual jointly over ``x`` and ``π`` gives the single-level
MILP (Salmeron, Wood & Baldick, IEEE TPWRS 19(2), 2004; Arroyo & Galiana, IEEE TPWRS 20(3), 2005, with a
transport inner problem)::

    max  Σ_d D_d u_d − Σ_g P_g (π_{n(g)} − z_g)
    s.t. |π_f(e) − π_t(e)| ≤ w_max (x_e + x_{f(e)} + x_{t(e)})   per in-service branch e
         u_d ≤ π_{n(d)},  0 ≤ u_d ≤ w_d;   0 ≤ z_g ≤ π_{n(g)},  z_g ≤ w_max (x_g + x_{n(g)});   Σ x ≤ k

The linearisation is exact (``z_g = π x`` at an optimum for binary ``x``). HiGHS reports the optimum or, at
its time limit, the incumbent and the gap. The MILP covers the metrics ``shed_mw`` and ``weighted_shed_mw``
and grids whose in-service generators can all form islands and whose loads are non-negative; the candidate
kinds may be buses, branches and generators.

References: J. Salmeron, K. Wood, R. Baldick, "Analysis of electric grid security under terrorist threat",
IEEE TPWRS 19(2), 2004; "Worst-case interdiction analysis of large-scale electric power grids", IEEE TPWRS
24(1), 2009. J. M. Arroyo, F. D. Galiana, "On the solution of the bilevel programming formulation of the
terrorist threat problem", IEEE TPWRS 20(3), 2005.

Examples
--------
>>> import svitlo
>>> from svitlo.analyses.sweep.evaluate import make_context
>>> from svitlo.analyses.rank.sets import candidates
>>> ctx = make_context(svitlo.parse_scenario({"grid": "case9"}))
>>> cand = candidates(ctx, ["line"])
>>> m, e = milp_worst_k(ctx, cand, k=2), enumerate_worst_k(ctx, cand, k=2)
>>> m.status, round(m.value, 6) == round(e.value, 6)
('optimal', True)
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

import numpy as np

from svitlo.analyses.milp import Rows, solve_milp
from svitlo.analyses.rank.search import TopSets
from svitlo.analyses.rank.sets import Candidates, evaluate_sets
from svitlo.analyses.sweep.evaluate import SweepContext
from svitlo.errors import ScenarioError
from svitlo.model.tiers import tier_weight_array

__all__ = ["ExactResult", "enumerate_worst_k", "milp_worst_k", "milp_supported"]


@dataclass(frozen=True)
class ExactResult:
    """Worst set, its value, ``status`` (``optimal`` or ``time_limit``), relative ``gap``, sets evaluated
    (enumeration) and seconds; ``top`` the worst sets seen (enumeration) or the optimum alone (MILP);
    ``objective`` the MILP's own objective value (MW; ``value`` is the engine's measure of ``best``)."""

    best: tuple[int, ...]
    value: float
    status: str
    gap: float
    evaluated: int
    seconds: float
    top: list[tuple[tuple[int, ...], float]]
    method: str
    objective: float | None = None


def _combos(n: int, k: int, chunk: int):
    it = itertools.combinations(range(n), k)
    while True:
        block = np.fromiter(itertools.chain.from_iterable(itertools.islice(it, chunk)), dtype=np.int64)
        if not block.size:
            return
        yield block.reshape(-1, k)


def enumerate_worst_k(ctx: SweepContext, cand: Candidates, *, k: int, metric: str = "shed_mw", keep: int = 50,
                      chunk: int = 100_000) -> ExactResult:
    """Evaluate all C(n, k) sets; the worst is the certified optimum."""
    t0 = time.perf_counter()
    top = TopSets(keep)
    for combos in _combos(cand.n, k, chunk):
        top.add(combos, np.asarray(evaluate_sets(ctx, cand, combos)[metric], dtype=float))
    ranked = top.ranked()
    return ExactResult(best=ranked[0][0], value=ranked[0][1], status="optimal", gap=0.0, evaluated=top.evaluated,
                       seconds=time.perf_counter() - t0, top=ranked, method="enumeration")


def milp_supported(ctx: SweepContext, cand: Candidates, metric: str) -> str | None:
    """None when :func:`milp_worst_k` models ``metric`` on this grid exactly, else the reason it does not."""
    cg = ctx.cg
    if metric not in ("shed_mw", "weighted_shed_mw"):
        return f"the MILP models shed_mw and weighted_shed_mw, not {metric}"
    if ctx.mode != "balance":
        return "the MILP models the balance rule (mode: balance)"
    if np.any(cand.cls == 3):
        return "the MILP does not model load candidates"
    on = cg.gen_in_service & cg.bus_in_service[cg.gen_bus]
    if np.any(on & ~cg.gen_forms_island):
        return "the grid has generators that cannot form an island"
    if np.any(cg.load_in_service & (cg.load_p_mw < 0)):
        return "the grid has negative loads"
    return None


def milp_worst_k(ctx: SweepContext, cand: Candidates, *, k: int, metric: str = "shed_mw",
                 time_limit_s: float = 300.0, mip_rel_gap: float = 1e-6) -> ExactResult:
    """Solve the attacker–defender MILP (module docstring) with HiGHS (through :func:`scipy.optimize.milp`)."""
    why = milp_supported(ctx, cand, metric)
    if why:
        raise ScenarioError(why, field="method", value="milp")
    t0 = time.perf_counter()
    cg = ctx.cg
    nb, nc = cg.n_bus, cand.n
    tiers = np.unique(cg.load_tier).astype(np.int64)
    w_t = tier_weight_array(tiers, ctx.tier_weights) if metric == "weighted_shed_mw" else np.ones(tiers.size)
    lw = w_t[np.searchsorted(tiers, cg.load_tier)]
    bus_ok = cg.bus_in_service
    lmask = cg.load_in_service & (cg.load_p_mw > 0)
    orphan = lmask & ~bus_ok[cg.load_bus]
    lmask &= bus_ok[cg.load_bus]
    gmask = cg.gen_in_service & bus_ok[cg.gen_bus] & (cg.gen_p_max_mw > 0)
    bmask = cg.br_in_service & bus_ok[cg.br_f] & bus_ok[cg.br_t]
    wmax = float(lw[lmask].max()) if lmask.any() else 1.0
    total = float(cg.load_p_mw[lmask].sum())
    L, G, E = np.flatnonzero(lmask), np.flatnonzero(gmask), np.flatnonzero(bmask)
    # candidate position of each bus / branch / gen (-1: cannot be lost)
    pos = {c: np.full(n, -1, dtype=np.int64) for c, n in ((0, nb), (1, cg.n_branch), (2, cg.n_gen))}
    for j in range(nc):
        pos[int(cand.cls[j])][cand.idx[j]] = j
    # variables: x (nc) | pi (nb) | u (|L|) | z (|G|)
    ox, op, ou, oz = 0, nc, nc + nb, nc + nb + L.size
    nv = oz + G.size
    P = np.minimum(cg.gen_p_max_mw[G], total)  # an unbounded source never needs more than the whole load
    c = np.zeros(nv)
    c[ou:oz] = -cg.load_p_mw[L]
    np.add.at(c, op + cg.gen_bus[G], P)
    c[oz:] = -P
    rows = Rows()
    add = rows.add
    for e in E:  # ±(pi_f - pi_t) - wmax (x_e + x_f + x_t) <= 0
        f, t = int(cg.br_f[e]), int(cg.br_t[e])
        xs = [pos[1][e], pos[0][f], pos[0][t]]
        for sgn in (1.0, -1.0):
            add([(op + f, sgn), (op + t, -sgn)] + [(ox + x, -wmax) for x in xs if x >= 0], -np.inf, 0.0)
    for i, d in enumerate(L):  # u_d - pi_n <= 0
        add([(ou + i, 1.0), (op + int(cg.load_bus[d]), -1.0)], -np.inf, 0.0)
    for i, g in enumerate(G):  # z_g - pi_n <= 0 ; z_g - wmax (x_g + x_n) <= 0
        n = int(cg.gen_bus[g])
        add([(oz + i, 1.0), (op + n, -1.0)], -np.inf, 0.0)
        xs = [pos[2][g], pos[0][n]]
        add([(oz + i, 1.0)] + [(ox + x, -wmax) for x in xs if x >= 0], -np.inf, 0.0)
    add([(ox + j, 1.0) for j in range(nc)], 0.0, float(k))
    lb = np.zeros(nv)
    ub = np.r_[np.ones(nc), np.full(nb, wmax), lw[L], np.full(G.size, wmax)]
    integrality = np.r_[np.ones(nc), np.zeros(nv - nc)]
    res = solve_milp(c, rows, lb, ub, integrality, time_limit_s=time_limit_s, mip_rel_gap=mip_rel_gap)
    if res.x is None:
        from svitlo.errors import SolverError

        raise SolverError(f"HiGHS found no attack plan: {res.message}")
    chosen = tuple(int(j) for j in np.flatnonzero(res.x[:nc] > 0.5))
    const = float((cg.load_p_mw[orphan] * lw[orphan]).sum())
    # the value is re-measured by the engine; the MILP's own objective is kept as a check in the tests
    val = float(evaluate_sets(ctx, cand, np.array([list(chosen) + [-1] * (k - len(chosen))]))[metric][0])
    gap = float(getattr(res, "mip_gap", 0.0) or 0.0)
    status = "optimal" if res.status == 0 else "time_limit"
    return ExactResult(best=chosen, value=val, status=status, gap=gap if status != "optimal" else 0.0,
                       evaluated=1, seconds=time.perf_counter() - t0, top=[(chosen, val)], method="milp",
                       objective=const - float(res.fun))


def n_sets(n: int, k: int) -> int:
    """C(n, k)."""
    return math.comb(n, k)
