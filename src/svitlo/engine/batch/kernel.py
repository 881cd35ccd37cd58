"""The per-scenario kernel of the batched engine (numba, parallel over chunks of scenarios).

For one outage set ``K`` (removed branches, plus the branches of destroyed buses):

1. find the cut-off components (:mod:`~svitlo.engine.batch.components`);
2. apply the balance rule to every new island (:mod:`~svitlo.engine.batch.island_rule`; a surplus goes first
   into the external grids, down to their export limit); the island that keeps the rest of a component gets
   its feature sum as ``intact - cut off - destroyed``;
3. new angles on the *reconnected* grid: put back a spanning set ``T ⊂ K`` that joins the components as a
   tree. Every component's injection is balanced, so every branch of ``T`` carries exactly zero and the flows
   equal those of the split grid. The angles are the intact ones plus the images of the changed feature
   coefficients, plus rows of ``Z`` for the buses whose injection changed, plus a Woodbury update of rank
   ``|K \\ T|``;
4. flows, loadings and metrics.

Anything the fast path cannot prove exact (net-negative island, near-singular Woodbury matrix, two large
parts of one component, too high a rank) sets a flag; the caller re-solves those scenarios exactly.

Compiled kernels are cached on disk (``cache=True``). numba checks only the defining file's timestamp, so
:mod:`svitlo.engine.batch.cache_guard` drops the package's cache files whenever any source the kernels compile
from changes (this package, the scalar functions of :mod:`svitlo.engine.frequency`, the output constants).
"""

from __future__ import annotations

import numba as nb
import numpy as np

from svitlo.engine.batch.components import (
    bounded_search,
    enumerate_component,
    find,
    reaches_root,
    walk_to_root,
)
from svitlo.engine.batch.island_rule import POS
from svitlo.engine.batch.sparse import sparse_angles, sparse_workspace
from svitlo.engine.batch.viability_rule import island_rule_v
from svitlo.engine.batch.woodbury import lu_solve_inplace
from svitlo.model.outputs import OVERLOAD_TOL_PERCENT

__all__ = ["MAX_RANK", "run_batch"]

#: Largest Woodbury rank solved on the fast path; more goes to the exact path.
MAX_RANK = 256

OVERLOAD_EPS = OVERLOAD_TOL_PERCENT  # the one overload tolerance (svitlo.model.outputs)


@nb.njit(cache=True)
def _axpy(theta, a, row):  # pragma: no cover - numba
    for i in range(theta.size):
        theta[i] += a * row[i]


@nb.njit(cache=True)
def _dot(a, b):  # pragma: no cover - numba
    s = 0.0
    for i in range(a.size):
        s += a[i] * b[i]
    return s


@nb.njit(cache=True)
def _node(b, stamp, bus_st, bus_lab, g_big, ng, naff, comp_slot, bus_comp):  # pragma: no cover - numba
    """Node of bus ``b`` in the component graph: small group, main part of its component, or dead bus."""
    if bus_st[b] == stamp and bus_lab[b] <= -2:
        return ng + naff + (-2 - bus_lab[b])
    if bus_st[b] == stamp and not g_big[bus_lab[b]]:
        return bus_lab[b]
    return ng + comp_slot[bus_comp[b]]


@nb.njit(cache=True)
def _scenario(s, ob, G, W, n_tiers, bound, want_flows, want_loads, out_f, out_t, out_i, flows, lshed):
    # pragma: no cover - numba
    (bus_ptr, bus_idx, br_ptr, br_idx, gen_ptr, gen_idx, load_ptr, load_idx) = ob
    (adj_ptr, adj_bus, adj_br, br_f, br_t, br_b, br_pfinj, _br_rate, br_alive0, bus_alive0, gen_alive0,
     load_alive0, gen_bus, load_bus, load_tcol, bus_comp, comp_size, comp_img, comp_root, tree_parent,
     tree_pbr, feat, feat_gen, feat_load, feat_comp, Z, img, theta0, coef0, comp_out, comp_frac,
     comp_load_ptr, comp_load_idx, load_shed0, tier_w, base_mva, br_w, br_ir, brows, has_brows, vp,
     use_sparse) = G[:42]
    S = G[42:58]  # the sparse path's factors (placeholders on the dense path), flat in G for the parallel loop
    C = G[58:62]  # the sparse path's per-branch forward solves (svitlo.engine.batch.columns)
    (bus_st, bus_lab, br_st, gen_st, load_st, comp_st, comp_slot, ok_st, fail_st, vis_st, path, queue,
     buf, klist, dead, gdest, ldest, aff, g_par, g_big, g_start, g_len, g_comp, g_seed, g_feat, g_alive,
     g_coef, g_frac, g_out, m_feat, m_coef, m_frac, m_out, m_count, theta, qbus, qlist, uf, rlist, mat, rhs,
     _coef_tmp, frac_tmp, _out_tmp, vrows, wloc, pfloc, enum_st, rsel, main_st, main_g, tsel, SW) = W
    nf = feat.shape[1]
    stamp = s + 1
    nk = 0
    nd = 0
    naff = 0

    def mark_aff(c, naff):
        if comp_st[c] != stamp:
            comp_st[c] = stamp
            comp_slot[c] = naff
            aff[naff] = c
            naff += 1
        return naff

    # ---- 1. outage sets ---------------------------------------------------------------------------
    for p in range(bus_ptr[s], bus_ptr[s + 1]):
        b = bus_idx[p]
        if not bus_alive0[b] or (bus_st[b] == stamp):
            continue
        bus_st[b] = stamp
        bus_lab[b] = -2 - nd
        dead[nd] = b
        nd += 1
        naff = mark_aff(bus_comp[b], naff)
        for a in range(adj_ptr[b], adj_ptr[b + 1]):
            l = adj_br[a]
            if br_st[l] != stamp:
                br_st[l] = stamp
                klist[nk] = l
                nk += 1
    for p in range(br_ptr[s], br_ptr[s + 1]):
        l = br_idx[p]
        if not br_alive0[l] or br_st[l] == stamp:
            continue
        br_st[l] = stamp
        klist[nk] = l
        nk += 1
        naff = mark_aff(bus_comp[br_f[l]], naff)
    ngd = 0
    for p in range(gen_ptr[s], gen_ptr[s + 1]):
        g = gen_idx[p]
        b = gen_bus[g]
        if not gen_alive0[g] or gen_st[g] == stamp or (bus_st[b] == stamp and bus_lab[b] <= -2):
            continue
        gen_st[g] = stamp
        gdest[ngd] = g
        ngd += 1
        naff = mark_aff(bus_comp[b], naff)
    nld = 0
    for p in range(load_ptr[s], load_ptr[s + 1]):
        l = load_idx[p]
        b = load_bus[l]
        if not load_alive0[l] or load_st[l] == stamp or (bus_st[b] == stamp and bus_lab[b] <= -2):
            continue
        load_st[l] = stamp
        ldest[nld] = l
        nld += 1
        naff = mark_aff(bus_comp[b], naff)

    # ---- 2. components ------------------------------------------------------------------------------
    for i in range(naff):  # per component, the first spanning tree whose root keeps all its branches
        c = aff[i]
        tsel[i] = 0
        for k in range(comp_root.shape[1]):
            r = comp_root[c, k]
            good = r >= 0 and not (bus_st[r] == stamp and bus_lab[r] <= -2)
            if good:
                for a in range(adj_ptr[r], adj_ptr[r + 1]):
                    if br_st[adj_br[a]] == stamp:
                        good = False
                        break
            if good:
                tsel[i] = k
                break
    ng = 0
    nbuf = 0
    for q in range(2 * nk + ngd + nld):
        if q < 2 * nk:
            l = klist[q // 2]
            b = br_f[l] if q % 2 == 0 else br_t[l]
        elif q < 2 * nk + ngd:
            b = gen_bus[gdest[q - 2 * nk]]
            if comp_img[bus_comp[b]] >= 0:
                continue
        else:
            b = load_bus[ldest[q - 2 * nk - ngd]]
            if comp_img[bus_comp[b]] >= 0:
                continue
        if bus_st[b] == stamp:
            continue
        c = bus_comp[b]
        g_par[ng] = ng
        g_seed[ng] = b
        g_comp[ng] = c
        g_start[ng] = nbuf
        g_len[ng] = 0
        tk = tsel[comp_slot[c]]
        if comp_img[c] >= 0 and walk_to_root(b, stamp, comp_root[c, tk], tree_parent[tk], tree_pbr[tk], br_st,
                                             bus_st, bus_lab, ok_st, fail_st, path):
            if main_st[c] != stamp:  # first bus proved in the rest of the grid: its group
                main_st[c] = stamp
                main_g[c] = ng
                g_big[ng] = True
                ng += 1
            bus_st[b] = stamp
            bus_lab[b] = main_g[c]
            continue
        g_big[ng] = False
        kind, cnt = bounded_search(b, ng, stamp, bound, adj_ptr, adj_bus, adj_br, br_st, bus_st, bus_lab, buf,
                                   nbuf, g_big, g_par, ok_st, main_g[c] if main_st[c] == stamp else -1)
        if kind == 3:
            return 2
        g_start[ng] = nbuf
        g_len[ng] = cnt
        nbuf += cnt
        ng += 1
    # several large groups in one component: those connected to the root form the rest of the grid; any
    # other is a large separate component, enumerated completely as an explicit island
    ng0 = ng
    for i in range(naff):
        c = aff[i]
        nbig = 0
        for g in range(ng0):
            if g_comp[g] == c and g_big[g] and g_par[g] == g:
                nbig += 1
        if nbig <= 1:
            continue
        for g in range(ng0):
            if g_comp[g] != c or not g_big[g] or g_par[g] != g or enum_st[g_seed[g]] == stamp:
                continue
            tk = tsel[i]
            if reaches_root(g_seed[g], stamp, comp_root[c, tk], tree_parent[tk], tree_pbr[tk], adj_ptr, adj_bus,
                            adj_br, br_st, bus_st, bus_lab, ok_st, fail_st, vis_st, path, queue):
                continue
            cnt = enumerate_component(g_seed[g], ng, stamp, adj_ptr, adj_bus, adj_br, br_st, bus_st, bus_lab,
                                      enum_st, buf, nbuf)
            g_par[ng] = ng
            g_big[ng] = False
            g_seed[ng] = g_seed[g]
            g_comp[ng] = c
            g_start[ng] = nbuf
            g_len[ng] = cnt
            nbuf += cnt
            ng += 1

    # ---- 3. island features and dispatch -------------------------------------------------------------
    for i in range(naff):
        c = aff[i]
        m_count[i] = comp_size[c]
        for m in range(nf):
            m_feat[i, m] = feat_comp[c, m]
    for k in range(nd):
        b = dead[k]
        i = comp_slot[bus_comp[b]]
        m_count[i] -= 1
        for m in range(nf):
            m_feat[i, m] -= feat[b, m]
    for g in range(ng):
        if g_big[g]:
            continue
        i = comp_slot[g_comp[g]]
        m_count[i] -= g_len[g]
        for m in range(nf):
            g_feat[g, m] = 0.0
        for p in range(g_start[g], g_start[g] + g_len[g]):
            b = buf[p]
            for m in range(nf):
                g_feat[g, m] += feat[b, m]
        for m in range(nf):
            m_feat[i, m] -= g_feat[g, m]
            g_alive[g, m] = g_feat[g, m]
    for q in range(ngd + nld):
        if q < ngd:
            b = gen_bus[gdest[q]]
            fa = feat_gen[gdest[q]]
        else:
            b = load_bus[ldest[q - ngd]]
            fa = feat_load[ldest[q - ngd]]
        if bus_st[b] == stamp and not g_big[bus_lab[b]]:
            gg = bus_lab[b]
            for m in range(nf):
                g_alive[gg, m] -= fa[m]
        else:
            i = comp_slot[bus_comp[b]]
            for m in range(nf):
                m_feat[i, m] -= fa[m]
    for i in range(naff):
        c = aff[i]
        has_big = False
        for g in range(ng):
            if g_comp[g] == c and g_big[g] and g_par[g] == g and enum_st[g_seed[g]] != stamp:
                has_big = True
        topo = False
        for k in range(nk):
            if bus_comp[br_f[klist[k]]] == c:
                topo = True
        if m_count[i] > 0 and (comp_img[c] < 0 or (topo and not has_big)):
            return 4
        if m_count[i] > 0:
            if island_rule_v(m_feat[i], n_tiers, vp, m_coef[i], m_frac[i], m_out[i]) != 0:
                return 5
        else:
            for m in range(nf):
                m_coef[i, m] = 0.0
    for g in range(ng):
        if not g_big[g]:
            if island_rule_v(g_alive[g], n_tiers, vp, g_coef[g], g_frac[g], g_out[g]) != 0:
                return 6

    # ---- metrics -------------------------------------------------------------------------------------
    gen_tot = out_t[0]
    served = out_t[1]
    pwp = out_t[2]
    n_isl = out_i[0]
    n_en = out_i[1]
    n_dec = out_t[3 + n_tiers]
    n_col = out_t[4 + n_tiers]
    n_ufls = out_t[5 + n_tiers]
    sh = frac_tmp
    for t in range(n_tiers):
        sh[t] = out_t[3 + t]
    for i in range(naff):
        c = aff[i]
        gen_tot -= comp_out[c, 1]
        served -= comp_out[c, 2]
        pwp -= comp_out[c, 3]
        n_isl -= 1
        n_en -= int(comp_out[c, 0])
        n_dec -= comp_out[c, 4]
        n_col -= comp_out[c, 5]
        n_ufls -= comp_out[c, 6]
        for t in range(n_tiers):
            sh[t] -= feat_comp[c, POS + t] * comp_frac[c, t]
        if m_count[i] > 0:
            gen_tot += m_out[i, 1]
            served += m_out[i, 2]
            pwp += m_out[i, 3]
            n_isl += 1
            n_en += int(m_out[i, 0])
            n_dec += m_out[i, 4]
            n_col += m_out[i, 5]
            n_ufls += m_out[i, 6]
            for t in range(n_tiers):
                sh[t] += m_feat[i, POS + t] * m_frac[i, t]
    for g in range(ng):
        if g_big[g]:
            continue
        gen_tot += g_out[g, 1]
        served += g_out[g, 2]
        pwp += g_out[g, 3]
        n_isl += 1
        n_en += int(g_out[g, 0])
        n_dec += g_out[g, 4]
        n_col += g_out[g, 5]
        n_ufls += g_out[g, 6]
        for t in range(n_tiers):
            sh[t] += g_alive[g, POS + t] * g_frac[g, t]
    for k in range(nd):
        b = dead[k]
        for t in range(n_tiers):
            sh[t] += feat[b, POS + t]
            pwp += feat[b, POS + n_tiers + t]
    for q in range(nld):
        l = ldest[q]
        for t in range(n_tiers):
            sh[t] += feat_load[l, POS + t]
            pwp += feat_load[l, POS + n_tiers + t]
    shed = 0.0
    wshed = 0.0
    for t in range(n_tiers):
        shed += sh[t]
        wshed += tier_w[t] * sh[t]
        out_f[s, 9 + t] = sh[t]
    out_f[s, 0] = served
    out_f[s, 1] = shed
    out_f[s, 2] = wshed
    out_f[s, 3] = gen_tot
    out_f[s, 4] = pwp
    out_f[s, 5] = n_isl
    out_f[s, 6] = n_en
    out_f[s, 9 + n_tiers] = n_dec
    out_f[s, 10 + n_tiers] = n_col
    out_f[s, 11 + n_tiers] = max(n_ufls, 0.0) if abs(n_ufls) > 1e-9 else 0.0

    # ---- 4. angles: images, bus corrections, Woodbury --------------------------------------------------
    for i in range(theta.size):
        theta[i] = theta0[i]
    for i in range(naff):
        c = aff[i]
        j = comp_img[c]
        if j < 0:
            continue
        for m in range(nf):
            d = m_coef[i, m] - coef0[c, m]
            if d != 0.0:
                _axpy(theta, d, img[j, m])
    nq = 0

    def add_q(b, v, nq):
        if v == 0.0:
            return nq
        if vis_st[b] != -stamp:
            vis_st[b] = -stamp
            qbus[b] = 0.0
            qlist[nq] = b
            nq += 1
        qbus[b] += v
        return nq

    for g in range(ng):
        if g_big[g]:
            continue
        c = g_comp[g]
        i = comp_slot[c]
        ic = m_coef[i] if comp_img[c] >= 0 else coef0[c]
        for p in range(g_start[g], g_start[g] + g_len[g]):
            b = buf[p]
            nq = add_q(b, _dot(g_coef[g], feat[b]) - _dot(ic, feat[b]), nq)
    for k in range(nd):
        b = dead[k]
        c = bus_comp[b]
        ic = m_coef[comp_slot[c]] if comp_img[c] >= 0 else coef0[c]
        nq = add_q(b, -_dot(ic, feat[b]), nq)
    for q in range(ngd + nld):
        if q < ngd:
            b = gen_bus[gdest[q]]
            fa = feat_gen[gdest[q]]
        else:
            b = load_bus[ldest[q - ngd]]
            fa = feat_load[ldest[q - ngd]]
        if bus_st[b] == stamp and not g_big[bus_lab[b]]:
            nq = add_q(b, -_dot(g_coef[bus_lab[b]], fa), nq)
        else:
            nq = add_q(b, -_dot(m_coef[comp_slot[bus_comp[b]]], fa), nq)
    if not use_sparse:  # the sparse path adds these in sparse_angles
        for k in range(nq):
            b = qlist[k]
            if qbus[b] != 0.0:
                _axpy(theta, qbus[b] / base_mva, Z[b])
    # spanning set T of K reconnects the components; R = K \ T
    nn = ng + naff + nd
    for k in range(nn):
        uf[k] = k
    nr = 0
    for k in range(nk):
        l = klist[k]
        n0 = _node(br_f[l], stamp, bus_st, bus_lab, g_big, ng, naff, comp_slot, bus_comp)
        n1 = _node(br_t[l], stamp, bus_st, bus_lab, g_big, ng, naff, comp_slot, bus_comp)
        ru = find(uf, n0)
        rv = find(uf, n1)
        if ru != rv:
            uf[ru] = rv
        else:
            if nr >= MAX_RANK:
                return 7
            rlist[nr] = l
            nr += 1
    if use_sparse:
        rc = sparse_angles(theta, qbus, qlist, nq, rlist, nr, br_f, br_t, br_b, br_pfinj, base_mva, S, SW, C, mat,
                           rhs)
        if rc != 0:
            return rc
    elif nr > 0:
        nbus = theta.size
        if has_brows:  # rows V_k = Z^T a_k precomputed: read each once, in the final update
            vsrc = brows
            for k in range(nr):
                rsel[k] = rlist[k]
        else:  # V_k = Z[f] - Z[t], streamed once into scratch
            vsrc = vrows
            for k in range(nr):
                l = rlist[k]
                zf = Z[br_f[l]]
                zt = Z[br_t[l]]
                vk = vrows[k]
                for i in range(nbus):
                    vk[i] = zf[i] - zt[i]
                rsel[k] = k
        for k in range(nr):
            l = rlist[k]
            if br_pfinj[l] != 0.0:
                _axpy(theta, br_pfinj[l], vsrc[rsel[k]])
        scale = 0.0
        for k in range(nr):
            l = rlist[k]
            fk, tk = br_f[l], br_t[l]
            rhs[k] = theta[fk] - theta[tk]
            for j in range(nr):
                vj = vsrc[rsel[j]]
                mat[k, j] = -(vj[fk] - vj[tk])
            mat[k, k] += 1.0 / br_b[l]
            scale = max(scale, abs(mat[k, k]))
        if not lu_solve_inplace(mat, rhs, nr, 1e-10 * scale):
            return 8
        for k in range(nr):
            _axpy(theta, rhs[k], vsrc[rsel[k]])

    # ---- 5. flows -----------------------------------------------------------------------------------------
    for k in range(nk):
        l = klist[k]
        wloc[l] = 0.0
        pfloc[l] = 0.0
    n_over = 0
    max_load = 0.0
    thr = 100.0 + OVERLOAD_EPS
    for l in range(br_f.size):
        fl = base_mva * (wloc[l] * (theta[br_f[l]] - theta[br_t[l]]) + pfloc[l])
        ld = abs(fl) * br_ir[l]
        max_load = max(max_load, ld)
        if ld > thr:
            n_over += 1
        if want_flows:
            flows[s, l] = fl
    for k in range(nk):
        l = klist[k]
        wloc[l] = br_w[l]
        pfloc[l] = br_pfinj[l]
    out_f[s, 7] = n_over
    out_f[s, 8] = max_load

    # ---- per-load shed (optional) ---------------------------------------------------------------------
    if want_loads:
        for l in range(load_shed0.size):
            lshed[s, l] = load_shed0[l]
        for i in range(naff):
            c = aff[i]
            for p in range(comp_load_ptr[c], comp_load_ptr[c + 1]):
                l = comp_load_idx[p]
                t = load_tcol[l]
                pos = feat_load[l, POS + t]
                b = load_bus[l]
                if load_st[l] == stamp or (bus_st[b] == stamp and bus_lab[b] <= -2):
                    fr = 1.0
                elif bus_st[b] == stamp and not g_big[bus_lab[b]]:
                    fr = g_frac[bus_lab[b], t]
                else:
                    fr = m_frac[i, t]
                lshed[s, l] = pos * fr
    return 0


@nb.njit(cache=True, parallel=True, nogil=True)  # nogil: a sweep writes the last part meanwhile
def run_batch(ob, G, n_bus, n_branch, n_gen, n_load, n_comp, n_tiers, bound, want_flows, want_loads,
              out_f, out_t, out_i, flags, flows, lshed, n_chunks):  # pragma: no cover - numba
    """Evaluate every scenario of the outage arrays ``ob``; flags[s] = 1 where the exact path is needed."""
    n_s = flags.size
    nf = G[21].shape[1]
    use_sparse = G[41]
    n_red = G[45].size if use_sparse else 0
    n_sw = n_bus if use_sparse else 0
    per = (n_s + n_chunks - 1) // n_chunks
    for ch in nb.prange(n_chunks):
        s0 = ch * per
        s1 = min(n_s, s0 + per)
        if s0 >= s1:
            continue
        nt1 = max(n_tiers, 1)
        cap = n_bus + 1
        n_vrows = 1 if use_sparse else MAX_RANK
        sw = sparse_workspace(n_red, n_sw, MAX_RANK, G[46][1] if use_sparse else 0)
        W = (np.zeros(n_bus, np.int64), np.zeros(n_bus, np.int64), np.zeros(n_branch, np.int64),
             np.zeros(max(n_gen, 1), np.int64), np.zeros(max(n_load, 1), np.int64), np.zeros(n_comp, np.int64),
             np.zeros(n_comp, np.int64), np.zeros(n_bus, np.int64), np.zeros(n_bus, np.int64),
             np.zeros(n_bus, np.int64), np.zeros(cap, np.int64), np.zeros(cap, np.int64),
             np.zeros(cap, np.int64), np.zeros(n_branch, np.int64), np.zeros(cap, np.int64),
             np.zeros(max(n_gen, 1), np.int64), np.zeros(max(n_load, 1), np.int64), np.zeros(n_comp, np.int64),
             np.zeros(cap, np.int64), np.zeros(cap, np.bool_), np.zeros(cap, np.int64), np.zeros(cap, np.int64),
             np.zeros(cap, np.int64), np.zeros(cap, np.int64), np.zeros((cap, nf)), np.zeros((cap, nf)),
             np.zeros((cap, nf)), np.zeros((cap, nt1)), np.zeros((cap, 7)), np.zeros((n_comp, nf)),
             np.zeros((n_comp, nf)), np.zeros((n_comp, nt1)), np.zeros((n_comp, 7)), np.zeros(n_comp, np.int64),
             np.zeros(n_bus), np.zeros(n_bus), np.zeros(cap + n_gen + n_load, np.int64),
             np.zeros(3 * cap + n_comp, np.int64), np.zeros(MAX_RANK, np.int64),
             np.empty((MAX_RANK, MAX_RANK)), np.zeros(MAX_RANK), np.zeros(nf), np.zeros(nt1), np.zeros(7),
             np.empty((n_vrows, n_bus), G[25].dtype), G[36].copy(), G[6].copy(),
             np.zeros(n_bus, np.int64), np.zeros(MAX_RANK, np.int64), np.zeros(n_comp, np.int64),
             np.zeros(n_comp, np.int64), np.zeros(n_comp, np.int64),
             sw)
        for s in range(s0, s1):
            flags[s] = _scenario(s, ob, G, W, n_tiers, bound, want_flows, want_loads, out_f, out_t, out_i,
                                 flows, lshed)
