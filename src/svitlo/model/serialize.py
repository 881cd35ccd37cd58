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
    """Rows of a table as JSON-ready dicts."""
    cols = list(df.columns)
    return [{c: jsonable(v) for c, v in zip(cols, row)} for row in df.itertuples(index=False, name=None)]
