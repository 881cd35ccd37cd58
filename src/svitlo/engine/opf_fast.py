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
   fixed sheds freed). The LP starts with the sheds of islands short of capacity and at most :data:`~svitlo.engine.opf_lp.SEED_SHEDS`
   others, those that move a branch at its rating the most (:data:`~svitlo.engine.opf_lp.SEED_PTDF`); every other shed stays out at
   0 until its reduced cost at a stage's optimum (``c - yᵀa`` with that optimum's row duals ``y``) falls below
   ``-`` :data:`~svitlo.engine.opf_lp.PRICE_TOL`, when it joins and the stage is solved again (column generation). An optimum no
   left-out shed improves is the optimum with every shed in the LP (its duals are feasible for all columns), so
   this too is exact; an LP infeasible without them calls the next sheds in by batches. Once the shed stages'
   optimum meets every rating it is held, and only the cost stage is solved again as rows are added (the shed
   stages run again only if a new row cuts their optimum off).

Rating rows found in a round are added to the LP in place (dual simplex from the last basis). A state's first
round monitors the branches binding at past optima that the intact dispatch loads to :data:`~svitlo.engine.opf_lp.WATCH_LOADING` of
their rating in that state. With linear costs the network of a state is the intact factorisation updated by
its dead branches and new grounds (:class:`~svitlo.engine.opf_net.Intact`, a low-rank update), with the PTDF
rows of monitored branches computed once on the intact grid; with quadratic costs each state is factorised
(HiGHS's QP optimum of a degenerate cost stage moves by ~1e-5 relative with 1e-15 changes in its rows, so those
states keep the rows the reference comparison was pinned on). A stage HiGHS's dual simplex leaves without a
status (seen on infeasible balance-bound LPs) is solved again from scratch, then with presolve, then with
primal simplex. A QP optimum that HiGHS reports a hair outside its feasibility tolerance is accepted within
:data:`~svitlo.engine.opf_lp.QP_FEAS_TOL` MW, as the reference accepts its cost stage at :data:`svitlo.engine.opf.STAGE2_FEAS_TOL`.

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

from svitlo.engine import opf_lp
from svitlo.engine.damage import DamageState, damage_from_indices
from svitlo.engine.dcflow import slack_references
from svitlo.engine.dispatch import energised_islands, export_limit_mw
from svitlo.engine.opf import _new_highs
from svitlo.engine.opf_lp import StateLp
from svitlo.engine.opf_net import Intact, Network
from svitlo.engine.state import StateResult, bus_injections_mw, evaluate_state
from svitlo.model.compiled import CompiledGrid
from svitlo.model.costs import marginal_cost_bound
from svitlo.model.tiers import tier_weight_array
from svitlo.topology.islands import islands

__all__ = ["FastOpf", "fallback_reason", "fast_opf", "opf_state"]

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
        self.h.setOptionValue("small_matrix_value", opf_lp.SMALL)
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
        st = StateLp(self, net, labels, n, energised, gens, pos, neg, br_en)

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
            seed[np.argsort(-score, kind="stable")[:opf_lp.SEED_SHEDS]] = True
            seed &= score >= opf_lp.SEED_PTDF
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
