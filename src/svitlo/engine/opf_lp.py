"""The LP of one state on the fast opf path (:mod:`svitlo.engine.opf_fast`): columns for generators,
curtailments and the sheds that may move, one balance row per energised island, stage rows, and rating rows of
the monitored branches, added as overloads are found; the shed stages with sheds called in by pricing, the cost
stage, and HiGHS's retries. See :mod:`svitlo.engine.opf_fast` for the method and why it is exact.

Examples
--------
>>> import svitlo
>>> from svitlo.engine.batch import evaluate_batch, outages_from_ids
>>> cg = svitlo.compile_grid(svitlo.load_grid("case30"))
>>> res = evaluate_batch(cg, outages_from_ids(cg, [["line:3", "line:10"]]), mode="opf")
>>> round(float(res.shed_mw[0]), 3), round(float(res.generation_mw[0]), 3)
(0.0, 189.2)
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from svitlo.engine.opf import STAGE2_FEAS_TOL, STAGE2_REL_TOL, STAGE_ABS_TOL, _status_name
from svitlo.engine.opf_net import Network
from svitlo.engine.state import bus_injections_mw
from svitlo.model.compiled import CompiledGrid

__all__ = ["LpOwner", "StateLp", "MAX_ROUNDS", "PRICE_TOL", "QP_FEAS_TOL", "SEED_PTDF", "SEED_SHEDS", "SMALL", "VIOLATION_TOL",
           "WATCH_LOADING"]

#: A branch whose checked flow exceeds its rating by more than this (relative to ``1 + rating``) is monitored.
VIOLATION_TOL = 1e-7
#: Largest row or bound violation (MW) accepted from a QP optimum HiGHS reports as a solve error.
QP_FEAS_TOL = 1e-6
#: Rounds of adding monitored branches before a state goes to the reference path.
MAX_ROUNDS = 30
#: A shed left out of the staged LP joins it when its reduced cost is below minus this (weighted MW per MW).
PRICE_TOL = 1e-9
#: The staged LP starts with the sheds of islands short of capacity and of loads whose bus moves the flow of a
#: branch at its rating, against the median generator bus, by at least this (MW per MW); pricing calls in any
#: other shed the optimum needs.
SEED_PTDF = 0.05
#: A branch binding at a past optimum is monitored from a state's first round when the intact dispatch loads
#: it to at least this share of its rating in that state.
WATCH_LOADING = 0.8
#: Smallest PTDF factor (MW per MW) a rating row keeps, and HiGHS's ``small_matrix_value``: its default (1e-9)
#: drops factors that add up to ~4e-5 MW over the 10 GW of case9241pegase (the rows then miss the flows and half
#: of its states went to the reference); HiGHS takes no value below 1e-12.
SMALL = 1e-11
#: At most this many sheds seed the staged LP (those that move the branches at their rating the most).
SEED_SHEDS = 100



class LpOwner(Protocol):
    """What a :class:`StateLp` reads from and updates on the solver that owns it
    (:class:`svitlo.engine.opf_fast.FastOpf`): per-grid arrays, options, the HiGHS instance, and the branches
    found binding so far."""

    cg: CompiledGrid
    strict: bool
    cost_stage: bool
    has_cost: bool
    tol: float
    c_curt: float
    w: np.ndarray
    groups: np.ndarray
    group: np.ndarray
    pmax: np.ndarray
    lo_g: np.ndarray
    c1: np.ndarray
    q: np.ndarray
    watch: np.ndarray
    p0: np.ndarray | None
    rounds: int
    h: Any

class StateLp:
    """One state's small LP: columns for generators, curtailments and free sheds (more sheds join by pricing,
    :meth:`_price`), one balance row per energised island, stage rows, and rating rows of the monitored branches,
    added as overloads are found (warm-started)."""

    def __init__(self, fo: LpOwner, net: Network, labels, n, energised, gens, pos, neg, br_en):
        self.fo, self.net, self.labels, self.n = fo, net, labels, n
        self.energised, self.gens, self.pos, self.neg, self.br_en = energised, gens, pos, neg, br_en
        self.mon_rows = np.zeros(0, dtype=np.int64)
        self.tight = np.zeros(0, dtype=np.int64)  # branches at or over their rating in the last round
        self.priced = 0  # shed columns called in by their reduced cost
        self.batched = 0  # shed columns called in because the LP without them was infeasible

    def run(self, *, shed_fixed: np.ndarray, shed_free: np.ndarray, z: np.ndarray | None,
            omit: np.ndarray | None = None, mon: np.ndarray | None = None, score: np.ndarray | None = None):
        """Solve until the flows meet every rating. ``z``: shed per weight group held (bound mode) or None
        (run the shed stages). ``omit``: free sheds left out of the LP until pricing calls them in.
        ``mon``: branches to monitor from the start (default: those binding at past optima).
        Returns (gen_p, served, flow, theta), False when infeasible, None on failure."""
        fo = self.fo
        rate = fo.cg.br_rate_mw
        watch = fo.watch & self.br_en
        if fo.p0 is not None and watch.any():
            # of the branches binding at past optima, those the intact dispatch loads near their rating in this
            # state (a guess: any other that the optimum overloads joins in the rounds below)
            with np.errstate(invalid="ignore", divide="ignore"):
                watch &= np.abs(self.net.flows(fo.p0)) >= WATCH_LOADING * rate
        mon = watch if mon is None else (mon | watch) & self.br_en
        omit = np.zeros(shed_free.size, dtype=bool) if omit is None else omit & shed_free
        left = np.flatnonzero(omit)
        if score is not None:  # most promising first: an infeasible LP calls them in by batches
            left = left[np.argsort(-score[left], kind="stable")]
        self._build(shed_fixed, shed_free & ~omit, z, np.flatnonzero(mon), self.pos[left])
        return self.rounds(z, mon)

    def rounds(self, z: np.ndarray | None, mon: np.ndarray):
        """The rounds of :meth:`run` on the LP as built (``mon``: the monitored branches, a mask it updates)."""
        fo = self.fo
        rate = fo.cg.br_rate_mw
        lim = np.where(self.br_en, rate, np.inf)
        held = z is not None  # the shed is held at its optimum (bound mode, or after the shed stages)
        final = held or not (fo.cost_stage and fo.has_cost)
        for _ in range(MAX_ROUNDS):
            if held:
                x = self._cost_stage(z)
                if x is False and z is None:  # new rows cut the shed stages' optimum off: run them again
                    held = False
                    continue
            else:
                x = self._shed_stages()
            if x is None or x is False:
                return x
            gen_p, served, p_bus = x
            flow = self.net.flows(p_bus)
            with np.errstate(invalid="ignore"):
                over = self.br_en & (np.abs(flow) > lim + VIOLATION_TOL * (1 + rate))
            new = over & ~mon
            if not over.any():
                if not final:  # the shed stages' optimum meets every rating: it holds; now the cost stage
                    held = final = True
                    continue
                with np.errstate(invalid="ignore"):
                    fo.watch |= self.br_en & (np.abs(flow) >= lim - 1e-6 * (1 + rate))  # binding at the optimum
                return gen_p, served, flow, self.net.theta(p_bus)
            if not new.any():
                return None  # a monitored row the LP holds is over its rating: numerical trouble
            with np.errstate(invalid="ignore"):
                self.tight = np.flatnonzero(self.br_en & (np.abs(flow) >= lim - 1e-6 * (1 + rate)))
            mon |= new
            self._add_ratings(np.flatnonzero(new))
            fo.rounds += 1
        return None

    def _build(self, shed_fixed, shed_free, z, mon, omit):
        import highspy

        fo, cg = self.fo, self.fo.cg
        gens, pos, neg = self.gens, self.pos, self.neg
        self.sv = sv = pos[shed_free]
        self.omit = omit
        self.shed_fixed = shed_fixed
        ng, ns, nc = gens.size, sv.size, neg.size
        self.n0 = ng + nc  # shed columns follow the generators and curtailments
        self.nv = nv = ng + nc + ns
        p = cg.load_p_mw
        self.isl_of = isl_of = np.cumsum(self.energised) - 1  # energised island -> balance row
        ne = int(self.energised.sum())
        # base injection per bus: every served load at its demand, less fixed shed
        base = -np.bincount(cg.load_bus[pos], weights=p[pos] - shed_fixed, minlength=cg.n_bus)
        base -= np.bincount(cg.load_bus[neg], weights=p[neg], minlength=cg.n_bus)
        self.base = base
        self.bus_v = bus_v = np.r_[cg.gen_bus[gens], cg.load_bus[neg], cg.load_bus[sv]]
        self.sign_v = sign_v = np.r_[np.ones(ng), -np.ones(nc), np.ones(ns)]  # injection per unit
        # balance: Σ P + Σ s - Σ c = demand - fixed shed (per energised island)
        bal = np.zeros((ne, nv))
        bal[isl_of[self.labels[bus_v]], np.arange(nv)] = sign_v
        nzb = np.flatnonzero(base)
        rhs = -np.bincount(isl_of[self.labels[nzb]], weights=base[nzb], minlength=ne) if ne else np.zeros(0)
        ngrp = fo.groups.size
        self.r_st = ne
        self.n_st = ngrp if fo.strict else 1
        st = np.zeros((self.n_st, nv))
        st[self._stage_row(sv) - ne, self.n0 + np.arange(ns)] = self._stage_coef(sv)
        ub = self._stage_bound(z)
        a = np.vstack([bal, st])
        row_lo = np.r_[rhs, np.full(st.shape[0], -np.inf)]
        row_hi = np.r_[rhs, ub]
        col_hi = np.r_[fo.pmax[gens], -p[neg], p[sv]]
        self.cost = np.r_[fo.c1[gens], np.full(nc, fo.c_curt), np.zeros(ns)]
        self.q = np.r_[fo.q[gens], np.zeros(nc + ns)]
        inf = highspy.kHighsInf
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = nv, a.shape[0]
        lp.col_cost_ = self.cost
        lp.col_lower_ = np.r_[fo.lo_g[gens], np.zeros(nc + ns)]
        lp.col_upper_ = np.where(np.isinf(col_hi), inf, col_hi)
        lp.row_lower_ = np.where(np.isinf(row_lo), -inf, row_lo)
        lp.row_upper_ = np.where(np.isinf(row_hi), inf, row_hi)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = _csc(a)
        fo.h.passModel(lp)
        self.quad = bool(np.any(self.q != 0) and fo.cost_stage)
        self._hessian(self.quad)
        self._add_ratings(mon)

    def _stage_row(self, loads):
        return self.r_st + (self.fo.group[loads] if self.fo.strict else np.zeros(loads.size, dtype=np.int64))

    def _stage_coef(self, loads):
        return np.ones(loads.size) if self.fo.strict else self.fo.w[loads]

    def _hessian(self, on: bool):
        import highspy

        nv = self.nv
        qn = np.flatnonzero(self.q) if on else np.zeros(0, dtype=np.int64)
        if not on and not self.quad:
            return
        start = np.searchsorted(qn, np.arange(nv + 1)).astype(np.int32)
        self.fo.h.passHessian(nv, int(qn.size), int(highspy.HessianFormat.kTriangular), start,
                              qn.astype(np.int32), self.q[qn].astype(float))
        self.hess_on = on
        self._tolerances(on)

    def _add_ratings(self, mon):
        if not mon.size:
            return
        import highspy

        cg, net = self.fo.cg, self.net
        hv, hq = net.rows(mon, self.bus_v, self.base - net.shift)
        const = hq + net.off[net.pos[mon]]
        rows = hv * self.sign_v
        rows[np.abs(rows) < SMALL] = 0.0  # HiGHS drops these; |Δflow| < SMALL MW per MW of injection
        rate = cg.br_rate_mw[mon]
        m = _csc(rows.T)  # row-wise = the transpose column-wise
        inf = highspy.kHighsInf
        self.fo.h.addRows(int(mon.size), np.maximum(-rate - const, -inf), np.minimum(rate - const, inf),
                          int(m[0][-1]), m[0], m[1], m[2])
        self.mon_rows = np.r_[self.mon_rows, mon]

    def restage(self, seed: np.ndarray, score: np.ndarray) -> None:
        """Turn the balance-bound LP into the staged one in place, so that the shed stages start from its basis
        (a cost-optimal dispatch, overloading few branches): every fixed shed becomes free, the sheds of
        ``seed`` (per positive load) join as columns, the others wait for pricing, best ``score`` first."""
        import highspy

        cg, net, h = self.fo.cg, self.net, self.fo.h
        inf = highspy.kHighsInf
        pos = self.pos
        fixed = np.flatnonzero(self.shed_fixed > 0)
        self.base = self.base - np.bincount(cg.load_bus[pos[fixed]], weights=self.shed_fixed[fixed],
                                            minlength=cg.n_bus)
        self.shed_fixed = np.zeros(pos.size)
        ne = self.r_st
        nzb = np.flatnonzero(self.base)
        rhs = -np.bincount(self.isl_of[self.labels[nzb]], weights=self.base[nzb], minlength=ne)
        h.changeRowsBounds(ne, np.arange(ne, dtype=np.int32), rhs, rhs)
        m = self.mon_rows
        if m.size:
            _, hq = net.rows(m, np.zeros(0, dtype=np.int64), self.base - net.shift)
            const = hq + net.off[net.pos[m]]
            rate = cg.br_rate_mw[m]
            rs = np.arange(ne + self.n_st, ne + self.n_st + m.size, dtype=np.int32)
            h.changeRowsBounds(m.size, rs, np.maximum(-rate - const, -inf), np.minimum(rate - const, inf))
        out = np.flatnonzero(~np.isin(pos, self.sv))
        out = out[np.lexsort((-score[out], ~seed[out]))]  # seeds first, then by score
        self.omit = pos[out]
        self._join(np.arange(out.size) < int(seed[out].sum()), None)

    def _shed_cost(self, loads, stage: int | None) -> np.ndarray:
        """Objective of shed columns ``loads`` in shed stage ``stage`` (None: the cost stage)."""
        fo = self.fo
        if stage is None:
            return np.zeros(loads.size)
        if fo.strict:
            return np.where(fo.group[loads] == stage, 1.0, 0.0)
        return fo.w[loads]

    def _price(self, stage: int | None, take_all: bool = False) -> bool:
        """Add the left-out sheds whose reduced cost at the optimum just found is negative; False when none is
        (then the optimum of the LP is one of the LP with every shed: its duals price every column)."""
        if not self.omit.size:
            return False
        cg, h = self.fo.cg, self.fo.h
        loads = self.omit
        bus = cg.load_bus[loads]
        cost = self._shed_cost(loads, stage)
        sol = h.getSolution()
        if sol.dual_valid and not take_all:
            # reduced cost c - yᵀa of every left-out column, the rating rows' part as one combined row
            y = np.asarray(sol.row_dual)
            nr = self.r_st + self.n_st
            d = cost - y[self.isl_of[self.labels[bus]]] - y[self._stage_row(loads)] * self._stage_coef(loads)
            if self.mon_rows.size:
                d -= self.net.rows(self.mon_rows, bus, np.zeros(cg.n_bus), weights=y[nr:])[0][0]
            add = d < -PRICE_TOL
        else:  # no duals to price with (an infeasible LP): the next batch, as many as the LP holds
            add = np.arange(loads.size) < max(SEED_SHEDS, self.sv.size)
        if not add.any():
            return False
        self._join(add, stage, take_all)
        return True

    def _join(self, add: np.ndarray, stage: int | None, batch: bool = True) -> None:
        """Add the left-out sheds ``add`` (a mask on :attr:`omit`) as columns, costed for ``stage``."""
        cg, h = self.fo.cg, self.fo.h
        loads = self.omit
        bus = cg.load_bus[loads]
        cost = self._shed_cost(loads, stage)
        new = loads[add]
        col = np.zeros((self.r_st + self.n_st + self.mon_rows.size, new.size))  # the new columns, row-wise
        col[self.isl_of[self.labels[bus[add]]], np.arange(new.size)] = 1.0
        col[self._stage_row(new), np.arange(new.size)] = self._stage_coef(new)
        if self.mon_rows.size:
            hv, _ = self.net.rows(self.mon_rows, bus[add], np.zeros(cg.n_bus))
            hv[np.abs(hv) < SMALL] = 0.0  # as the rating rows hold them
            col[self.r_st + self.n_st:] = hv
        m = _csc(col)
        h.addCols(int(new.size), cost[add], np.zeros(new.size), cg.load_p_mw[new], int(m[0][-1]), m[0], m[1],
                  m[2])
        self.sv = np.r_[self.sv, new]
        self.omit = loads[~add]
        self.bus_v = np.r_[self.bus_v, bus[add]]
        self.sign_v = np.r_[self.sign_v, np.ones(new.size)]
        self.cost = np.r_[self.cost, np.zeros(new.size)]
        self.q = np.r_[self.q, np.zeros(new.size)]
        self.nv += new.size
        if batch:
            self.batched += new.size
        else:
            self.priced += new.size
        if self.quad and self.hess_on:
            self._hessian(True)

    def _solve_priced(self, stage: int | None) -> str:
        """Run, then price the left-out sheds and run again while any joins."""
        while True:
            status = self._run()
            if status == "infeasible" and self.omit.size and stage is not None:  # too few sheds: the next ones
                self._price(stage, take_all=True)
                continue
            if status != "optimal" or not self._price(stage):
                return status

    def _shed_stages(self):
        """The shed stages (most critical first, or the weighted one), each held at its optimum."""
        import highspy

        fo, h_ = self.fo, self.fo.h
        inf = highspy.kHighsInf
        rs = np.arange(self.r_st, self.r_st + self.n_st, dtype=np.int32)
        h_.changeRowsBounds(rs.size, rs, np.full(rs.size, -inf), np.full(rs.size, inf))
        if self.quad:
            self._hessian(False)
        h_.setOptionValue("simplex_scale_strategy", 2)  # scaled: unscaled shed stages stopped 1e-4 MW short
        for k in (range(fo.groups.size) if fo.strict else [0]):
            if fo.strict and not (np.any(fo.group[self.sv] == k) or np.any(fo.group[self.omit] == k)):
                continue
            c = np.r_[np.zeros(self.n0), self._shed_cost(self.sv, k)]
            h_.changeColsCost(self.nv, np.arange(self.nv, dtype=np.int32), c)
            if self._solve_priced(k) != "optimal":
                h_.setOptionValue("simplex_scale_strategy", 0)
                return None
            x = np.asarray(h_.getSolution().col_value)
            zk = float(self._shed_cost(self.sv, k) @ x[self.n0:])
            h_.changeRowBounds(self.r_st + k, -inf, zk + STAGE2_REL_TOL * abs(zk) + STAGE_ABS_TOL)
        h_.setOptionValue("simplex_scale_strategy", 0)
        return self._unpack(np.asarray(h_.getSolution().col_value))

    def _cost_stage(self, z):
        """The cost LP with the shed held (at the balance bound ``z``, or at the shed stages' optimum: then
        False when rows added since cut that optimum off)."""
        h_ = self.fo.h
        h_.changeColsCost(self.nv, np.arange(self.nv, dtype=np.int32), self.cost)
        if self.quad:
            self._hessian(True)
        status = self._solve_priced(None)
        if status != "optimal":
            return False if "infeasible" in status else None
        return self._unpack(np.asarray(h_.getSolution().col_value))

    def _stage_bound(self, z):
        fo = self.fo
        n_rows = fo.groups.size if fo.strict else 1
        if z is None:
            return np.full(n_rows, np.inf)
        if not fo.strict:
            z = np.array([float(fo.groups @ z)])
        return z + STAGE2_REL_TOL * np.abs(z) + STAGE_ABS_TOL

    def _tolerances(self, qp: bool):
        h, tol = self.fo.h, self.fo.tol
        t = max(tol, STAGE2_FEAS_TOL) if qp else tol
        for opt in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
            h.setOptionValue(opt, t)
        if qp:
            h.setOptionValue("qp_regularization_value", 1e-10)
            h.setOptionValue("qp_iteration_limit", 20_000)

    def _run(self) -> str:
        h = self.fo.h
        h.run()
        status = _status_name(h)
        if status not in ("optimal", "infeasible"):  # a warm start HiGHS could not continue: solve afresh
            h.clearSolver()
            h.run()
            status = _status_name(h)
        if status not in ("optimal", "infeasible"):
            # without presolve HiGHS's dual simplex can end in an error on an infeasible LP (it reports no
            # status at all); presolve decides those
            h.setOptionValue("presolve", "on")
            h.clearSolver()
            h.run()
            status = _status_name(h)
            h.setOptionValue("presolve", "off")
        if status not in ("optimal", "infeasible"):  # where presolve fails too, primal simplex decides them
            h.setOptionValue("simplex_strategy", 4)
            h.clearSolver()
            h.run()
            status = _status_name(h)
            h.setOptionValue("simplex_strategy", 1)
        if status == "solve error" and self.quad:
            # the QP solver ends a hair outside its tolerance: accept that point, or one at QP_FEAS_TOL
            if not self._nearly_feasible():
                for opt in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
                    h.setOptionValue(opt, QP_FEAS_TOL)
                h.clearSolver()
                h.run()
                status = _status_name(h)
                self._tolerances(True)
            if status == "optimal" or self._nearly_feasible():
                status = "optimal"
        return status

    def _nearly_feasible(self) -> bool:
        h = self.fo.h
        sol = h.getSolution()
        if not sol.value_valid:
            return False
        lp = h.getLp()
        r = np.asarray(sol.row_value)
        x = np.asarray(sol.col_value)
        bad = max(float(np.max(np.asarray(lp.row_lower_) - r, initial=0.0)),
                  float(np.max(r - np.asarray(lp.row_upper_), initial=0.0)),
                  float(np.max(np.asarray(lp.col_lower_) - x, initial=0.0)),
                  float(np.max(x - np.asarray(lp.col_upper_), initial=0.0)))
        return bad <= QP_FEAS_TOL

    def _unpack(self, x):
        cg = self.fo.cg
        gens, pos, neg, sv = self.gens, self.pos, self.neg, self.sv
        ng, nc = gens.size, neg.size
        p = cg.load_p_mw
        gen_p = np.zeros(cg.n_gen)
        gen_p[gens] = np.clip(x[:ng], self.fo.lo_g[gens], self.fo.pmax[gens])
        shed = self.shed_fixed.copy()
        shed[np.searchsorted(pos, sv)] = np.clip(x[self.n0:], 0.0, p[sv])
        served = np.zeros(cg.n_load)
        served[pos] = p[pos] - shed
        served[neg] = p[neg] + np.clip(x[ng:ng + nc], 0.0, -p[neg])
        return gen_p, served, bus_injections_mw(cg, gen_p, served)


def _csc(a: np.ndarray):
    import scipy.sparse as sp

    m = sp.csc_matrix(a)
    return m.indptr.astype(np.int32), m.indices.astype(np.int32), m.data.astype(float)
