"""Generator cost curves in ``opf``: quadratic (HiGHS QP) and piecewise-linear, from MATPOWER and pandapower.

On intact grids where nothing needs shedding, ``opf`` with the case's ``p_min`` is a plain DC OPF: its cost and
dispatch must equal pandapower's ``rundcopp`` (an independent interior-point solver) on the same case.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import svitlo
from svitlo.engine.damage import apply_damage
from svitlo.engine.state import evaluate_state
from svitlo.errors import GridError
from svitlo.model.costs import generation_cost, parse_pwl


def _rundcopp(net):
    import pandapower as pp

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pp.rundcopp(net)
    out = {f"gen:{i}": v for i, v in net.res_gen["p_mw"].items()}
    out.update({f"ext_grid:{i}": v for i, v in net.res_ext_grid["p_mw"].items()})
    out.update({f"sgen:{i}": v for i, v in net.res_sgen["p_mw"].items()})
    return float(net.res_cost), out


def _svitlo_opf(net, name):
    cg = svitlo.compile_grid(svitlo.load_grid(net) if name is None else svitlo.load_grid(name))
    r = evaluate_state(cg, apply_damage(cg, []), mode="opf", options={"p_min": "case"})
    assert r.info["opf"]["cost_stage"] == "optimal"
    return cg, r


@pytest.mark.parametrize("case", ["case30", "case57", "case118", "case300"])
def test_intact_opf_equals_rundcopp(case):
    import pandapower.networks as pn

    cost, ref = _rundcopp(getattr(pn, case)())
    cg, r = _svitlo_opf(None, case)
    assert r.info["opf"]["shed_mw"] == pytest.approx(0.0, abs=1e-7)
    assert r.info["opf"]["generation_cost"] == pytest.approx(cost, rel=1e-6)
    p = dict(zip(cg.gen_ids, r.gen_p_mw))
    for gid, v in ref.items():
        assert p[gid] == pytest.approx(v, abs=0.05), gid


def test_pandapower_piecewise_linear_cost_equals_rundcopp():
    import pandapower as pp
    import pandapower.networks as pn

    net = pn.case30()
    net.poly_cost.drop(net.poly_cost.index, inplace=True)
    rng = np.random.default_rng(3)
    for et, table in (("gen", net.gen), ("ext_grid", net.ext_grid)):
        for i in table.index:
            top = float(table.at[i, "max_p_mw"])
            s = np.sort(rng.uniform(1.0, 40.0, 3))  # convex: rising slopes
            pts = [[top * k / 3, top * (k + 1) / 3, float(s[k])] for k in range(3)]
            pp.create_pwl_cost(net, i, et, pts)
    cost, ref = _rundcopp(net)
    cg, r = _svitlo_opf(net, None)
    assert len(cg.gen_pwl) == len(net.gen) + len(net.ext_grid)
    assert r.info["opf"]["generation_cost"] == pytest.approx(cost, rel=1e-5)
    # piecewise-linear optima may be degenerate: compare the cost of the dispatch, and its balance
    p = dict(zip(cg.gen_ids, r.gen_p_mw))
    assert sum(p.values()) == pytest.approx(sum(ref.values()), abs=1e-4)


def test_matpower_costs_are_read_in_full():
    mp = svitlo.compile_grid(svitlo.load_grid({"matpower": "case9"}))
    np.testing.assert_allclose(mp.gen_cost_c2, [0.11, 0.085, 0.1225])
    np.testing.assert_allclose(mp.gen_cost, [5.0, 1.2, 1.0])
    np.testing.assert_allclose(mp.gen_cost_c0, [150.0, 600.0, 335.0])
    pwl = svitlo.compile_grid(svitlo.load_grid({"matpower": "case30pwl"}))
    p, c = pwl.gen_pwl[0]
    np.testing.assert_allclose(p, [0, 12, 36, 60])
    np.testing.assert_allclose(c, [0, 144, 1008, 2832])
    # the MATPOWER and pandapower imports of case30 carry the same curves
    pp30 = svitlo.compile_grid(svitlo.load_grid("case30"))
    m30 = svitlo.compile_grid(svitlo.load_grid({"matpower": "case30"}))
    np.testing.assert_allclose(np.sort(pp30.gen_cost_c2), np.sort(m30.gen_cost_c2))


def test_matpower_pwl_case_opf_cost_is_the_curve_at_the_dispatch():
    cg = svitlo.compile_grid(svitlo.load_grid({"matpower": "case30pwl"}))
    r = evaluate_state(cg, apply_damage(cg, []), mode="opf", options={"p_min": "case"})
    online = np.ones(cg.n_gen, bool)
    assert r.info["opf"]["generation_cost"] == pytest.approx(generation_cost(cg, r.gen_p_mw, online))
    assert r.info["opf"]["generation_cost"] > 0
    # the epigraph never undercuts the curve: cost at the optimum <= cost of the balance dispatch
    b = evaluate_state(cg, apply_damage(cg, []))
    assert r.info["opf"]["generation_cost"] <= generation_cost(cg, b.gen_p_mw, online) + 1e-6


@pytest.mark.parametrize("text", ["[[0, 0]]", "[[0, 0], [10, 100], [20, 150]]", "[[5, 0], [5, 1]]", "nope"])
def test_bad_piecewise_linear_cost_is_a_clear_error(text):
    with pytest.raises(GridError, match="cost_pwl"):
        parse_pwl(text, field="gen:1")
