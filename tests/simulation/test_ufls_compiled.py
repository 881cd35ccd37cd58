"""The compiled UFLS step response (used per state by the timeline kernel) gives the Python function's floats."""

from __future__ import annotations

import numpy as np
import pytest

from svitlo.engine.frequency import SfrParams, UflsSchedule, _ufls_compiled, _ufls_scalar, ufls_response


def test_compiled_ufls_equals_python_bit_for_bit():
    pytest.importorskip("numba")
    fast = _ufls_compiled()
    assert fast is not _ufls_scalar
    rng = np.random.default_rng(7)
    sch = UflsSchedule.nc_er()
    hz, frac = np.asarray(sch.hz, dtype=np.float64), np.asarray(sch.fraction, dtype=np.float64)
    stages_seen = set()
    for _ in range(60):
        p, h = float(rng.uniform(0.01, 0.9)), float(rng.uniform(0.5, 8.0))
        prm = SfrParams(r_pu=float(rng.uniform(0.03, 0.08)), tr_s=float(rng.uniform(2.0, 10.0)),
                        fh=float(rng.uniform(0.1, 0.5)), km=float(rng.uniform(0.5, 1.0)), d_pu=float(rng.uniform(0, 2)))
        args = (p, h, prm.r_pu, prm.d_pu, prm.km, prm.fh, prm.tr_s, 50.0, hz, frac, 0.1,
                float(rng.uniform(0.3, 1.0)), 60.0, 0.01)
        want, got = _ufls_scalar(*args), fast(*args)
        assert float(got[0]) == float(want[0]) and int(got[1]) == int(want[1]) and float(got[2]) == float(want[2])
        stages_seen.add(int(want[1]))
        if want[1]:   # a stage trips: ufls_response takes the compiled path
            out = ufls_response(p, h_s=h, params=prm, schedule=sch, sheddable_pu=args[11])
            assert out.nadir_hz == float(want[0]) and out.stages == int(want[1])
    assert len(stages_seen) > 2   # the draws trip no stage, some and all of them
