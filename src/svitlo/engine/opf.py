"""``opf`` mode: DC optimal load shedding under branch ratings and generator limits, solved with HiGHS.

All energised islands are solved in one block LP (islands share no variable or row, so this is the same as one
LP per island, with one solver call). Variables, for every bus, generator and load of an energised island:

* ``θ_b`` voltage angle (rad), fixed to 0 at the island's reference bus;
* ``P_g`` generator output (MW), ``0 <= P_g <= p_max``; ``p_min`` is relaxed to 0 by default: in an emergency
  a unit may be tripped or held at zero rather than force load to be shed (``p_min="case"`` keeps the case's
  minimum, which can make an island infeasible); an external grid (:func:`svitlo.engine.dispatch.export_limit_mw`)
  runs down to ``-export`` in both cases: it may absorb an island's surplus (export, a reverse flow);
* ``s_l`` shed of a positive load (MW), ``0 <= s_l <= p_l``;
* ``c_l`` curtailment of a negative load (a source modelled as negative demand, MW), ``0 <= c_l <= -p_l``.

Rows: the DC power balance at every bus (MATPOWER's ``Bbus θ = P - Pbusinj``, in MW) and, for every branch
with a finite rating, ``|base_mva b (θ_f - θ_t - φ)| <= rate_mw``.

The objective is lexicographic, so shedding always dominates cost exactly (no big-M weights):

1. the shed. With ``strict_priority=True`` (the default, the policy of the ``balance`` rule) one LP per tier,
   most critical first: minimise the MW shed of that tier with every more critical tier's shed held at its
   optimum, so no amount of less critical shed ever buys a megawatt of more critical load (stage-wise LPs rather
   than weights scaled far apart: each stage is an unweighted MW objective, so no badly scaled coefficients reach
   the solver). With ``strict_priority=False``: one LP minimising the priority-weighted shed ``Σ w(tier_l) s_l``
   (weights per tier from :func:`svitlo.model.tiers.default_tier_weights` or ``tier_weights``; a tier beyond
   the largest weighted one gets a tenth of the weight of the tier before it), which trades tiers at the ratio
   of their weights;
2. with every shed stage held at its optimum (each bound loosened by the relative tolerance
   :data:`STAGE2_REL_TOL` and the absolute :data:`STAGE_ABS_TOL`, so the next stage starts from a strictly
   feasible point), minimise generation cost:
   each generator's cost curve (:mod:`svitlo.model.costs`: quadratic ``c2 P² + c1 P + c0`` as a HiGHS QP,
   piecewise-linear through one epigraph variable ``y_g >= f_k + s_k (P_g - p_k)`` per segment), plus a
   curtailment cost above every marginal generator cost, so sources modelled as negative load are curtailed last.
   Should HiGHS not solve stage 2, the stage-1 solution is kept (``info["opf"]["cost_stage"] = "fallback"``):
   the shed is optimal and only the cost tie-break is lost, so opf never fails on a feasible damage state.
   Should a later shed stage of strict priority not solve, the last solved stage is kept (flagged
   ``"shed_fallback"``): the more critical tiers are optimal, the less critical ones may shed more than needed.

With ``on_infeasible="flag"`` an infeasible problem (ratings that cannot all hold, or units held at ``p_min``
above what their island can take) is solved with elastic ratings and minimums: a first stage minimises the MW of
overload and of output below ``p_min``, then the shed and cost stages follow; the branches and units relaxed are
listed in ``info["opf"]``.

Binding branches (at their rating) are reported with a shadow price: the priority-weighted MW of shed that one
more MW of rating would avoid (with strict priority: of the most critical tier that is shed, times its weight).

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> from svitlo.engine.damage import apply_damage
>>> from svitlo.topology.islands import islands
>>> cg = compile_grid(svitlo.load_grid("case9"))
>>> dmg = apply_damage(cg, ["line:3"])
>>> labels, n = islands(cg.n_bus, cg.br_f, cg.br_t, dmg.branch_alive, dmg.bus_alive)
>>> r = opf_dispatch(cg, dmg, labels, n)
>>> r.info["opf"]["status"], round(float(r.shed_mw.sum()), 6)
('optimal', 0.0)
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from svitlo.engine.damage import DamageState
from svitlo.engine.dcflow import slack_references
from svitlo.engine.dispatch import energised_islands, export_limit_mw
from svitlo.errors import MissingDependencyError, SolverError
from svitlo.model.compiled import CompiledGrid
from svitlo.model.costs import generation_cost, marginal_cost_bound
from svitlo.model.tiers import tier_weight_array

__all__ = ["OpfResult", "opf_dispatch", "STAGE2_REL_TOL", "STAGE_ABS_TOL"]

#: Relative slack on a stage's optimum when it bounds the next stages (``z (1 + tol) + abs``, MW).
STAGE2_REL_TOL = 1e-8
#: Absolute slack on a stage's optimum when it bounds the next stages (MW).
STAGE_ABS_TOL = 1e-9
#: Feasibility tolerance of the cost stage (MW-scaled rows).
STAGE2_FEAS_TOL = 1e-7
_QP_REGULARIZATION = 1e-10

_BANNER_LOCK = threading.Lock()
_BANNER_DONE = False


@dataclass(frozen=True, eq=False)
class OpfResult:
    """Result of :func:`opf_dispatch` (arrays in MW, per generator / load / branch / island of the grid).

    Attributes
    ----------
    gen_p_mw
        Dispatch per generator (0 off or in dark islands).
    load_served_mw
        Served power per load (MW); 0 for loads not in an energised island.
    shed_mw
        Shed per load in energised islands (MW; positive loads only).
    energised, capacity_mw
        Per island, as in :class:`svitlo.engine.dispatch.Dispatch`.
    flow_mw
        Branch flows of the LP solution (MW).
    binding
        Table of branches at their rating: id, island, flow_mw, rate_mw, loading_percent, shadow_shed_per_mw.
    info
        ``{"opf": {...}}``: status, weighted shed, cost, counts, options used.
    """

    gen_p_mw: np.ndarray
    load_served_mw: np.ndarray
    shed_mw: np.ndarray
    energised: np.ndarray
    capacity_mw: np.ndarray
    flow_mw: np.ndarray
    binding: pd.DataFrame
    info: dict[str, Any]

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Tables for :attr:`svitlo.engine.impact.Impact.extras`."""
        return {"binding": self.binding}


def _highspy():
    try:
        import highspy
    except ImportError:
        raise MissingDependencyError("the opf mode needs HiGHS (highspy)", extra="opf") from None
    return highspy


def _new_highs():
    """A silent HiGHS instance. HiGHS prints a banner on fd 1 the first time one is built in a process: keep
    it off stdout so ``--json`` output stays clean."""
    global _BANNER_DONE
    highspy = _highspy()

    with _BANNER_LOCK:
        if _BANNER_DONE:
            h = highspy.Highs()
        else:
            sys.stdout.flush()
            saved = os.dup(1)
            try:
                with open(os.devnull, "w") as null:
                    os.dup2(null.fileno(), 1)
                    h = highspy.Highs()
            finally:
                os.dup2(saved, 1)
                os.close(saved)
            _BANNER_DONE = True
    h.setOptionValue("output_flag", False)
    return h


def _status_name(h) -> str:
    return h.modelStatusToString(h.getModelStatus()).lower()


def opf_dispatch(cg: CompiledGrid, damage: DamageState, labels: np.ndarray, n_islands: int, *,
                 tier_weights: dict[int, float] | None = None, p_min: Literal["zero", "case"] = "zero",
                 cost_stage: bool = True, on_infeasible: Literal["raise", "flag"] = "raise",
                 tolerance: float = 1e-9, strict_priority: bool = True) -> OpfResult:
    """DC optimal load shedding for every energised island (pure; see the module docstring).

    Parameters
    ----------
    cg, damage
        Compiled grid and survival masks.
    labels, n_islands
        Island per bus (-1 dead) and island count, from :func:`svitlo.topology.islands.islands`.
    tier_weights
        Shed weight per tier (default :func:`svitlo.model.tiers.default_tier_weights`).
    p_min
        ``"zero"`` (default): generators may go down to 0 MW. ``"case"``: keep the case's ``p_min_mw``.
    cost_stage
        Run stage 2 (minimum generation cost at the optimal weighted shed).
    on_infeasible
        ``"raise"``: an infeasible LP raises :class:`SolverError`. ``"flag"``: ratings and minimum outputs become
        elastic (overload and output below ``p_min`` minimised before any shed), ``info["opf"]["status"]`` is
        ``"ratings_relaxed"`` (or ``"p_min_relaxed"`` when only minimums gave way) and the branches and units
        relaxed are listed in ``info["opf"]["relaxed_branches"]`` and ``info["opf"]["relaxed_units"]``.
    tolerance
        HiGHS primal and dual feasibility tolerance (MW-scaled rows).
    strict_priority
        True (default): tiers lexicographically, most critical first (one LP per tier). False: one LP on the
        priority-weighted shed (tiers traded at the ratio of their weights).

    Raises
    ------
    SolverError
        When HiGHS fails, or the LP is infeasible and ``on_infeasible="raise"``.
    """
    lp = _build(cg, damage, labels, n_islands, tier_weights=tier_weights, p_min=p_min)
    h = _new_highs()
    for opt in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
        h.setOptionValue(opt, float(tolerance))
    status, x, duals, z1, z2, stage = _solve(h, lp, elastic=False, cost_stage=cost_stage,
                                             strict=strict_priority)
    relaxed: list[str] = []
    if status == "infeasible":
        if on_infeasible != "flag":
            raise SolverError(f"DC OPF infeasible on grid {cg.name!r}: no dispatch and shedding meets every "
                              f"branch rating and generator limit (p_min={p_min!r}); use "
                              "on_infeasible='flag' to relax ratings and minimum outputs")
        h = _new_highs()
        for opt in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
            h.setOptionValue(opt, float(tolerance))
        status, x, duals, z1, z2, stage = _solve(h, lp, elastic=True, cost_stage=cost_stage,
                                                 strict=strict_priority)
        if status != "optimal":
            raise SolverError(f"DC OPF with relaxed ratings and minimum outputs failed on grid {cg.name!r}: "
                              f"HiGHS status {status!r}")
        status = "ratings_relaxed"
    elif status != "optimal":
        raise SolverError(f"DC OPF failed on grid {cg.name!r}: HiGHS status {status!r}")
    return _result(cg, lp, x, duals, z1, z2, status, relaxed, p_min=p_min, stage=stage,
                   strict=strict_priority)


@dataclass(frozen=True, eq=False)
class _Lp:
    energised: np.ndarray
    capacity_mw: np.ndarray
    en_bus: np.ndarray        # bus indices with a θ variable
    gens: np.ndarray          # generator indices with a P variable
    pos: np.ndarray           # positive loads with a shed variable
    neg: np.ndarray           # negative loads with a curtailment variable
    rated: np.ndarray         # branch indices with a rating row
    flow_br: np.ndarray       # branch indices in energised islands (flows)
    a: sp.csc_matrix
    row_lo: np.ndarray
    row_hi: np.ndarray
    col_lo: np.ndarray
    col_hi: np.ndarray
    w_shed: np.ndarray        # stage-1 cost per column
    c_cost: np.ndarray        # stage-2 linear cost per column
    q_diag: np.ndarray        # stage-2 Hessian diagonal per column (2 c2 on generator columns)
    c_const: float            # constant cost of the dispatched units (Σ c0)
    flow_mat: sp.csr_matrix   # flows of flow_br = flow_mat @ x + flow_off (MW)
    flow_off: np.ndarray
    n_bal: int


def _build(cg: CompiledGrid, damage: DamageState, labels: np.ndarray, n_islands: int, *,
           tier_weights: dict[int, float] | None, p_min: str) -> _Lp:

    base = cg.base_mva
    energised = energised_islands(labels, n_islands, cg.gen_bus, cg.gen_forms_island, damage.gen_alive)
    bus_en = np.zeros(cg.n_bus, dtype=bool)
    ok = labels >= 0
    bus_en[ok] = energised[labels[ok]]
    en_bus = np.flatnonzero(bus_en)
    col_of_bus = np.full(cg.n_bus, -1, dtype=np.int64)
    col_of_bus[en_bus] = np.arange(en_bus.size)
    n_th = en_bus.size

    gmask = damage.gen_alive & bus_en[cg.gen_bus]
    gens = np.flatnonzero(gmask)
    pmax = np.maximum(np.where(np.isnan(cg.gen_p_max_mw), 0.0, cg.gen_p_max_mw), 0.0)
    cap = np.zeros(n_islands)
    inf_cap = np.zeros(n_islands, dtype=bool)
    if gens.size:
        gi = labels[cg.gen_bus[gens]]
        fin = np.isfinite(pmax[gens])
        cap = np.bincount(gi[fin], weights=pmax[gens][fin], minlength=n_islands).astype(float)
        inf_cap[gi[~fin]] = True
    cap = np.where(inf_cap, np.inf, cap)

    lmask = damage.load_alive & bus_en[cg.load_bus]
    pos = np.flatnonzero(lmask & (cg.load_p_mw > 0))
    neg = np.flatnonzero(lmask & (cg.load_p_mw < 0))
    fixed = np.flatnonzero(lmask)
    ng, npos, nneg = gens.size, pos.size, neg.size
    pwl_g = np.array([k for k, j in enumerate(gens) if int(j) in cg.gen_pwl], dtype=np.int64)
    npwl = pwl_g.size
    n_col = n_th + ng + npos + nneg + npwl
    c_g, c_s, c_c, c_y = n_th, n_th + ng, n_th + ng + npos, n_th + ng + npos + nneg

    flow_br = np.flatnonzero(damage.branch_alive & bus_en[cg.br_f] & bus_en[cg.br_t])
    b = cg.br_b_pu[flow_br]
    sh = cg.br_shift_rad[flow_br]
    nf = flow_br.size
    # flow rows: base * b * (θ_f - θ_t) - base * b * φ
    rows = np.repeat(np.arange(nf), 2)
    cols = np.column_stack([col_of_bus[cg.br_f[flow_br]], col_of_bus[cg.br_t[flow_br]]]).ravel()
    vals = np.repeat(base * b, 2) * np.tile([1.0, -1.0], nf)
    flow_mat = sp.csr_matrix((vals, (rows, cols)), shape=(nf, n_col))
    flow_off = -base * b * sh
    # balance rows: Σ_out flow - Σ_in flow - Σ P_g - Σ s_l + Σ c_l = -Σ p_l   (per energised bus)
    inc = sp.csr_matrix((np.tile([1.0, -1.0], nf), (rows, cols)), shape=(nf, n_th)) if nf else \
        sp.csr_matrix((0, n_th))
    bal_theta = (inc.T @ flow_mat[:, :n_th]).tocsr() if nf else sp.csr_matrix((n_th, n_th))
    shift_inj = np.asarray(inc.T @ flow_off).ravel() if nf else np.zeros(n_th)
    gen_blk = sp.csr_matrix((-np.ones(ng), (col_of_bus[cg.gen_bus[gens]], np.arange(ng))), shape=(n_th, ng))
    shed_blk = sp.csr_matrix((-np.ones(npos), (col_of_bus[cg.load_bus[pos]], np.arange(npos))),
                             shape=(n_th, npos))
    curt_blk = sp.csr_matrix((np.ones(nneg), (col_of_bus[cg.load_bus[neg]], np.arange(nneg))),
                             shape=(n_th, nneg))
    bal = sp.hstack([bal_theta, gen_blk, shed_blk, curt_blk, sp.csr_matrix((n_th, npwl))], format="csr")
    rhs: np.ndarray = -np.bincount(col_of_bus[cg.load_bus[fixed]], weights=cg.load_p_mw[fixed], minlength=n_th)
    rhs = rhs - shift_inj

    rate = cg.br_rate_mw[flow_br]
    has_rate = np.isfinite(rate)
    rated = flow_br[has_rate]
    # piecewise-linear costs: y_g - s_k P_g >= f_k - s_k p_k for every segment k of generator g
    pr: list = []
    pc: list = []
    pv: list = []
    plo: list = []
    for m, k in enumerate(pwl_g):
        pp_, cc = cg.gen_pwl[int(gens[k])]
        sl = np.diff(cc) / np.diff(pp_)
        for q in range(sl.size):
            r = len(plo)
            pr += [r, r]
            pc += [c_y + m, c_g + k]
            pv += [1.0, -sl[q]]
            plo.append(cc[q] - sl[q] * pp_[q])
    pwl_rows = sp.csr_matrix((pv, (pr, pc)), shape=(len(plo), n_col))
    a = sp.vstack([bal, flow_mat[np.flatnonzero(has_rate)], pwl_rows], format="csc")
    row_lo = np.concatenate([rhs, -rate[has_rate] - flow_off[has_rate], plo])
    row_hi = np.concatenate([rhs, rate[has_rate] - flow_off[has_rate], np.full(len(plo), np.inf)])

    inf = np.inf
    col_lo = np.full(n_col, -inf)
    col_hi = np.full(n_col, inf)
    refs = slack_references(cg, labels, n_islands, damage.gen_alive)
    ref_en = refs[(refs >= 0) & energised] if n_islands else np.zeros(0, dtype=np.int64)
    col_lo[col_of_bus[ref_en]] = 0.0
    col_hi[col_of_bus[ref_en]] = 0.0
    lo_g = np.zeros(ng) if p_min == "zero" else np.clip(np.nan_to_num(cg.gen_p_min_mw[gens]), 0.0, pmax[gens])
    export = export_limit_mw(cg)[gens]  # external grids may absorb power down to their negative p_min
    lo_g = np.where(export > 0, -export, lo_g)
    col_lo[c_g:c_s] = lo_g
    col_hi[c_g:c_s] = pmax[gens]
    col_lo[c_s:c_c] = 0.0
    col_hi[c_s:c_c] = cg.load_p_mw[pos]
    col_lo[c_c:c_y] = 0.0
    col_hi[c_c:c_y] = -cg.load_p_mw[neg]  # epigraph columns (c_y on) stay free

    w_shed = np.zeros(n_col)
    w_shed[c_s:c_c] = tier_weight_array(cg.load_tier[pos], tier_weights)
    c_cost = np.zeros(n_col)
    q_diag = np.zeros(n_col)
    poly = np.ones(ng, dtype=bool)
    poly[pwl_g] = False
    c_cost[c_g:c_s] = np.where(poly, np.nan_to_num(cg.gen_cost[gens]), 0.0)
    q_diag[c_g:c_s] = np.where(poly, 2.0 * np.nan_to_num(cg.gen_cost_c2[gens]), 0.0)
    c_cost[c_c:c_y] = marginal_cost_bound(cg, gens, pmax[gens]) + 1.0
    c_cost[c_y:] = 1.0
    c_const = float(np.nan_to_num(cg.gen_cost_c0[gens])[poly].sum())
    return _Lp(energised=energised, capacity_mw=cap, en_bus=en_bus, gens=gens, pos=pos, neg=neg, rated=rated,
               flow_br=flow_br, a=a, row_lo=row_lo, row_hi=row_hi, col_lo=col_lo, col_hi=col_hi,
               w_shed=w_shed, c_cost=c_cost, q_diag=q_diag, c_const=c_const, flow_mat=flow_mat,
               flow_off=flow_off, n_bal=n_th)


def _stages(lp: _Lp, w: np.ndarray, strict: bool) -> tuple[list[np.ndarray], list[float]]:
    """The shed objectives in lexicographic order and the weight that turns each stage's dual into weighted MW."""
    if not strict:
        return [w], [1.0]
    vals = np.unique(w[w > 0])[::-1]  # most critical (largest weight) first
    if not vals.size:
        return [w], [1.0]
    return [np.where(w == v, 1.0, 0.0) for v in vals], [float(v) for v in vals]


def _solve(h, lp: _Lp, *, elastic: bool, cost_stage: bool, strict: bool = True):
    """The shed stages (lexicographic), then the cost stage. Returns status, x, row duals (of the stage that
    prices the ratings, in weighted MW), weighted shed, cost and the cost stage's outcome."""
    import highspy

    a, col_lo, col_hi, w, c, q = lp.a, lp.col_lo, lp.col_hi, lp.w_shed, lp.c_cost, lp.q_diag
    n_base = a.shape[1]
    row_lo, row_hi = lp.row_lo, lp.row_hi
    n_rated = lp.rated.size
    n_slack = 0
    if elastic:
        # overload slacks on every rating row (rating row - o+ + o- in [lo, hi]) and, for units held at a
        # minimum, a slack below it (P_g + u_g >= p_min, P_g >= 0)
        ng = lp.gens.size
        c_g = lp.en_bus.size
        lo_g = col_lo[c_g:c_g + ng]
        held = np.flatnonzero(lo_g > 0)
        a = a.tocsr()
        if n_rated:
            eye = sp.identity(n_rated, format="csr")
            top = sp.csr_matrix((lp.n_bal, 2 * n_rated))
            bottom = sp.csr_matrix((a.shape[0] - lp.n_bal - n_rated, 2 * n_rated))
            a = sp.hstack([a, sp.vstack([top, sp.hstack([-eye, eye]), bottom])], format="csr")
        if held.size:
            rows = sp.csr_matrix((np.ones(held.size), (np.arange(held.size), c_g + held)),
                                 shape=(held.size, a.shape[1]))
            u = sp.vstack([sp.csr_matrix((a.shape[0], held.size)), sp.identity(held.size, format="csr")])
            a = sp.hstack([sp.vstack([a, rows]), u], format="csr")
            row_lo = np.concatenate([row_lo, lo_g[held]])
            row_hi = np.concatenate([row_hi, np.full(held.size, np.inf)])
            col_lo = col_lo.copy()
            col_lo[c_g + held] = 0.0
        a = a.tocsc()
        n_slack = a.shape[1] - n_base
        col_lo = np.concatenate([col_lo, np.zeros(n_slack)])
        col_hi = np.concatenate([col_hi, np.full(n_slack, np.inf)])
        w = np.concatenate([w, np.zeros(n_slack)])
        c = np.concatenate([c, np.zeros(n_slack)])
        q = np.concatenate([q, np.zeros(n_slack)])
    n_col = a.shape[1]
    if n_col == 0:
        return "optimal", np.zeros(0), np.zeros(0), 0.0, lp.c_const, "none"
    objectives, scale = _stages(lp, w, strict)
    if elastic:
        objectives.insert(0, np.r_[np.zeros(n_base), np.ones(n_slack)])
        scale.insert(0, 0.0)
    inf = highspy.kHighsInf
    model = highspy.HighsLp()
    model.num_col_ = n_col
    model.num_row_ = a.shape[0]
    model.col_cost_ = objectives[0]
    model.col_lower_ = np.where(np.isinf(col_lo), -inf, col_lo)
    model.col_upper_ = np.where(np.isinf(col_hi), inf, col_hi)
    model.row_lower_ = np.where(np.isinf(row_lo), -inf, row_lo)
    model.row_upper_ = np.where(np.isinf(row_hi), inf, row_hi)
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = a.indptr.astype(np.int32)
    model.a_matrix_.index_ = a.indices.astype(np.int32)
    model.a_matrix_.value_ = a.data.astype(float)
    h.passModel(model)
    h.run()
    status = _status_name(h)
    if status != "optimal":
        return ("infeasible" if "infeasible" in status else status), None, None, None, None, "none"
    sol = h.getSolution()
    x = np.asarray(sol.col_value)
    n_row0 = a.shape[0]

    def row_duals(k: int) -> np.ndarray:
        s_ = h.getSolution()
        d = np.asarray(s_.row_dual)[:n_row0] if s_.dual_valid else np.full(n_row0, np.nan)
        return d * scale[k]

    duals = row_duals(0) if (scale[0] > 0 or len(objectives) == 1) else np.zeros(n_row0)
    priced = scale[0] > 0 and float(objectives[0] @ x) > STAGE_ABS_TOL
    stage = "none"
    all_idx = np.arange(n_col, dtype=np.int32)
    for k in range(1, len(objectives) + 1):
        prev = objectives[k - 1]
        z = float(prev @ x)
        nz = np.flatnonzero(prev)
        bound = z + STAGE2_REL_TOL * abs(z) + STAGE_ABS_TOL
        h.addRow(-inf, bound, nz.size, nz.astype(np.int32), prev[nz])
        if k == len(objectives):
            break
        h.changeColsCost(n_col, all_idx, objectives[k])
        h.run()
        if _status_name(h) != "optimal":
            return "optimal", x, duals, float(w @ x), _cost(c, q, x, lp.c_const), "shed_fallback"
        x = np.asarray(h.getSolution().col_value)
        if not priced and scale[k] > 0:
            duals = row_duals(k)
            priced = float(objectives[k] @ x) > STAGE_ABS_TOL
    z1 = float(w @ x)
    z2 = _cost(c, q, x, lp.c_const)
    if cost_stage and (np.any(c != 0) or np.any(q != 0)):
        h.changeColsCost(n_col, all_idx, c)
        qn = np.flatnonzero(q)
        if qn.size:
            start = np.searchsorted(qn, np.arange(n_col + 1)).astype(np.int32)
            h.passHessian(n_col, int(qn.size), int(highspy.HessianFormat.kTriangular), start,
                          qn.astype(np.int32), q[qn].astype(float))
        # the QP solver ends a hair outside tight LP tolerances on larger cases: 1e-7 MW is far below any
        # physical meaning
        for opt in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
            h.setOptionValue(opt, max(float(h.getOptionValue(opt)[1]), STAGE2_FEAS_TOL))
        # HiGHS's active-set QP cycles on degenerate split-grid problems with its default regularisation; a
        # smaller one and an iteration bound (then the stage-1 fallback) keep it finite
        h.setOptionValue("qp_regularization_value", _QP_REGULARIZATION)
        h.setOptionValue("qp_iteration_limit", max(20_000, 10 * n_col))
        h.run()
        status = _status_name(h)
        x2 = np.asarray(h.getSolution().col_value) if status == "optimal" else None
        if x2 is not None and _within(objectives, x, x2):
            x, stage = x2, "optimal"
            z1, z2 = float(w @ x), _cost(c, q, x, lp.c_const)
        else:
            stage = "fallback"  # keep the shed stages' optimum: shed optimal, cost tie-break lost
    return "optimal", x, duals, z1, z2, stage


def _cost(c: np.ndarray, q: np.ndarray, v: np.ndarray, c0: float) -> float:
    return float(c @ v + 0.5 * (q * v) @ v) + c0


def _within(objectives: list[np.ndarray], x: np.ndarray, x2: np.ndarray) -> bool:
    """Whether the cost stage's point keeps every shed stage at its optimum (within the QP's tolerance)."""
    for o in objectives:
        z = float(o @ x)
        if float(o @ x2) > z + STAGE2_REL_TOL * abs(z) + STAGE_ABS_TOL + 1e-6 * (abs(z) + 1.0):
            return False
    return True


def _result(cg: CompiledGrid, lp: _Lp, x: np.ndarray, duals: np.ndarray, z1: float, z2: float, status: str,
            relaxed: list[str], *, p_min: str, stage: str = "none", strict: bool = True) -> OpfResult:
    n_th, ng, npos = lp.en_bus.size, lp.gens.size, lp.pos.size
    c_g, c_s, c_c = n_th, n_th + ng, n_th + ng + npos
    n_base = lp.flow_mat.shape[1]
    xb = x[:n_base]
    gen_p = np.zeros(cg.n_gen)
    elastic = status == "ratings_relaxed"
    lo_g = lp.col_lo[c_g:c_s]
    gen_p[lp.gens] = np.clip(xb[c_g:c_s], np.minimum(lo_g, 0.0) if elastic else lo_g, lp.col_hi[c_g:c_s])
    below = lp.gens[gen_p[lp.gens] < lo_g - 1e-6 * np.maximum(1.0, lo_g)] if elastic else lp.gens[:0]
    relaxed_units = [str(i) for i in cg.gen_ids[below]]
    shed = np.zeros(cg.n_load)
    shed[lp.pos] = np.clip(xb[c_s:c_c], 0.0, cg.load_p_mw[lp.pos])
    served = np.zeros(cg.n_load)
    served[lp.pos] = cg.load_p_mw[lp.pos] - shed[lp.pos]
    curt = np.clip(xb[c_c:c_c + lp.neg.size], 0.0, -cg.load_p_mw[lp.neg])
    served[lp.neg] = cg.load_p_mw[lp.neg] + curt
    flow = np.zeros(cg.n_branch)
    flow[lp.flow_br] = lp.flow_mat @ xb + lp.flow_off

    rate = cg.br_rate_mw[lp.rated]
    fr = flow[lp.rated]
    tol = 1e-6 * np.maximum(1.0, rate)
    at = np.abs(fr) >= rate - tol
    if elastic:
        over = np.abs(fr) > rate + tol
        relaxed = [str(i) for i in cg.branch_ids[lp.rated[over]]]
        if relaxed_units and not relaxed:
            status = "p_min_relaxed"
    d = duals[lp.n_bal:lp.n_bal + lp.rated.size] if duals.size else np.zeros(lp.rated.size)
    br = lp.rated[at]
    with np.errstate(divide="ignore", invalid="ignore"):
        loading = np.abs(fr[at]) / rate[at] * 100.0
    binding = pd.DataFrame({
        "id": cg.branch_ids[br], "from_bus": cg.bus_ids[cg.br_f[br]], "to_bus": cg.bus_ids[cg.br_t[br]],
        "flow_mw": fr[at], "rate_mw": rate[at], "loading_percent": loading,
        "shadow_shed_per_mw": np.abs(d[at]),
    })
    info = {"opf": {
        "status": status, "solver": "highs", "weighted_shed_mw": z1, "cost_stage": stage,
        "generation_cost": generation_cost(cg, gen_p, np.isin(np.arange(cg.n_gen), lp.gens)),
        "shed_mw": float(shed.sum()), "binding_branches": int(br.size), "p_min": p_min,
        "variables": int(lp.a.shape[1]), "rows": int(lp.a.shape[0]), "relaxed_branches": relaxed,
        "relaxed_units": relaxed_units, "strict_priority": bool(strict),
    }}
    return OpfResult(gen_p_mw=gen_p, load_served_mw=served, shed_mw=shed, energised=lp.energised,
                     capacity_mw=lp.capacity_mw, flow_mw=flow, binding=binding, info=info)
