"""Property-based tests of the parsers: valid input round-trips, any input either parses or raises a svitlo
InputError (never a raw traceback from deep inside a library)."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svitlo
from svitlo.errors import InputError
from svitlo.io.matpower import read_matpower

_scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 50), st.floats(allow_nan=True),
                     st.text(max_size=8))
_keys = st.sampled_from(["name", "grid", "mode", "seed", "strikes", "tiers", "people_per_mw", "population",
                         "assets", "random", "targeted", "k", "kinds", "by", "default", "loads", "buses", "bogus"])
_values = st.recursive(_scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(_keys, inner, max_size=4)), max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(data=st.dictionaries(_keys, _values, max_size=6))
def test_scenario_parser_total(data):
    try:
        sc = svitlo.parse_scenario(data, source="fuzz.yaml")
    except InputError as exc:
        assert str(exc).startswith("fuzz.yaml")
    else:
        assert sc.grid is not None


@settings(max_examples=60, deadline=None)
@given(k=st.integers(1, 30), kinds=st.lists(st.sampled_from(["line", "trafo", "bus", "gen"]), min_size=1,
                                             max_size=3, unique=True), seed=st.integers(0, 10**6),
       tier=st.sampled_from(["critical", "essential", "standard", 2]))
def test_scenario_yaml_roundtrip(k, kinds, seed, tier):
    doc = {"name": "x", "grid": "case30", "seed": seed, "strikes": [{"random": {"k": k, "kinds": kinds}}],
           "tiers": {"default": tier}}
    sc = svitlo.parse_scenario(yaml.safe_load(yaml.safe_dump(doc)))
    assert sc.strikes[0].random.k == k and sc.strikes[0].random.kinds == kinds and sc.seed == seed


def _case_text(bus, gen, branch) -> str:
    def mat(rows):
        return "\n".join("\t" + "\t".join(repr(float(v)) for v in r) + ";" for r in rows)

    return (f"function mpc = rnd\nmpc.version = '2';\nmpc.baseMVA = 100;\nmpc.bus = [\n{mat(bus)}\n];\n"
            f"mpc.gen = [\n{mat(gen)}\n];\nmpc.branch = [\n{mat(branch)}\n];\n")


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(2, 8), data=st.data())
def test_matpower_roundtrip(tmp_path, n, data):
    pd_mw = data.draw(st.lists(st.floats(0, 200, allow_nan=False), min_size=n, max_size=n))
    bus = [[i + 1, 3 if i == 0 else 1, pd_mw[i], 0, 0, 0, 1, 1, 0, 110, 1, 1.1, 0.9] for i in range(n)]
    pmax = data.draw(st.floats(1, 500))
    gen = [[1, 50, 0, 100, -100, 1, 100, 1, pmax, 0]]
    x = data.draw(st.lists(st.floats(0.01, 1.0), min_size=n - 1, max_size=n - 1))
    branch = [[i + 1, i + 2, 0.01, x[i], 0, 100, 100, 100, 0, 0, 1, -360, 360] for i in range(n - 1)]
    p = tmp_path / f"rnd{n}.m"
    p.write_text(_case_text(bus, gen, branch))
    g = read_matpower(p)
    assert len(g.buses) == n and len(g.branches) == n - 1
    np.testing.assert_allclose(g.branches["x_pu"].to_numpy(), x)
    assert g.loads.loc[g.loads["kind"] == "load", "p_mw"].sum() == pytest.approx(sum(pd_mw), rel=1e-12, abs=1e-9)
    assert float(g.generators.loc["gen:1", "p_max_mw"]) == pmax
    imp = svitlo.assess(g, {})
    svitlo.engine.invariants.check_impact(imp)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.text(max_size=200))
def test_matpower_garbage_is_a_grid_error(tmp_path, junk):
    p = tmp_path / "junk.m"
    p.write_text("function mpc = junk\nmpc.baseMVA = 100;\nmpc.bus = [\n" + junk + "\n];\n")
    try:
        read_matpower(p)
    except InputError as exc:
        assert "junk.m" in str(exc)
