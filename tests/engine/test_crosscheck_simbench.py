"""DC flows equal pandapower ``rundcpp`` on SimBench grids (shipped with the simbench package): an HV grid with
three external grids and an MV grid with switches; the intact grid and a fixed-seed sample of N-1 outages that
leave one island."""

from __future__ import annotations

import numpy as np
import pytest
from reference import max_flow_error, pandapower_dc_flows

import svitlo

simbench = pytest.importorskip("simbench")

CODES = ["1-HV-mixed--0-no_sw", "1-MV-urban--0-sw"]


@pytest.fixture(scope="module", params=CODES)
def case(request):
    net = simbench.get_simbench_net(request.param)
    grid = svitlo.load_grid(net)
    return net, grid, svitlo.compile_grid(grid)


def test_simbench_dc_flows_equal_rundcpp(case, check):
    from svitlo.engine.damage import apply_damage
    from svitlo.topology.islands import islands

    net, grid, cg = case
    imp = svitlo.assess(grid, {}, compiled=cg)
    check(imp)
    assert imp.metrics["islands"] == 1
    assert max_flow_error(imp, pandapower_dc_flows(net, imp)) < 1e-6
    one_island = []
    for b in cg.branch_ids[cg.br_in_service]:
        st = apply_damage(cg, [b])
        if islands(cg.n_bus, cg.br_f, cg.br_t, st.branch_alive, st.bus_alive)[1] == 1:
            one_island.append(str(b))
    rng = np.random.default_rng(7)
    for b in rng.choice(one_island, size=min(8, len(one_island)), replace=False):
        imp = svitlo.assess(grid, {"strikes": [{"assets": [str(b)]}]}, compiled=cg)
        check(imp)
        assert max_flow_error(imp, pandapower_dc_flows(net, imp, destroyed_branches=[str(b)])) < 1e-6
