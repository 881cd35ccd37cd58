"""The network side of :mod:`svitlo.engine.opf_fast`: one sparse factorisation of a damaged state's DC
susceptance matrix, branch flows of a dispatch, and the rows of branch flows as linear functions of the
injections (PTDF rows) for the branches the fast path monitors.

All islands share one block-diagonal factorisation (one reference bus per island held at 0; a dead bus has no
angle), so the flows are those of :func:`svitlo.engine.dcflow.dc_flows` (tested) and each monitored branch
costs one triangular solve.

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
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from svitlo.engine.damage import DamageState
from svitlo.model.compiled import CompiledGrid

__all__ = ["Network"]


class Network:
    """The DC network of one damaged state (``refs``: reference bus per island)."""

    def __init__(self, cg: CompiledGrid, damage: DamageState, labels: np.ndarray, refs: np.ndarray):
        self.cg = cg
        ok = damage.branch_alive & damage.bus_alive[cg.br_f] & damage.bus_alive[cg.br_t]
        self.br = br = np.flatnonzero(ok)
        f, t = cg.br_f[br], cg.br_t[br]
        self.yb = yb = float(cg.base_mva) * cg.br_b_pu[br]
        self.off = -yb * cg.br_shift_rad[br]  # flow = yb (θ_f - θ_t) + off
        nb = cg.n_bus
        free = labels >= 0
        free[refs[refs >= 0]] = False
        self.col = np.full(nb, -1, dtype=np.int64)
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
        # injection the phase shifts imply: B θ = P - A^T off
        self.shift = np.bincount(f, weights=self.off, minlength=nb) - np.bincount(t, weights=self.off, minlength=nb)
        self.pos = np.full(cg.n_branch, -1, dtype=np.int64)
        self.pos[br] = np.arange(br.size)

    def theta(self, p_bus: np.ndarray) -> np.ndarray:
        """Bus angles (rad, 0 at references and dead buses) for injections ``p_bus`` (MW)."""
        th = np.zeros(self.cg.n_bus)
        if self.lu is not None:
            th[self.keep] = self.lu.solve((p_bus - self.shift)[self.keep])
        return th

    def flows(self, p_bus: np.ndarray) -> np.ndarray:
        """Flow per branch (MW; 0 out of service) for injections ``p_bus`` (MW per bus)."""
        th = self.theta(p_bus)
        out = np.zeros(self.cg.n_branch)
        out[self.br] = self.yb * (th[self.cg.br_f[self.br]] - th[self.cg.br_t[self.br]]) + self.off
        return out

    def ptdf(self, branches: np.ndarray) -> np.ndarray:
        """Rows ``H`` (one per alive branch in ``branches``, per bus) with ``flow = H @ (p_bus - shift) + off``."""
        k = self.pos[branches]
        h = np.zeros((branches.size, self.cg.n_bus))
        if not branches.size or self.lu is None:
            return h
        yb = self.yb[k]
        f, t = self.col[self.cg.br_f[branches]], self.col[self.cg.br_t[branches]]
        rhs = np.zeros((self.keep.size, branches.size))
        j = np.arange(branches.size)
        rhs[f[f >= 0], j[f >= 0]] = yb[f >= 0]
        rhs[t[t >= 0], j[t >= 0]] -= yb[t >= 0]
        h[:, self.keep] = self.lu.solve(rhs).T
        return h
