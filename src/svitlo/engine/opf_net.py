"""The network side of :mod:`svitlo.engine.opf_fast`: the DC network of a damaged state (branch flows of a
dispatch, bus angles, and the rows of branch flows as linear functions of the injections, PTDF rows, for the
branches the fast path monitors).

All islands share one block-diagonal system (one reference bus per island held at 0; a dead bus has no angle),
so the flows are those of :func:`svitlo.engine.dcflow.dc_flows` (tested). A state is solved either on its own
sparse factorisation, or, given the grid's :class:`Intact` factorisation, as the intact network less its dead
branches plus a ground in every island that lost its own: a low-rank (Woodbury) update of the intact solves, whose
PTDF rows of a monitored branch are those of the intact grid (computed once per branch) less a rank-``r``
correction, ``r`` = dead branches + new grounds. Grounds other than an island's reference bus shift its angles by
a constant, which is removed (angles are 0 at every reference bus), and leave its flows unchanged whenever its
injections balance (every energised island of an opf state balances; a dark island injects nothing).

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> from svitlo.engine.damage import apply_damage
>>> from svitlo.topology.islands import islands
>>> from svitlo.engine.dcflow import slack_references
>>> cg = compile_grid(svitlo.load_grid("case9"))
>>> dmg = apply_damage(cg, [])
>>> labels, n = islands(cg.n_bus, cg.br_f, cg.br_t, dmg.branch_alive, dmg.bus_alive)
>>> net = Network(cg, dmg, labels, slack_references(cg, labels, n, dmg.gen_alive))
>>> p = np.zeros(cg.n_bus); p[0], p[4] = 90.0, -90.0
>>> float(round(net.flows(p)[cg.br_f.tolist().index(0)], 6))
90.0
>>> dmg = apply_damage(cg, ["line:3"])
>>> labels, n = islands(cg.n_bus, cg.br_f, cg.br_t, dmg.branch_alive, dmg.bus_alive)
>>> refs = slack_references(cg, labels, n, dmg.gen_alive)
>>> upd = Network(cg, dmg, labels, refs, intact=Intact(cg))
>>> upd.updated, bool(np.allclose(upd.flows(p), Network(cg, dmg, labels, refs).flows(p)))
(True, True)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from svitlo.engine.damage import DamageState
from svitlo.model.compiled import CompiledGrid

__all__ = ["Intact", "Network", "MAX_RANK", "MAX_COND", "MAX_CACHE_BYTES"]

#: Largest update rank (dead branches + new grounds) solved as an update of the intact factorisation.
MAX_RANK = 200
#: Largest condition number of the update's capacitance matrix; above it the state is factorised afresh.
MAX_COND = 1e10
#: Most memory (bytes) the intact PTDF rows may hold; rows beyond it are solved whenever they are needed.
MAX_CACHE_BYTES = 512 * 2**20


class Network:
    """The DC network of one damaged state (``refs``: reference bus per island; ``intact``: the grid's
    :class:`Intact`, to solve the state as a low-rank update of it; :attr:`updated` says whether it was)."""

    def __init__(self, cg: CompiledGrid, damage: DamageState, labels: np.ndarray, refs: np.ndarray, *,
                 intact: Intact | None = None):
        self.cg = cg
        ok = damage.branch_alive & damage.bus_alive[cg.br_f] & damage.bus_alive[cg.br_t]
        self.br = br = np.flatnonzero(ok)
        f, t = cg.br_f[br], cg.br_t[br]
        self.yb = yb = float(cg.base_mva) * cg.br_b_pu[br]
        self.off = -yb * cg.br_shift_rad[br]  # flow = yb (θ_f - θ_t) + off
        nb = cg.n_bus
        self.labels, self.refs = labels, refs
        # injection the phase shifts imply: B θ = P - A^T off
        self.shift = np.bincount(f, weights=self.off, minlength=nb) - np.bincount(t, weights=self.off, minlength=nb)
        self.pos = np.full(cg.n_branch, -1, dtype=np.int64)
        self.pos[br] = np.arange(br.size)
        self.updated = intact is not None and self._update(intact, ok)
        if not self.updated:
            self._factorise()

    def _factorise(self) -> None:
        cg, labels, refs = self.cg, self.labels, self.refs
        f, t, yb = cg.br_f[self.br], cg.br_t[self.br], self.yb
        free = labels >= 0
        free[refs[refs >= 0]] = False
        self.col = np.full(cg.n_bus, -1, dtype=np.int64)
        self.keep = np.flatnonzero(free)
        self.col[self.keep] = np.arange(self.keep.size)
        cf, ct = self.col[f], self.col[t]
        r = np.r_[cf, ct, cf, ct]
        c = np.r_[cf, ct, ct, cf]
        v = np.r_[yb, yb, -yb, -yb]
        m = (r >= 0) & (c >= 0)
        n = self.keep.size
        b = sp.csc_matrix((v[m], (r[m], c[m])), shape=(n, n))
        self.lu = splu(b, permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True}) if n else None

    def _update(self, intact: Intact, ok: np.ndarray) -> bool:
        """Set up the Woodbury update of ``intact``; False where it does not apply (then factorise)."""
        cg, labels, refs = self.cg, self.labels, self.refs
        gone = np.flatnonzero(intact.alive & ~ok & (cg.br_b_pu != 0))
        g = intact.grounded
        alive_lab = labels >= 0
        has = np.zeros(refs.size, dtype=bool)
        has[labels[g & alive_lab]] = True
        shunt = np.r_[refs[~has], np.flatnonzero(~alive_lab & ~g)]  # new islands' references, dead buses
        r = gone.size + shunt.size
        if r > MAX_RANK or intact.net.lu is None:
            return False
        nb = cg.n_bus
        u = np.zeros((nb, r))
        j = np.arange(gone.size)
        u[cg.br_f[gone], j] = 1.0
        u[cg.br_t[gone], j] -= 1.0
        u[shunt, gone.size + np.arange(shunt.size)] = 1.0
        u[g] = 0.0  # a grounded bus has no angle in the intact system
        x = intact.solve(u)
        k = u.T @ x
        k[np.diag_indices(r)] += np.r_[-1.0 / (float(cg.base_mva) * cg.br_b_pu[gone]), np.full(shunt.size, 1.0 / intact.g)]
        if r and np.linalg.cond(k) > MAX_COND:
            return False
        self.intact, self.u, self.x = intact, u, x
        # the two nonzeros of each column of u (a new ground's second is a zero at itself)
        self.u_f = np.r_[cg.br_f[gone], shunt]
        self.u_t = np.r_[cg.br_t[gone], shunt]
        self.u_fs = np.r_[np.where(g[cg.br_f[gone]], 0.0, 1.0), np.ones(shunt.size)]
        self.u_ts = np.r_[np.where(g[cg.br_t[gone]], 0.0, -1.0), np.zeros(shunt.size)]
        self.kinv_xt = np.linalg.solve(k, x.T) if r else np.zeros((0, nb))  # K⁻¹ Xᵀ
        return True

    def theta(self, p_bus: np.ndarray) -> np.ndarray:
        """Bus angles (rad, 0 at references and dead buses) for injections ``p_bus`` (MW)."""
        q = p_bus - self.shift
        if not self.updated:
            th = np.zeros(self.cg.n_bus)
            if self.lu is not None:
                th[self.keep] = self.lu.solve(q[self.keep])
            return th
        th = self.intact.solve(q) - self.x @ (self.kinv_xt @ q)
        lab = self.labels
        alive = lab >= 0
        th[alive] -= th[self.refs[lab[alive]]]
        th[~alive] = 0.0
        return th

    def flows(self, p_bus: np.ndarray) -> np.ndarray:
        """Flow per branch (MW; 0 out of service) for injections ``p_bus`` (MW per bus)."""
        th = self.theta(p_bus)
        out = np.zeros(self.cg.n_branch)
        out[self.br] = self.yb * (th[self.cg.br_f[self.br]] - th[self.cg.br_t[self.br]]) + self.off
        return out

    def rows(self, branches: np.ndarray, cols: np.ndarray, q: np.ndarray,
             weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``H[:, cols]`` and ``H @ q`` of the PTDF rows ``H`` of ``branches`` (see :meth:`ptdf`), without the
        full rows of an updated state; with ``weights``, of the one row ``weights @ H``."""
        if not self.updated or not branches.size:
            h = self.ptdf(branches)
            if weights is not None:
                h = (weights @ h)[None, :]
            return h[:, cols], h @ q
        h0 = self.intact.rows(branches)
        # h0 @ u without a dense product: u holds ±1 per dead branch's ends and 1 at each new ground
        hu = h0[:, self.u_f] * self.u_fs + h0[:, self.u_t] * self.u_ts
        if weights is not None:
            h0, hu = (weights @ h0)[None, :], (weights @ hu)[None, :]
        kx = self.kinv_xt
        lab, refs = self.labels, self.refs
        at = np.r_[cols, refs]
        h = h0[:, at] - hu @ kx[:, at]
        hq = h0 @ q - hu @ (kx @ q)
        # the rows of the state's own references (0 at each island's reference bus): the same flows for
        # balanced injections, and the same LP rows as a factorised state's
        hr = h[:, cols.size:]
        hv = h[:, :cols.size]
        lc = lab[cols]
        hv[:, lc >= 0] -= hr[:, lc[lc >= 0]]
        alive = lab >= 0
        hq -= hr @ np.bincount(lab[alive], weights=q[alive], minlength=refs.size)
        return hv, hq

    def ptdf(self, branches: np.ndarray) -> np.ndarray:
        """Rows ``H`` (one per alive branch in ``branches``, per bus) with ``flow = H @ (p_bus - shift) + off``
        for injections that balance in every island."""
        if self.updated:
            if not branches.size:
                return np.zeros((0, self.cg.n_bus))
            return self.rows(branches, np.arange(self.cg.n_bus), np.zeros(self.cg.n_bus))[0]
        k = self.pos[branches]
        h = np.zeros((branches.size, self.cg.n_bus))
        if not branches.size or self.lu is None:
            return h
        yb = self.yb[k]
        f, t = self.col[self.cg.br_f[branches]], self.col[self.cg.br_t[branches]]
        rhs = np.zeros((self.keep.size, branches.size), order="F")
        j = np.arange(branches.size)
        rhs[f[f >= 0], j[f >= 0]] = yb[f >= 0]
        rhs[t[t >= 0], j[t >= 0]] -= yb[t >= 0]
        h[:, self.keep] = self.lu.solve(rhs).T
        return h


class Intact:
    """The intact network's factorisation (one reference bus per intact island grounded), shared by the states
    of one grid: a damaged state is the intact one less its dead branches, plus a ground (a shunt) in every new
    island, so its solves are the intact ones corrected by a low-rank (Woodbury) update, and the PTDF rows of a
    monitored branch are computed once on the intact grid (:meth:`rows`) and corrected per state."""

    def __init__(self, cg: CompiledGrid):
        from svitlo.engine.damage import damage_from_indices
        from svitlo.engine.dcflow import slack_references
        from svitlo.topology.islands import islands

        d = damage_from_indices(cg)
        labels, n = islands(cg.n_bus, cg.br_f, cg.br_t, d.branch_alive, d.bus_alive)
        self.net = Network(cg, d, labels, slack_references(cg, labels, n, d.gen_alive))
        self.alive = np.zeros(cg.n_branch, dtype=bool)
        self.alive[self.net.br] = True
        self.grounded = self.net.col < 0  # intact references and dead buses
        yb = self.net.yb
        self.g = float(np.median(np.abs(yb[yb != 0]))) if np.any(yb != 0) else 1.0  # shunt of a new ground
        self._slot = np.full(cg.n_branch, -1, dtype=np.int64)
        self._rows = np.zeros((64, cg.n_bus))
        self._n = 0  # rows held

    def rows(self, branches: np.ndarray) -> np.ndarray:
        """Intact PTDF rows (per bus; 0 at grounded buses) of ``branches`` (alive on the intact grid), cached."""
        new = np.unique(branches[self._slot[branches] < 0])
        if new.size and (self._n + new.size) * self._rows.shape[1] * 8 > MAX_CACHE_BYTES:
            out = np.empty((branches.size, self._rows.shape[1]))  # cache full: solve the others each time
            have = self._slot[branches] >= 0
            out[have] = self._rows[self._slot[branches[have]]]
            out[~have] = self.net.ptdf(branches[~have])
            return out
        if new.size:
            if self._n + new.size > self._rows.shape[0]:  # grow by doubling
                grown = np.zeros((max(2 * self._rows.shape[0], self._n + new.size), self._rows.shape[1]))
                grown[:self._n] = self._rows[:self._n]
                self._rows = grown
            self._slot[new] = self._n + np.arange(new.size)
            self._rows[self._n:self._n + new.size] = self.net.ptdf(new)
            self._n += new.size
        return self._rows[self._slot[branches]]

    def solve(self, rhs: np.ndarray) -> np.ndarray:
        """``B⁺ rhs`` (per bus, 0 at grounded buses) for a (n_bus,) or (n_bus, k) right-hand side."""
        net = self.net
        out = np.zeros(rhs.shape)
        if net.lu is not None:
            out[net.keep] = net.lu.solve(np.asfortranarray(rhs[net.keep]))
        return out
