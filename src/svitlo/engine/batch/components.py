"""Which buses an outage set cuts off: bounded local searches plus a spanning-tree certificate (numba).

A strike removes a few branches (and the branches of destroyed buses). Every part of the grid that changes is
reachable from an endpoint of a removed branch, and the parts that get cut off are usually tiny. So, from each
endpoint, a breadth-first search explores at most ``bound`` buses:

* if it runs out of buses first, it has found a whole cut-off component (*small group*);
* if it reaches a bus another search already claimed as large, the two are the same component (merged);
* otherwise it is a *large group*: part of the component that holds the rest of the grid.

Several large groups of one base component are proved to be one component by walking each one's spanning-tree
path to the component's root: a path that avoids every removed branch connects it (walks are memoised per
scenario). A group whose path is cut retries from the buses its own search reaches; if none connects, the
component really split into two large parts, and that part is enumerated completely as an explicit island.

All functions work on per-thread scratch arrays stamped with the scenario number, so nothing is cleared
between scenarios.
"""

from __future__ import annotations

import numba as nb

__all__ = ["bounded_search", "enumerate_component", "find", "reaches_root"]


@nb.njit(cache=True)
def find(parent, g):  # pragma: no cover - numba
    """Union-find root with path halving."""
    while parent[g] != g:
        parent[g] = parent[parent[g]]
        g = parent[g]
    return g


@nb.njit(cache=True)
def bounded_search(seed, g, stamp, bound, adj_ptr, adj_bus, adj_br, br_st, bus_st, bus_lab, buf, start,
                   g_big, g_par, ok_st, main_g):  # pragma: no cover - numba
    """Search from ``seed`` as group ``g``; buses go to ``buf[start:]``.

    Buses with ``ok_st == stamp`` are proved connected to the root; reaching one joins group ``main_g``.
    Returns ``(kind, count)``: kind 0 = small group of ``count`` buses (complete component), 1 = large group,
    2 = merged into an earlier large group (``g_par[g]`` set), 3 = inconsistent (touched a small group).
    """
    head = start
    tail = start
    bus_st[seed] = stamp
    bus_lab[seed] = g
    buf[tail] = seed
    tail += 1
    while head < tail:
        u = buf[head]
        head += 1
        for a in range(adj_ptr[u], adj_ptr[u + 1]):
            if br_st[adj_br[a]] == stamp:
                continue
            v = adj_bus[a]
            if bus_st[v] == stamp:
                lab = bus_lab[v]
                if lab == g or lab < 0:
                    continue
                r = find(g_par, lab)
                if not g_big[r]:
                    return 3, 0
                g_par[g] = r
                g_big[g] = True
                return 2, 0
            if ok_st[v] == stamp and main_g >= 0:
                g_par[g] = main_g
                g_big[g] = True
                return 2, 0
            bus_st[v] = stamp
            bus_lab[v] = g
            buf[tail] = v
            tail += 1
            if tail - start > bound:
                g_big[g] = True
                return 1, 0
    return 0, tail - start


@nb.njit(cache=True)
def walk_to_root(u, stamp, root, parent, pbr, br_st, bus_st, bus_lab, ok_st, fail_st, path):  # pragma: no cover
    """True if the spanning-tree path from ``u`` to ``root`` survives (memoised in ``ok_st``/``fail_st``)."""
    return _walk(u, stamp, root, parent, pbr, br_st, bus_st, bus_lab, ok_st, fail_st, path)


@nb.njit(cache=True)
def _walk(u, stamp, root, parent, pbr, br_st, bus_st, bus_lab, ok_st, fail_st, path):  # pragma: no cover
    n = 0
    ok = False
    while True:
        if ok_st[u] == stamp:
            ok = True
            break
        if fail_st[u] == stamp:
            break
        if bus_st[u] == stamp and bus_lab[u] <= -2:  # destroyed bus
            break
        if u == root:
            ok = True
            break
        b = pbr[u]
        if b < 0 or br_st[b] == stamp:
            break
        path[n] = u
        n += 1
        u = parent[u]
    mark = ok_st if ok else fail_st
    for i in range(n):
        mark[path[i]] = stamp
    if ok:
        ok_st[u] = stamp
    return ok


@nb.njit(cache=True)
def reaches_root(seed, stamp, root, parent, pbr, adj_ptr, adj_bus, adj_br, br_st, bus_st, bus_lab, ok_st,
                 fail_st, vis_st, path, queue):  # pragma: no cover - numba
    """True if ``seed`` is connected to ``root`` once the stamped branches are removed (exact)."""
    if _walk(seed, stamp, root, parent, pbr, br_st, bus_st, bus_lab, ok_st, fail_st, path):
        return True
    head = 0
    tail = 0
    vis_st[seed] = stamp
    queue[tail] = seed
    tail += 1
    while head < tail:
        u = queue[head]
        head += 1
        for a in range(adj_ptr[u], adj_ptr[u + 1]):
            if br_st[adj_br[a]] == stamp:
                continue
            v = adj_bus[a]
            if ok_st[v] != stamp:
                if vis_st[v] == stamp:
                    continue
                vis_st[v] = stamp
            if ok_st[v] == stamp or _walk(v, stamp, root, parent, pbr, br_st, bus_st, bus_lab, ok_st, fail_st,
                                          path):
                for i in range(tail):  # everything this search reached is connected to the root too
                    ok_st[queue[i]] = stamp
                return True
            queue[tail] = v
            tail += 1
    return False


@nb.njit(cache=True)
def enumerate_component(seed, g, stamp, adj_ptr, adj_bus, adj_br, br_st, bus_st, bus_lab, enum_st, buf,
                        start):  # pragma: no cover - numba
    """Label the whole component of ``seed`` as group ``g`` (buses to ``buf[start:]``); returns its size."""
    tail = start
    head = start
    enum_st[seed] = stamp
    bus_st[seed] = stamp
    bus_lab[seed] = g
    buf[tail] = seed
    tail += 1
    while head < tail:
        u = buf[head]
        head += 1
        for a in range(adj_ptr[u], adj_ptr[u + 1]):
            if br_st[adj_br[a]] == stamp:
                continue
            v = adj_bus[a]
            if enum_st[v] == stamp:
                continue
            enum_st[v] = stamp
            bus_st[v] = stamp
            bus_lab[v] = g
            buf[tail] = v
            tail += 1
    return tail - start
