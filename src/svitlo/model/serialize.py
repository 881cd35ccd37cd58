"""JSON-ready values from numpy/pandas results: one place for the conversion rules.

Numpy scalars become Python numbers, non-finite floats become ``None`` (JSON has no NaN), containers recurse.

Examples
--------
>>> import numpy as np
>>> jsonable({"a": np.float64(1.5), "b": [np.int64(2), float("nan")], 3: np.True_})
{'a': 1.5, 'b': [2, None], '3': True}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["jsonable", "records"]


def jsonable(v: Any) -> Any:
    """A JSON-ready copy of ``v`` (dicts, lists, tuples, arrays, numpy scalars, floats)."""
    if isinstance(v, Mapping):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [jsonable(x) for x in v]
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    return v


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of a table as JSON-ready dicts (column by column: numeric columns convert in one ``tolist``).

    >>> records(pd.DataFrame({"a": [1.5, float("nan")], "b": [1, 2], "c": [True, False], "d": ["x", None]}))
    [{'a': 1.5, 'b': 1, 'c': True, 'd': 'x'}, {'a': None, 'b': 2, 'c': False, 'd': None}]
    """
    cols = [str(c) for c in df.columns]
    values = [_column(df.iloc[:, i]) for i in range(df.shape[1])]
    return [dict(zip(cols, row)) for row in zip(*values)] if cols else [{} for _ in range(len(df))]


def _column(col: pd.Series) -> list[Any]:
    """One column's JSON-ready values."""
    kind = col.dtype.kind if isinstance(col.dtype, np.dtype) else ""
    if kind in "biu":
        return col.to_numpy().tolist()
    if kind == "f":
        a = col.to_numpy()
        out = a.tolist()
        bad = np.flatnonzero(~np.isfinite(a))
        for i in bad.tolist():
            out[i] = None
        return out
    return [jsonable(v) for v in col.to_numpy(dtype=object)]
