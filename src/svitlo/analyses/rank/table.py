"""The *protect first* table: how often and how badly each asset appears among the worst sets.

For the ``W`` worst sets found (values ``v_s``), an asset's ``score`` is the share of their total value held by
the sets that contain it: ``Σ_{s ∋ a} v_s / Σ_s v_s`` (1 = in every worst set). Beside it: ``times_in_worst``,
``worst_value`` (the worst set holding it), ``n1_value`` (its loss alone) and, after an N-2 screening,
``n2_worst`` / ``n2_mean`` over every pair holding it. Sorted by score, then N-1, then N-2 worst.

Examples
--------
>>> import numpy as np
>>> t = protect_first(np.array(["a", "b", "c"], dtype=object), [((0, 1), 3.0), ((0, 2), 1.0)],
...                   n1=np.array([1.0, 0.0, 0.5]))
>>> t[["id", "rank", "score", "times_in_worst"]].values.tolist()
[['a', 1, 1.0, 2], ['b', 2, 0.75, 1], ['c', 3, 0.25, 1]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["protect_first", "TABLE_COLUMNS"]

#: Columns of the table (value columns in the unit of the ranking metric).
TABLE_COLUMNS = ("id", "rank", "score", "times_in_worst", "worst_value", "n1_value", "n2_worst", "n2_mean")


def protect_first(ids: np.ndarray, worst: list[tuple[tuple[int, ...], float]], *, n1: np.ndarray | None = None,
                  n2_worst: np.ndarray | None = None, n2_mean: np.ndarray | None = None) -> pd.DataFrame:
    """The table over candidates ``ids`` from the worst sets (candidate positions, value), worst first.

    Rows: every candidate in a worst set or with a positive N-1 or N-2 value.
    """
    n = ids.size
    score = np.zeros(n)
    times = np.zeros(n, dtype=np.int64)
    wv = np.full(n, np.nan)
    total = sum(max(v, 0.0) for _, v in worst)
    for s, v in worst:
        for a in s:
            score[a] += max(v, 0.0)
            times[a] += 1
            wv[a] = v if np.isnan(wv[a]) else max(wv[a], v)
    score = score / total if total > 0 else score
    nan = np.full(n, np.nan)
    df = pd.DataFrame({"id": ids.astype(str), "score": score, "times_in_worst": times, "worst_value": wv,
                       "n1_value": nan if n1 is None else n1, "n2_worst": nan if n2_worst is None else n2_worst,
                       "n2_mean": nan if n2_mean is None else n2_mean})
    keep = (times > 0) | (df["n1_value"].fillna(0) > 0) | (df["n2_worst"].fillna(0) > 0)
    df = df[keep].sort_values(["score", "n1_value", "n2_worst", "id"], ascending=[False, False, False, True],
                              na_position="last", kind="stable").reset_index(drop=True)
    df.insert(1, "rank", np.arange(1, len(df) + 1))
    return df[list(TABLE_COLUMNS)]
