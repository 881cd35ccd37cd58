"""PyPSA import: a real case rebuilt in PyPSA flows in svitlo exactly as PyPSA's own ``network.lpf()``."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest

import svitlo
from svitlo.errors import GridError

pypsa = pytest.importorskip("pypsa")
TOL_MW = 1e-6


def _pypsa_case(name: str = "case118"):
    """``name`` (pandapower's bundled case, via svitlo's import) as a PyPSA network: lines in ohms, transformers
    in per unit of ``s_nom`` with taps and phase shifts, generators with carriers, a DC link, a storage unit."""
    g = svitlo.load_grid(name)
    base = g.base_mva
    n = pypsa.Network()
    n.set_snapshots([0])
    b = g.buses
    n.add("Bus", b.index, v_nom=b["vn_kv"].to_numpy(float))
    br = g.branches[g.branches["in_service"]]
    vn = b["vn_kv"]
    lines = br[br["kind"] == "line"]
    n.add("Line", lines.index, bus0=lines["from_bus"].to_numpy(), bus1=lines["to_bus"].to_numpy(),
          x=(lines["x_pu"] * vn.loc[lines["from_bus"]].to_numpy() ** 2 / base).to_numpy(),
          s_nom=np.where(np.isfinite(lines["rate_mw"]), lines["rate_mw"], 0.0))
    tr = br[br["kind"] != "line"]
    s_nom = np.where(np.isfinite(tr["rate_mw"]), tr["rate_mw"], 500.0)
    shift = tr["shift_deg"].to_numpy(float).copy()
    shift[:3] += [4.0, -7.5, 2.0]  # phase shifters: the sign convention is checked too
    n.add("Transformer", tr.index, bus0=tr["from_bus"].to_numpy(), bus1=tr["to_bus"].to_numpy(),
          x=(tr["x_pu"] / base * s_nom).to_numpy(), s_nom=s_nom, tap_ratio=tr["tap_ratio"].to_numpy(),
          phase_shift=shift)
    gens = g.generators[g.generators["in_service"]]
    carriers = np.where(np.arange(len(gens)) % 5 == 0, "onwind", "gas")
    n.add("Generator", gens.index, bus=gens["bus"].to_numpy(), p_set=gens["p_mw"].to_numpy(),
          p_nom=np.maximum(gens["p_max_mw"].to_numpy(), gens["p_mw"].to_numpy()), carrier=carriers,
          control=["Slack"] + ["PV"] * (len(gens) - 1))
    ld = g.loads[g.loads["in_service"]]
    n.add("Load", ld.index, bus=ld["bus"].to_numpy(), p_set=ld["p_mw"].to_numpy())
    n.add("Link", "hvdc", bus0=b.index[3], bus1=b.index[80], p_set=30.0, efficiency=0.97, p_nom=100.0)
    n.add("StorageUnit", "battery", bus=b.index[20], p_set=12.0, p_nom=20.0, carrier="battery")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            n.lpf()
            # give the slack its balancing output, so both tools start from the same dispatch
            gp = n.generators_t.p.iloc[0]
            n.generators["p_set"] = gp.reindex(n.generators.index).to_numpy()
            n.lpf()
        finally:
            logging.disable(logging.NOTSET)
    return n


def _flows(n) -> dict[str, float]:
    out = {f"line:{k}": float(v) for k, v in n.lines_t.p0.iloc[0].items()}
    out.update({f"trafo:{k}": float(v) for k, v in n.transformers_t.p0.iloc[0].items()})
    return out


@pytest.fixture(scope="module")
def net118():
    return _pypsa_case()


def test_intact_flows_equal_lpf(net118, check):
    from svitlo.io.pypsa import from_pypsa

    g = from_pypsa(net118)
    imp = svitlo.assess(g, {"strikes": []})
    check(imp)
    assert imp.metrics["shed_mw"] == pytest.approx(0.0, abs=TOL_MW)
    got = imp.branches.set_index("id")["flow_mw"]
    for k, v in _flows(net118).items():
        assert abs(got.loc[k] - v) <= TOL_MW, (k, got.loc[k], v)
    kinds = g.generators.groupby("kind").size().to_dict()
    assert kinds["link"] == 1 and kinds["storage"] == 1
    assert not g.generators.loc["gen:" + net118.generators.index[0], "forms_island"]  # onwind
    assert g.generators.loc["gen:" + net118.generators.index[1], "forms_island"]  # gas


def test_strike_flows_equal_lpf_on_the_struck_network(net118, check):
    """Two lines out (the grid stays in one piece): svitlo's strike equals lpf on PyPSA's network without
    them (same dispatch: the slack takes the same imbalance, zero here)."""
    from svitlo.io.pypsa import from_pypsa

    out = [net118.lines.index[10], net118.lines.index[40]]
    g = from_pypsa(net118)
    imp = svitlo.assess(g, {"strikes": [{"assets": [f"line:{x}" for x in out]}]})
    check(imp)
    assert imp.metrics["islands"] == 1
    m = net118.copy()
    m.lines.loc[out, "active"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            m.lpf()
        finally:
            logging.disable(logging.NOTSET)
    got = imp.branches.set_index("id")["flow_mw"]
    ref = _flows(m)
    for k in out:
        ref.pop(f"line:{k}", None)
    worst = max(abs(got.loc[k] - v) for k, v in ref.items())
    assert worst <= TOL_MW, worst


def test_files_and_load_grid(net118, tmp_path):
    from svitlo.io.pypsa import read_pypsa

    folder = tmp_path / "csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net118.export_to_csv_folder(str(folder))
    g = read_pypsa(folder)
    assert len(g.buses) == len(net118.buses)
    g2 = svitlo.load_grid({"pypsa": str(folder)})
    assert g2.branches.equals(g.branches)
    with pytest.raises(GridError, match="file not found"):
        read_pypsa(tmp_path / "missing.nc")
    g3 = svitlo.load_grid(net118)
    assert g3.generators.equals(g.generators)
