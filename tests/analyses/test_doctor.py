"""``svitlo doctor``: findings with asset ids and assumptions on a hand-built grid, exit codes and JSON."""

from __future__ import annotations

import json

import pandas as pd

from svitlo.analyses.doctor import diagnose, worst_severity
from svitlo.cli.main import main
from svitlo.model.grid import make_grid


def odd_grid():
    """bus:0-bus:1 energised by gen:0; bus:2-bus:3 hold only an inverter (sgen): dark before any strike.
    line:1 has negative reactance; gen:1 has no capacity limit; gen:2 forms islands with p_max = 0."""
    buses = pd.DataFrame({"lat": [50.0, 50.1, float("nan"), 50.3], "lon": [30.0, 30.1, 30.2, 30.3]},
                         index=[f"bus:{i}" for i in range(4)])
    br = pd.DataFrame({"from_bus": ["bus:0", "bus:2"], "to_bus": ["bus:1", "bus:3"], "x_pu": [0.1, -0.05],
                       "rate_mw": [50.0, float("inf")]}, index=["line:0", "line:1"])
    gen = pd.DataFrame({"bus": ["bus:0", "bus:1", "bus:1", "bus:2"], "p_max_mw": [80.0, float("inf"), 0.0, 5.0],
                        "forms_island": [True, True, True, False], "cost_per_mwh": [10.0, 0.0, 0.0, 0.0],
                        "kind": ["gen", "gen", "gen", "sgen"]},
                       index=["gen:0", "gen:1", "gen:2", "sgen:0"])
    loads = pd.DataFrame({"bus": ["bus:1", "bus:3"], "p_mw": [30.0, 10.0], "population": [100.0, 0.0]},
                         index=["load:1", "load:3"])
    return make_grid(buses=buses, branches=br, generators=gen, loads=loads, name="odd")


def test_findings_name_assets_and_assumptions():
    f = {x.code: x for x in diagnose(odd_grid())}
    assert f["dark_islands"].assets == ("bus:2", "bus:3") and f["dark_islands"].severity == "warning"
    assert f["negative_reactance"].assets == ("line:1",)
    assert f["unlimited_generator"].assets == ("gen:1",)
    assert f["zero_capacity_forming"].assets == ("gen:2",)
    assert f["unrated_branches"].assets == ("line:1",)
    assert set(f["no_cost"].assets) == {"gen:1", "gen:2", "sgen:0"}
    assert f["no_population"].assets == ("load:3",)
    assert f["no_coordinates"].assets == ("bus:2",)
    assert all(x.assumption for x in f.values())
    assert worst_severity(list(f.values())) == "warning"


def test_cli_exit_codes_and_json(tmp_path, capsys):
    assert main(["doctor", "case9", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["worst"] == "info" and out["findings"][0]["code"] == "no_coordinates"
    path = tmp_path / "all_off.m"  # the only unit is out of service: nothing can energise the grid
    path.write_text("""function mpc = all_off
mpc.version = '2';
mpc.baseMVA = 100;
mpc.bus = [
1 3 0 0 0 0 1 1 0 20 1 1.1 0.9;
2 1 10 0 0 0 1 1 0 20 1 1.1 0.9;
];
mpc.gen = [
1 0 0 10 -10 1 100 0 50 0 0 0 0 0 0 0 0 0 0 0 0;
];
mpc.branch = [
1 2 0.01 0.1 0 0 0 0 0 0 1 -360 360;
];
""")
    assert main(["doctor", str(path), "--json"]) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["worst"] == "error" and out["findings"][0]["code"] == "no_forming_unit"
    assert out["findings"][0]["assets"] == []
