"""Unknown asset ids in ``repairs.order`` or ``repairs.access`` are refused with the scenario file named,
by every command that runs a timeline (they used to be ignored silently outside ``svitlo restore``)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from svitlo.errors import ScenarioError
from svitlo.pipeline import prepare

BASE = "grid: case9\nstrikes: [{assets: [line:3]}]\nhorizon_h: 6\n"


@pytest.mark.parametrize("repairs,field", [
    ("{crews: 1, order: [line:3, line:999]}", "repairs.order[1]"),
    ("{crews: 1, access: [{assets: [bus:1, trafo:77], from_h: 0, to_h: 3}]}", "repairs.access[0].assets"),
])
def test_unknown_repair_asset_names_file_field_value(tmp_path, repairs, field):
    f = tmp_path / "sc.yaml"
    f.write_text(BASE + f"repairs: {repairs}\n")
    with pytest.raises(ScenarioError) as e:
        prepare(scenario=f)
    msg = str(e.value)
    assert str(f) in msg and field in msg and ("line:999" in msg or "trafo:77" in msg)
    r = subprocess.run([sys.executable, "-m", "svitlo.cli.main", "simulate", str(f)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 2 and field in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_kinds_and_known_ids_pass(tmp_path):
    f = tmp_path / "sc.yaml"
    f.write_text(BASE + "repairs: {crews: 1, order: [line:3, trafo, bus], access: [{assets: [bus:1], from_h: 0, to_h: 2}]}\n")
    assert prepare(scenario=f).scenario.repairs.order[0] == "line:3"
