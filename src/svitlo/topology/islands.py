"""Islands: connected components of in-service branches over surviving buses (scipy.sparse.csgraph).

Examples
--------
>>> import numpy as np
>>> labels, n = islands(4, np.array([0, 2]), np.array([1, 3]), np.array([True, True]), np.ones(4, bool))
>>> labels.tolist(), n
([0, 0, 1, 1], 2)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

__all__ = ["islands"]


def islands(n_bus: int, br_f: np.ndarray, br_t: np.ndarray, branch_alive: np.ndarray,
            bus_alive: np.ndarray) -> tuple[np.ndarray, int]:
    """Label each bus with its island.

    Parameters
    ----------
    n_bus
        Number of buses.
    br_f, br_t
        From/to bus index of each branch.
    branch_alive
        Branch in service (both ends must be alive too; dead-ended branches are ignored).
    bus_alive
        Bus survives.

    Returns
    -------
    labels
        Island number per bus (0..n-1, numbered in order of their lowest bus index); -1 for dead buses.
    n
        Number of islands (an isolated surviving bus is an island of its own).
    """
    ok = branch_alive & bus_alive[br_f] & bus_alive[br_t]
    f, t = br_f[ok], br_t[ok]
    g = sp.csr_matrix((np.ones(f.size, dtype=np.int8), (f, t)), shape=(n_bus, n_bus))
    _, comp = connected_components(g, directed=False)
    labels = np.full(n_bus, -1, dtype=np.int64)
    alive = np.flatnonzero(bus_alive)
    if alive.size == 0:
        return labels, 0
    # renumber components of alive buses 0..n-1 by first appearance (lowest bus index)
    c = comp[alive]
    _, first, inverse = np.unique(c, return_index=True, return_inverse=True)
    rank = np.argsort(np.argsort(first))
    labels[alive] = rank[inverse]
    return labels, int(first.size)
