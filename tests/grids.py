"""Small hand-made grids shared by tests (importable: ``tests/`` is on the path)."""

import pandas as pd

from svitlo.model.grid import make_grid


def small_grid():
    """gen:0 at bus:0; bus:1 hangs on line:0, bus:2 on line:1, bus:3 on line:2 (both from bus:1), bus:4 on
    line:3 from bus:0. Loads of 10, 5, 5 and 5 MW at buses 1-4; generation up to 100 MW."""
    buses = pd.DataFrame({"lat": [50.0, 50.0, 50.0, 50.01, 49.99], "lon": [30.0, 30.01, 30.02, 30.01, 30.0]},
                         index=[f"bus:{i}" for i in range(5)])
    br = pd.DataFrame({"from_bus": ["bus:0", "bus:1", "bus:1", "bus:0"], "to_bus": ["bus:1", "bus:2", "bus:3", "bus:4"],
                       "x_pu": [0.1, 0.1, 0.1, 0.1]}, index=[f"line:{i}" for i in range(4)])
    gen = pd.DataFrame({"bus": ["bus:0"], "p_mw": [20.0], "p_max_mw": [100.0]}, index=["gen:0"])
    loads = pd.DataFrame({"bus": ["bus:1", "bus:2", "bus:3", "bus:4"], "p_mw": [10.0, 5.0, 5.0, 5.0],
                          "population": [1000.0, 500, 500, 500]}, index=["load:1", "load:2", "load:3", "load:4"])
    return make_grid(buses=buses, branches=br, generators=gen, loads=loads, name="small")
