"""Two-edge cuts of the intact network: pairs of branches whose joint loss splits an island.

On a grid that is N-1 secure most single losses shed nothing, so a greedy attacker sees no signal at the first
step. Pairs that cut the grid are found directly: give every non-tree branch of a spanning forest a random
64-bit label and every tree branch the XOR of the labels of the non-tree branches whose cycles cross it; two
branches form a cut pair exactly when their labels are equal and non-zero (with probability 1 − 2⁻⁶⁴ per pair;
label 0 marks a bridge). Cost: linear in the grid size.

Reference: the cycle-space labelling of M. Pătraşcu, M. Thorup, "Planning for fast connectivity updates",
FOCS 2007 (randomised XOR labels for cut pairs).

Examples
--------
>>> import numpy as np
>>> # a square 0-1-2-3-0 plus a pendant 3-4: any two square sides cut it, 3-4 is a bridge
>>> f, t = np.array([0, 1, 2, 3, 3]), np.array([1, 2, 3, 0, 4])
>>> sorted(map(tuple, cut_pairs(5, f, t, np.ones(5, bool)).tolist()))
[(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
"""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = ["cut_pairs", "cycle_labels"]


def cut_pairs(n_bus: int, br_f: np.ndarray, br_t: np.ndarray, alive: np.ndarray, *, seed: int = 0,
              max_pairs: int = 500_000) -> np.ndarray:
    """Branch index pairs ``(i, j)``, ``i < j``, both alive, whose joint loss disconnects their component.

    At most ``max_pairs`` pairs (the smallest label groups first: long series chains give many pairs).
    """
    ids = np.flatnonzero(alive)
    label = cycle_labels(n_bus, br_f, br_t, alive, seed=seed)
    lab = label[ids]
    keep = lab != 0
    ids, lab = ids[keep], lab[keep]
    order_l = np.argsort(lab, kind="stable")
    ids, lab = ids[order_l], lab[order_l]
    bounds = np.flatnonzero(np.r_[True, lab[1:] != lab[:-1], True])
    groups = [ids[a:b] for a, b in zip(bounds[:-1], bounds[1:]) if b - a >= 2]
    groups.sort(key=len)
    out: list[np.ndarray] = []
    total = 0
    for g in groups:
        i, j = np.triu_indices(g.size, 1)
        p = np.column_stack([g[i], g[j]])
        if total + len(p) > max_pairs:
            break
        out.append(p)
        total += len(p)
    return np.sort(np.concatenate(out), axis=1) if out else np.zeros((0, 2), dtype=np.int64)


def cycle_labels(n_bus: int, br_f: np.ndarray, br_t: np.ndarray, alive: np.ndarray, *, seed: int = 0
                 ) -> np.ndarray:
    """Random 64-bit cycle-space label of every branch (0 for dead branches, self-loops and bridges).

    Two alive branches whose joint loss disconnects their component always carry equal non-zero labels; two
    branches with equal labels that do not form a cut occur with probability 2⁻⁶⁴ per pair. A bridge's label
    is 0; a non-bridge's label is 0 with probability about 2⁻⁶³.
    """
    rng = np.random.default_rng(seed)
    ids = np.flatnonzero(alive)
    adj: list[list[tuple[int, int]]] = [[] for _ in range(n_bus)]
    for e in ids:
        f, t = int(br_f[e]), int(br_t[e])
        if f != t:
            adj[f].append((t, int(e)))
            adj[t].append((f, int(e)))
    parent_edge = np.full(n_bus, -1, dtype=np.int64)
    seen = np.zeros(n_bus, dtype=bool)
    order: list[int] = []
    tree = np.zeros(br_f.size, dtype=bool)
    for r in range(n_bus):
        if seen[r] or not adj[r]:
            continue
        seen[r] = True
        q = deque([r])
        while q:
            v = q.popleft()
            order.append(v)
            for w, e in adj[v]:
                if not seen[w]:
                    seen[w] = True
                    parent_edge[w] = e
                    tree[e] = True
                    q.append(w)
    label = np.zeros(br_f.size, dtype=np.uint64)
    x = np.zeros(n_bus, dtype=np.uint64)
    for e in ids:
        if not tree[e] and br_f[e] != br_t[e]:
            r_e = np.uint64(rng.integers(1, 2**63, dtype=np.int64)) | np.uint64(1 << 63)
            label[e] = r_e
            x[br_f[e]] ^= r_e
            x[br_t[e]] ^= r_e
    for v in reversed(order):  # children before parents
        e = parent_edge[v]
        if e >= 0:
            label[e] = x[v]
            u = br_f[e] if br_t[e] == v else br_t[e]
            x[u] ^= x[v]
    return label
