"""``records`` converts column by column; it must equal the cell-by-cell rule of ``jsonable``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from svitlo.model.serialize import jsonable, records

_floats = st.floats(allow_nan=True, allow_infinity=True, width=64)


def _cellwise(df: pd.DataFrame) -> list[dict]:
    cols = [str(c) for c in df.columns]
    return [{c: jsonable(v) for c, v in zip(cols, row)} for row in df.itertuples(index=False, name=None)]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 6), data=st.data())
def test_records_equal_cellwise(n, data):
    df = pd.DataFrame({
        "f": np.array(data.draw(st.lists(_floats, min_size=n, max_size=n)), dtype=np.float64),
        "i": np.array(data.draw(st.lists(st.integers(-2**40, 2**40), min_size=n, max_size=n)), dtype=np.int64),
        "u": np.array(data.draw(st.lists(st.integers(0, 255), min_size=n, max_size=n)), dtype=np.uint8),
        "b": np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool),
        "s": pd.Series(data.draw(st.lists(st.one_of(st.none(), st.text(max_size=3)), min_size=n, max_size=n)),
                       dtype=object),
        "o": pd.Series(data.draw(st.lists(st.one_of(_floats, st.integers(-5, 5)), min_size=n, max_size=n)),
                       dtype=object),
    })
    got, want = records(df), _cellwise(df)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert list(g) == list(w)
        assert all(_same(g[k], w[k]) for k in g), (g, w)
    for row in got:  # JSON-ready: no NaN, no numpy scalars
        for v in row.values():
            assert not isinstance(v, np.generic)
            assert not (isinstance(v, float) and not math.isfinite(v))


def test_records_of_a_frame_with_no_columns_keeps_its_rows():
    assert records(pd.DataFrame(index=range(3))) == [{}, {}, {}]
