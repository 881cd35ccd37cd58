"""DC power flow over all islands at once (one sparse factorisation per state).

Each island gets one reference bus (angle 0); with balanced injections per island the flows do not depend on
which. The model is MATPOWER's ``makeBdc``/``dcpf``: ``Bbus θ = P - Pbusinj``, ``P_f = Bf θ + Pfinj``.

Examples
--------
>>> import numpy as np
>>> th, f = dc_flows(n_bus=3, br_f=np.array([0, 1]), br_t=np.array([1, 2]), br_b_pu=np.array([10.0, 10.0]),
...                  br_shift_rad=np.zeros(2), branch_alive=np.array([True, True]),
...                  labels=np.array([0, 0, 0]), p_bus_mw=np.array([50.0, 0.0, -50.0]), base_mva=100.0)
>>> f.round(9).tolist()
[50.0, 50.0]
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from svitlo.errors import SolverError
from svitlo.model.compiled import CompiledGrid

__all__ = ["dc_flows", "island_references", "slack_units", "slack_references"]


def island_references(labels: np.ndarray, n_islands: int, preferred: np.ndarray | None = None) -> np.ndarray:
    """One reference bus per island: the first ``preferred`` bus found in it, else its lowest bus index."""
    ref = np.full(n_islands, -1, dtype=np.int64)
    if preferred is not None and preferred.size:
        lab = labels[preferred]
        ok = lab >= 0
        # first occurrence wins: iterate reversed so earlier entries overwrite later ones
        ref[lab[ok][::-1]] = preferred[ok][::-1]
    alive = np.flatnonzero(labels >= 0)
    lab = labels[alive]
    first = np.full(n_islands, -1, dtype=np.int64)
    first[lab[::-1]] = alive[::-1]
    return np.where(ref >= 0, ref, first)


def dc_flows(*, n_bus: int, br_f: np.ndarray, br_t: np.ndarray, br_b_pu: np.ndarray, br_shift_rad: np.ndarray,
             branch_alive: np.ndarray, labels: np.ndarray, p_bus_mw: np.ndarray, base_mva: float,
             refs: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Voltage angles (rad, NaN on dead buses) and branch flows (MW, 0 on branches out of service).

    Parameters
    ----------
    p_bus_mw
        Net injection per bus (MW), balanced within each island.
    labels
        Island per bus (-1 = dead bus), from :func:`svitlo.topology.islands.islands`.
    refs
        Reference bus per island (default: :func:`island_references`).
    """
    n_islands = int(labels.max()) + 1 if labels.size and labels.max() >= 0 else 0
    alive_br = branch_alive & (labels[br_f] >= 0) & (labels[br_t] >= 0)
    b = np.where(alive_br, br_b_pu, 0.0)
    pfinj = np.where(alive_br, -br_b_pu * br_shift_rad, 0.0)
    nl = br_f.size
    rows = np.repeat(np.arange(nl), 2)
    cols = np.column_stack([br_f, br_t]).ravel()
    a = sp.csr_matrix((np.tile([1.0, -1.0], nl), (rows, cols)), shape=(nl, n_bus))
    bbus = (a.T @ sp.diags(b) @ a).tocsc()
    pbusinj = np.asarray(a.T @ pfinj).ravel()
    if refs is None:
        refs = island_references(labels, n_islands)
    theta = np.full(n_bus, np.nan)
    free = labels >= 0
    free[refs[refs >= 0]] = False
    idx = np.flatnonzero(free)
    theta[labels >= 0] = 0.0
    if idx.size:
        rhs = p_bus_mw[idx] / base_mva - pbusinj[idx]
        mat = bbus[idx][:, idx].tocsc()
        try:
            theta[idx] = splu(mat).solve(rhs)
        except RuntimeError as exc:  # singular: a zero-susceptance path inside an island
            raise SolverError(f"DC power flow failed: singular susceptance matrix ({exc})") from None
        if not np.all(np.isfinite(theta[idx])):
            raise SolverError("DC power flow produced non-finite angles")
    th = np.nan_to_num(theta)
    flows = base_mva * (b * (th[br_f] - th[br_t]) + pfinj)
    return theta, np.where(alive_br, flows, 0.0)


def slack_units(cg: CompiledGrid, labels: np.ndarray, n_islands: int, gen_alive: np.ndarray) -> np.ndarray:
    """The slack rule, once for the DC and AC paths: per island, its largest surviving island-forming generator
    (by ``p_max_mw``, ties to the first), or -1 where it has none."""
    cand = np.flatnonzero(gen_alive & cg.gen_forms_island)
    order = cand[np.argsort(-np.nan_to_num(cg.gen_p_max_mw[cand], posinf=1e18), kind="stable")]
    out = np.full(n_islands, -1, dtype=np.int64)
    for j in order[::-1]:
        isl = labels[cg.gen_bus[j]]
        if isl >= 0:
            out[isl] = j
    return out


def slack_references(cg: CompiledGrid, labels: np.ndarray, n_islands: int, gen_alive: np.ndarray) -> np.ndarray:
    """Reference bus per island: the bus of its slack unit (:func:`slack_units`), else its lowest bus."""
    unit = slack_units(cg, labels, n_islands, gen_alive)
    have = unit >= 0
    return island_references(labels, n_islands, cg.gen_bus[unit[have]])
