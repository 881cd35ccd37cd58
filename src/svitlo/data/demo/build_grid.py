"""Rebuild ``oberrhein_chp.json``, the demo grid, from pandapower's ``mv_oberrhein`` test network.

Run ``python src/svitlo/data/demo/build_grid.py`` to write the file again; the test suite checks that the
shipped file equals what this script builds. The method is documented in ``README.md`` beside this file.

The only change to the standard test network is one synthetic unit (see :data:`CHP`): a gas-engine combined
heat and power plant in the town of the north-eastern substation, able to form an island. Everything else
(topology, line data, coordinates, loads, the 153 PV units at zero output) is pandapower's own.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

#: The synthetic island-forming unit added to the test grid: a municipal gas-engine CHP plant (a few MW
#: electric is the usual size of a town's district-heating CHP) at the centre of the north-eastern town.
CHP: dict[str, Any] = {
    "bus": 55,
    "p_mw": 1.0,          # scheduled output before the strike (MW): part load, the town imports the rest
    "max_p_mw": 3.5,      # electric capacity (MW)
    "min_p_mw": 0.0,
    "vm_pu": 1.0,
    "name": "Town CHP (synthetic)",
}

OUT = Path(__file__).with_name("oberrhein_chp.json")


def build_net() -> Any:
    """The demo pandapower net: ``mv_oberrhein`` plus the synthetic CHP unit."""
    import pandapower as pp
    import pandapower.networks as pn

    net = pn.mv_oberrhein()
    net.name = "mv_oberrhein + town CHP (synthetic)"
    pp.create_gen(net, bus=CHP["bus"], p_mw=CHP["p_mw"], max_p_mw=CHP["max_p_mw"], min_p_mw=CHP["min_p_mw"],
                  vm_pu=CHP["vm_pu"], name=CHP["name"], controllable=True)
    return net


def main(path: Path = OUT) -> Path:
    """Write the demo grid as pandapower JSON to ``path``."""
    import pandapower as pp

    pp.to_json(build_net(), str(path))
    return path


if __name__ == "__main__":
    print(main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT))
