"""Fast ``opf`` states for sweeps: the semantics of :func:`svitlo.engine.opf.opf_dispatch` (lexicographic
shed by priority under branch ratings, then minimum generation cost), solved on a small LP in generation space: the branch
ratings enter as rows of injection-to-flow factors (:mod:`svitlo.engine.opf_net`) for a *monitored* set of
branches only, the flows of the solution are checked on every rated branch, and any branch found over its rating
joins the set (kept for later states) before the LP is solved again. A relaxation whose optimum meets every rating
is optimal for the whole problem, so the answer is exact, and the full network LP is never built.

Per state:

1. the ``balance`` rule's priority shed per island (capacity against load, least critical weight first, no
   network) is a lower bound of every lexicographic shed stage, island by island. The cost LP is solved first
   with every island's shed held at that bound (tiers shed in full or not at all are fixed; the one partly shed
   tier per island is held by its stage row). When it is feasible its optimum is the lexicographic optimum:
   one LP instead of one per tier plus the cost stage;
2. otherwise (ratings bind the shed) the shed stages and the cost stage run on the same small LP, as
   :func:`~svitlo.engine.opf.opf_dispatch` runs them (same stage tolerances), each warm-started from the last
   (dual simplex), the first from the balance-bound LP's basis (that LP is turned into this one in place: its
   fixed sheds freed). The LP starts with the sheds of islands short of capacity and at most :data:`SEED_SHEDS`
   others, those that move a branch at its rating the most (:data:`SEED_PTDF`); every other shed stays out at
   0 until its reduced cost at a stage's optimum (``c - yᵀa`` with that optimum's row duals ``y``) falls below
   ``-`` :data:`PRICE_TOL`, when it joins and the stage is solved again (column generation). An optimum no
   left-out shed improves is the optimum with every shed in the LP (its duals are feasible for all columns), so
   this too is exact; an LP infeasible without them calls the next sheds in by batches. Once the shed stages'
   optimum meets every rating it is held, and only the cost stage is solved again as rows are added (the shed
   stages run again only if a new row cuts their optimum off).

Rating rows found in a round are added to the LP in place (dual simplex from the last basis). A state's first
round monitors the branches binding at past optima that the intact dispatch loads to :data:`WATCH_LOADING` of
their rating in that state. With linear costs the network of a state is the intact factorisation updated by
its dead branches and new grounds (:class:`~svitlo.engine.opf_net.Intact`, a low-rank update), with the PTDF
rows of monitored branches computed once on the intact grid; with quadratic costs each state is factorised
(HiGHS's QP optimum of a degenerate cost stage moves by ~1e-5 relative with 1e-15 changes in its rows, so those
states keep the rows the reference comparison was pinned on). A stage HiGHS's dual simplex leaves without a
status (seen on infeasible balance-bound LPs) is solved again from scratch, then with presolve, then with
primal simplex. A QP optimum that HiGHS reports a hair outside its feasibility tolerance is accepted within
:data:`QP_FEAS_TOL` MW, as the reference accepts its cost stage at :data:`svitlo.engine.opf.STAGE2_FEAS_TOL`.

Anything this path does not model goes to :func:`~svitlo.engine.state.evaluate_state` (``mode="opf"``):
``p_min="case"``, a non-positive tier weight, an infeasible state (ratings that cannot hold however much is
shed: :func:`~svitlo.engine.opf.opf_dispatch` raises or relaxes them by ``on_infeasible``), and any stage HiGHS
does not solve. :func:`fallback_reason` names the first; viability rules and cascades are routed to the exact
path by their callers. Flows of a cost optimum need not be unique: shed per tier, generation and cost equal the
reference; flows are feasible (within ratings), not necessarily the reference's.

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> from svitlo.engine.damage import apply_damage
>>> cg = compile_grid(svitlo.load_grid("case30"))
>>> r = opf_state(cg, apply_damage(cg, ["line:3", "line:10"]))
>>> r.info["opf"]["fast"], round(float(r.gen_p_mw.sum()), 3)
('bound', 189.2)
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from svitlo.engine.damage import DamageState, damage_from_indices
from svitlo.engine.dcflow import slack_references
from svitlo.engine.dispatch import energised_islands, export_limit_mw
from svitlo.engine.opf import STAGE2_FEAS_TOL, STAGE2_REL_TOL, STAGE_ABS_TOL, _new_highs, _status_name
from svitlo.engine.opf_net import Intact, Network
from svitlo.engine.state import StateResult, bus_injections_mw, evaluate_state
from svitlo.model.compiled import CompiledGrid
from svitlo.model.costs import marginal_cost_bound
from svitlo.model.tiers import tier_weight_array
from svitlo.topology.islands import islands

__all__ = ["FastOpf", "fallback_reason", "fast_opf", "opf_state"]

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

_LOCAL = threading.local()


def fallback_reason(cg: CompiledGrid, options: dict | None) -> str | None:
    """Why ``options`` (of :func:`~svitlo.engine.opf.opf_dispatch`) on ``cg`` need the reference path, or None.

    >>> import svitlo
    >>> cg = svitlo.compile_grid(svitlo.load_grid("case9"))
    >>> fallback_reason(cg, {"p_min": "case"}), fallback_reason(cg, None)
    ("p_min='case'", None)
    """
    o = dict(options or {})
    if o.get("p_min", "zero") != "zero":
        return "p_min='case'"
    w = tier_weight_array(np.unique(np.asarray(cg.load_tier, dtype=np.int64)), o.get("tier_weights"))
    if np.any(w <= 0):
        return "a tier weight <= 0"
    if cg.gen_pwl:
        return "piecewise-linear cost curves"
    unknown = set(o) - {"tier_weights", "p_min", "on_infeasible", "strict_priority", "cost_stage", "tolerance"}
    if unknown:
        return f"options {sorted(unknown)}"
    return None


class FastOpf:
    """Fast opf states of one grid under one set of options (one per thread: a HiGHS instance is not shared).
    :meth:`solve` returns a :class:`~svitlo.engine.state.StateResult` or None (then use the reference)."""

    def __init__(self, cg: CompiledGrid, options: dict | None = None):
        o = dict(options or {})
        self.cg = cg
        self.options = o
        self.strict = bool(o.get("strict_priority", True))
        self.cost_stage = bool(o.get("cost_stage", True))
        self.tol = float(o.get("tolerance", 1e-9))
        self.w = tier_weight_array(np.asarray(cg.load_tier, dtype=np.int64), o.get("tier_weights"))
        p = np.asarray(cg.load_p_mw, dtype=float)
        self.groups = np.unique(self.w[p > 0])[::-1]  # distinct weights, most critical first
        self.group = np.searchsorted(-self.groups, -self.w)
        self.pmax = np.maximum(np.where(np.isnan(cg.gen_p_max_mw), 0.0, cg.gen_p_max_mw), 0.0)
        export = export_limit_mw(cg)
        self.lo_g = np.where(export > 0, -export, 0.0)
        self.c1 = np.nan_to_num(np.asarray(cg.gen_cost, dtype=float))
        self.q = 2.0 * np.nan_to_num(np.asarray(cg.gen_cost_c2, dtype=float))
        self.c_curt = marginal_cost_bound(cg, np.arange(cg.n_gen), self.pmax) + 1.0
        self.has_cost = bool(np.any(self.c1 != 0) or np.any(self.q != 0) or np.any(p < 0))
        self.watch = np.zeros(cg.n_branch, dtype=bool)  # branches binding at some past optimum (grows)
        self.h = _new_highs()
        self.h.setOptionValue("presolve", "off")  # small LPs, re-solved warm as rows are added
        self.h.setOptionValue("small_matrix_value", SMALL)
        # the rows are MW balances and PTDF factors (|a| <= 1 or a tier weight): scaling them only costs
        # iterations (a third fewer without it on case2869pegase)
        self.h.setOptionValue("simplex_scale_strategy", 0)
        self.rounds = 0
        # damaged states are solved as low-rank updates of the intact factorisation; not with quadratic costs:
        # HiGHS's QP optimum of a degenerate cost stage moves by ~1e-5 (relative) with 1e-15 changes in the
        # rows (seen on case118), so those states keep their own factorisation, whose rows the tests pin
        self.intact = None if (np.any(self.q != 0) and self.cost_stage) else Intact(cg)
        self.p0: np.ndarray | None = None
        self.last: str | None = None  # how the last state was solved: "bound", "staged", None (reference)
        r0 = self.solve(damage_from_indices(cg))  # the intact state seeds the monitored set
        self.p0 = None if r0 is None else r0.p_bus_mw

    # -- one state --------------------------------------------------------------------------------------
    def solve(self, damage: DamageState) -> StateResult | None:
        """The opf state of ``damage`` (islands, dispatch, shed, flows), or None where the reference must run."""
        cg = self.cg
        labels, n = islands(cg.n_bus, cg.br_f, cg.br_t, damage.branch_alive, damage.bus_alive)
        energised = energised_islands(labels, n, cg.gen_bus, cg.gen_forms_island, damage.gen_alive)
        ok = labels >= 0
        bus_en = np.zeros(cg.n_bus, dtype=bool)
        bus_en[ok] = energised[labels[ok]]
        g_on = damage.gen_alive & bus_en[cg.gen_bus]
        gens = np.flatnonzero(g_on)
        g_isl = labels[cg.gen_bus[gens]]
        fin = np.isfinite(self.pmax[gens])
        cap = np.bincount(g_isl[fin], weights=self.pmax[gens][fin], minlength=n).astype(float)
        cap[g_isl[~fin]] = np.inf
        p = cg.load_p_mw
        l_on = damage.load_alive & bus_en[cg.load_bus]
        loads = np.flatnonzero(l_on & (p != 0))
        l_isl = labels[cg.load_bus[loads]]
        demand = np.bincount(l_isl, weights=p[loads], minlength=n)
        pos = loads[p[loads] > 0]
        neg = loads[p[loads] < 0]
        pi = labels[cg.load_bus[pos]]
        ngrp = self.groups.size
        lt = np.zeros((n, ngrp))
        np.add.at(lt, (pi, self.group[pos]), p[pos])
        remaining = np.where(energised, np.maximum(np.nan_to_num(demand - cap, neginf=0.0), 0.0), 0.0)
        cut = np.zeros((n, ngrp))
        for k in range(ngrp - 1, -1, -1):  # least critical (smallest weight) first
            cut[:, k] = np.minimum(lt[:, k], remaining)
            remaining = remaining - cut[:, k]
        full = (cut >= lt) & (lt > 0)
        part = (cut > 0) & ~full
        refs = slack_references(cg, labels, n, damage.gen_alive)
        net = Network(cg, damage, labels, refs, intact=self.intact)
        br_en = np.zeros(cg.n_branch, dtype=bool)
        br_en[net.br] = bus_en[cg.br_f[net.br]] & np.isfinite(cg.br_rate_mw[net.br])
        st = _State(self, net, labels, n, energised, gens, pos, neg, br_en)

        # 1. every island's shed at the balance bound: the cost LP alone
        fb = full[pi, self.group[pos]]
        mb = part[pi, self.group[pos]]
        z = (cut * part).sum(axis=0)
        x = st.run(shed_fixed=np.where(fb, p[pos], 0.0), shed_free=mb, z=z)
        stage = "bound"
        if x is False:  # 2. ratings bind the shed: the stages of opf_dispatch, sheds called in by pricing
            mon = np.zeros(cg.n_branch, dtype=bool)
            mon[st.mon_rows] = True
            score = np.zeros(pos.size)
            if st.tight.size:  # how far a load moves a branch at its rating against the generators' median
                hv, _ = net.rows(st.tight, np.r_[cg.load_bus[pos], cg.gen_bus[gens]], np.zeros(cg.n_bus))
                hl, hg = hv[:, :pos.size], hv[:, pos.size:]
                score = np.abs(hl - np.median(hg, axis=1)[:, None]).max(axis=0, initial=0.0)
            seed = np.zeros(pos.size, dtype=bool)
            seed[np.argsort(-score, kind="stable")[:SEED_SHEDS]] = True
            seed &= score >= SEED_PTDF
            seed |= (cut.sum(axis=1) > 0)[pi]  # islands short of capacity shed anyway
            st.restage(seed, score)
            x = st.rounds(None, mon)
            stage = "staged"
        if x is None or x is False:
            self.last = None
            return None
        self.last = stage
        gen_p, served, flow, theta = x
        info = {"opf": {"status": "optimal", "solver": "highs", "fast": stage, "strict_priority": self.strict,
                        "p_min": "zero", "monitored_branches": int(self.watch.sum()),
                        "priced_sheds": st.priced}}
        return StateResult(damage=damage, labels=labels, n_islands=n, energised=energised, capacity_mw=cap,
                           gen_p_mw=gen_p, load_served_mw=served, p_bus_mw=bus_injections_mw(cg, gen_p, served),
                           theta_rad=theta, flow_mw=flow, mode="opf", info=info, extras={})


class _State:
    """One state's small LP: columns for generators, curtailments and free sheds (more sheds join by pricing,
    :meth:`_price`), one balance row per energised island, stage rows, and rating rows of the monitored branches,
    added as overloads are found (warm-started)."""

    def __init__(self, fo: FastOpf, net: Network, labels, n, energised, gens, pos, neg, br_en):
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


def fast_opf(cg: CompiledGrid, options: dict | None = None) -> FastOpf:
    """This thread's :class:`FastOpf` for ``cg`` and ``options`` (built once, reused while they stay the same)."""
    key = (id(cg), repr(sorted((k, repr(v)) for k, v in dict(options or {}).items())))
    cached = getattr(_LOCAL, "model", None)
    if cached is not None and cached[0] == key and cached[1].cg is cg:
        return cached[1]
    fo = FastOpf(cg, options)
    _LOCAL.model = (key, fo)
    return fo


def opf_state(cg: CompiledGrid, damage: DamageState, options: dict[str, Any] | None = None) -> StateResult:
    """``evaluate_state(cg, damage, mode="opf", options=options)`` on the fast path where it applies (same
    shed per tier, generation and cost; see the module docstring), else on the reference path."""
    if fallback_reason(cg, options) is None:
        r = fast_opf(cg, options).solve(damage)
        if r is not None:
            return r
    return evaluate_state(cg, damage, mode="opf", options=options)
