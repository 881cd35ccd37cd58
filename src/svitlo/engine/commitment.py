"""Unit commitment per island for ``opf`` mode: a small exact MILP (HiGHS).

For each lit island, binaries ``u_g`` (unit online) and outputs ``p_g`` with ``p_min u_g ≤ p_g ≤ p_max u_g``
balance the island's load less shed load ``s_l`` (``0 ≤ s_l ≤ load``), with at least one grid-forming unit
online. The objective is, in order of weight: priority-weighted shed (the tier weights of ``opf``), then units
kept online (a decommitment costs ``1e-4``), then generation cost (``1e-7`` per MWh). Branch ratings are left to
the DC OPF that follows on the committed units; if no commitment balances the island (its load is below every
grid-forming unit's minimum), the island is dark.

Examples
--------
>>> import numpy as np
>>> u, ok = commit_island(p_min=np.array([60.0, 50.0]), p_max=np.array([300.0, 270.0]),
...                       forms=np.array([True, True]), cost=np.array([10.0, 20.0]), load_mw=np.array([100.0]),
...                       weights=np.array([1.0]))
>>> u.tolist(), ok           # both minimums (110 MW) exceed the 100 MW load: the dearer unit goes off
([True, False], True)
>>> commit_island(p_min=np.array([60.0]), p_max=np.array([300.0]), forms=np.array([True]), cost=np.zeros(1),
...               load_mw=np.array([20.0]), weights=np.array([1.0]))[1]
False
"""

from __future__ import annotations

import numpy as np

__all__ = ["commit_island"]


def commit_island(*, p_min: np.ndarray, p_max: np.ndarray, forms: np.ndarray, cost: np.ndarray,
                  load_mw: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, bool]:
    """Commitment of one island's units (see the module docstring).

    Parameters
    ----------
    p_min, p_max
        Per unit (MW; ``p_min`` clipped to ``[0, p_max]``; ``p_max`` may be inf).
    forms
        Per unit: grid-forming.
    cost
        Per unit (currency/MWh).
    load_mw
        Per load of the island (MW; negative = a source modelled as load, fixed).
    weights
        Shed weight per load.

    Returns
    -------
    (online, feasible)
        Per unit, whether it stays online; False when no commitment balances the island.
    """
    import highspy

    from svitlo.engine.opf import _new_highs

    ng = p_min.size
    pos = np.flatnonzero(load_mw > 0)
    demand = float(load_mw.sum())
    if ng == 0 or not forms.any():
        return np.zeros(ng, bool), False
    big = max(demand, 0.0) + 1.0
    cap = np.where(np.isfinite(p_max), p_max, big)
    n_col = 2 * ng + pos.size  # u, p, s
    inf = highspy.kHighsInf
    c = np.concatenate([np.full(ng, -1e-4), 1e-7 * np.nan_to_num(cost), weights[pos]])
    lo = np.zeros(n_col)
    hi = np.concatenate([np.ones(ng), cap, load_mw[pos]])
    rows: list = []
    cols: list = []
    vals: list = []
    rlo: list = []
    rhi: list = []

    def row(entries, a, b):
        r = len(rlo)
        for j, v in entries:
            rows.append(r)
            cols.append(j)
            vals.append(v)
        rlo.append(a)
        rhi.append(b)

    row([(ng + g, 1.0) for g in range(ng)] + [(2 * ng + k, 1.0) for k in range(pos.size)], demand, demand)
    for g in range(ng):
        row([(ng + g, 1.0), (g, -cap[g])], -inf, 0.0)
        row([(ng + g, 1.0), (g, -p_min[g])], 0.0, inf)
    row([(g, 1.0) for g in np.flatnonzero(forms)], 1.0, inf)
    import scipy.sparse as sp

    a = sp.csc_matrix((vals, (rows, cols)), shape=(len(rlo), n_col))
    model = highspy.HighsLp()
    model.num_col_ = n_col
    model.num_row_ = a.shape[0]
    model.col_cost_ = c
    model.col_lower_ = lo
    model.col_upper_ = hi
    model.row_lower_ = np.asarray(rlo, float)
    model.row_upper_ = np.asarray(rhi, float)
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = a.indptr.astype(np.int32)
    model.a_matrix_.index_ = a.indices.astype(np.int32)
    model.a_matrix_.value_ = a.data.astype(float)
    model.integrality_ = [highspy.HighsVarType.kInteger] * ng + [highspy.HighsVarType.kContinuous] * (n_col - ng)
    h = _new_highs()
    h.setOptionValue("mip_rel_gap", 0.0)
    h.passModel(model)
    h.run()
    status = h.modelStatusToString(h.getModelStatus()).lower()
    if status != "optimal":
        return np.zeros(ng, bool), False
    x = np.asarray(h.getSolution().col_value)
    return x[:ng] > 0.5, True
