"""The closed forms sweeps use (backup duration, probability of going dark within a horizon) equal the stepped
backup model of the timeline."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from svitlo.facilities.backup import (
    DARK,
    backup_duration_h,
    backup_spec,
    dark_within_probability,
    initial_state,
    step_backup,
)

finite = st.floats(min_value=0.0, max_value=60.0, allow_nan=False)


def _stepped_hours(fac: pd.DataFrame, starts: np.ndarray, horizon: int = 200) -> np.ndarray:
    """Hours of backup of facilities that lose the grid at hour 0, stepping the timeline's model."""
    spec = backup_spec(fac)
    st_ = initial_state(spec)
    draws = np.where(starts[:, None], 1.0, 0.0) * np.ones((len(fac), horizon + 1))  # 1.0: start succeeds
    spec_forced = spec.__class__(**{**spec.__dict__, "fail_prob": np.full(len(fac), 0.5)})
    total = np.zeros(len(fac))
    for _ in range(horizon):
        st_, step = step_backup(spec_forced, st_, np.zeros(len(fac), bool), draws)
        total += step.covered_h
        if (step.state == DARK).all():
            break
    return total


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(min_value=1.0, max_value=500.0), st.sampled_from([0.0, 50.0, 300.0]), finite,
                          finite, st.booleans()), min_size=1, max_size=6))
def test_backup_duration_equals_stepped_model(rows):
    fac = pd.DataFrame({"demand_kw": [r[0] for r in rows], "gen_kw": [r[1] for r in rows],
                        "fuel_h": [r[2] for r in rows], "gen_fail_prob": [0.5] * len(rows),
                        "battery_kwh": [r[3] * r[0] / 10.0 for r in rows]})
    starts = np.array([r[4] for r in rows])
    want = _stepped_hours(fac, starts)
    got = backup_duration_h(backup_spec(fac), generator_starts=starts)
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_dark_within_probability_by_hand():
    fac = pd.DataFrame({"demand_kw": [100.0, 100.0, 100.0], "gen_kw": [100.0, 0.0, 100.0],
                        "fuel_h": [48.0, 0.0, 10.0], "gen_fail_prob": [0.1, 0.0, 0.0],
                        "battery_kwh": [200.0, 200.0, 0.0]})
    p = dark_within_probability(backup_spec(fac), 24.0)
    # 1: fails (0.1) -> 2 h of battery < 24; starts -> 50 h >= 24.  2: no generator, 2 h.  3: 10 h < 24.
    np.testing.assert_allclose(p, [0.1, 1.0, 1.0])
