"""Over-frequency at separation: LFSM-O and over-frequency protection, per state and in the batched kernel."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import svitlo
from svitlo.engine.batch import evaluate_batch, outages_from_indices
from svitlo.engine.damage import apply_damage, damage_from_indices
from svitlo.engine.frequency import OverFrequency, SfrParams, _nadir_scalar, overfrequency_peak_pu
from svitlo.engine.impact import build_impact
from svitlo.engine.invariants import check_impact
from svitlo.engine.state import evaluate_state
from svitlo.engine.viability import OVERFREQ, ViabilityOptions
from svitlo.errors import ScenarioError
from svitlo.model.grid import make_grid

ON = ViabilityOptions(enabled=True)


def _exporter(pv_mw: float = 0.0, pv_out_mw: float = 0.0):
    """Bus 1 holds a 60 MW unit (and optional PV) serving 20 MW locally and exporting 30 MW to bus 0."""
    b = pd.DataFrame(index=["bus:0", "bus:1"])
    br = pd.DataFrame({"from_bus": ["bus:0"], "to_bus": ["bus:1"], "x_pu": [0.1]}, index=["line:0"])
    gens = pd.DataFrame({"bus": ["bus:0", "bus:1", "bus:1"], "kind": ["gen", "gen", "sgen"],
                         "p_mw": [70.0, 50.0 - pv_out_mw, pv_out_mw], "p_max_mw": [200.0, 60.0, pv_mw],
                         "forms_island": [True, True, False], "inertia_h_s": [4.0, 4.0, np.nan]},
                        index=["gen:0", "gen:1", "sgen:0"])
    loads = pd.DataFrame({"bus": ["bus:0", "bus:1"], "p_mw": [100.0, 20.0]}, index=["load:0", "load:1"])
    return make_grid(buses=b, branches=br, generators=gens, loads=loads, name="exporter")


def _island1(g, opts=ON):
    cg = svitlo.compile_grid(g)
    r = evaluate_state(cg, apply_damage(cg, ["line:0"]), viability=opts)
    imp = build_impact(cg, r)
    check_impact(imp)
    return r, imp.islands.set_index("id").loc[r.labels[1]]


def test_surplus_island_trips_on_over_frequency():
    """30 MW export lost on a 60 MW unit (0.5 p.u.): the frequency peaks near 52.7 Hz, above 51.5 Hz."""
    r, isl = _island1(_exporter())
    assert not isl["energised"] and isl["reason"] == "over-frequency"
    assert r.viability.peak_hz[r.labels[1]] > 52.5
    _, off = _island1(_exporter(), ViabilityOptions(enabled=True, over_frequency=None))
    assert off["energised"]  # without the rule the island stays lit


def test_lfsm_o_of_inverters_saves_the_island():
    """With 40 MW of PV producing 25 MW (part of the same 50 MW), LFSM-O cuts the PV back and holds the peak."""
    r, isl = _island1(_exporter(pv_mw=40.0, pv_out_mw=25.0))
    assert isl["energised"] and isl["reason"] == ""
    assert 50.2 < r.viability.peak_hz[r.labels[1]] < 51.5
    _, stiff = _island1(_exporter(pv_mw=40.0, pv_out_mw=25.0),
                        ViabilityOptions(enabled=True, over_frequency=OverFrequency(droop=0.12)))
    assert stiff["reason"] == "over-frequency"  # a 12 % droop responds too little


def test_keys_and_errors():
    sc = {"strikes": [{"assets": ["line:0"]}], "viability": {"enabled": True,
                                                            "over_frequency": {"trip_hz": 53.0}}}
    assert svitlo.assess(_exporter(), sc).metrics["islands_collapsed"] == 0
    sc["viability"]["over_frequency"] = {"enabled": False}
    assert svitlo.assess(_exporter(), sc).metrics["islands_collapsed"] == 0
    del sc["viability"]["over_frequency"]
    assert svitlo.assess(_exporter(), sc).metrics["islands_collapsed"] == 1
    for bad in ({"lfsm_o_droop_percent": 20}, {"trip_hz": 50.1}, {"lfsm_o_hz": 49.0}):
        with pytest.raises(ScenarioError, match="over_frequency"):
            svitlo.parse_scenario({"grid": "case9", "viability": {"over_frequency": bad}})


@settings(max_examples=60, deadline=None)
@given(p=st.floats(0.01, 1.5), h=st.floats(0.5, 10), gain=st.floats(0, 200), cap=st.floats(0, 3),
       d=st.floats(0, 3))
def test_lfsm_o_only_lowers_the_peak(p, h, gain, cap, d):
    """LFSM-O never raises the peak; more gain never raises it; with no gain the integration is the closed form."""
    sfr = SfrParams(d_pu=d)
    o = OverFrequency()
    kw = dict(h_s=h, params=sfr, over=o)
    plain = overfrequency_peak_pu(p, lfsm_gain_pu=0.0, lfsm_cap_pu=0.0, **kw)
    assert plain == pytest.approx(_nadir_scalar(p, h, sfr.r_pu, d, sfr.km, sfr.fh, sfr.tr_s)[0])
    tiny = overfrequency_peak_pu(p, lfsm_gain_pu=1e-9, lfsm_cap_pu=cap + 1, **kw)
    assert tiny == pytest.approx(plain, rel=1e-4)   # RK4 against the closed form
    a = overfrequency_peak_pu(p, lfsm_gain_pu=gain, lfsm_cap_pu=cap, **kw)
    b = overfrequency_peak_pu(p, lfsm_gain_pu=2 * gain + 1, lfsm_cap_pu=cap, **kw)
    delta = o.threshold_hz / 50 - 1
    assert a <= plain * (1 + 1e-4) + 1e-9 and b <= a * (1 + 1e-4) + 1e-9
    assert a >= min(plain, delta) - 1e-9  # LFSM-O acts only above its threshold


def _surplus_grid(seed):
    g = svitlo.load_grid("case118")
    rng = np.random.default_rng(seed)
    gens = g.generators.copy()
    gens["inertia_h_s"] = rng.uniform(2, 8, len(gens))
    gens["p_min_mw"] = 0.0
    loads = g.loads.copy()
    loads["tier"] = rng.integers(1, 4, len(loads))
    # inverter-based units beside a third of the synchronous ones, at the same bus
    pv = gens.iloc[::3].copy()
    pv.index = [f"sgen:{i}" for i in range(len(pv))]
    pv["kind"], pv["forms_island"], pv["inertia_h_s"] = "sgen", False, np.nan
    pv["p_max_mw"] = rng.uniform(5, 80, len(pv))
    pv["p_mw"] = pv["p_max_mw"] * rng.uniform(0, 1, len(pv))
    return g.with_tables(generators=pd.concat([gens, pv]), loads=loads)


@pytest.fixture(scope="module")
def cgs():
    return svitlo.compile_grid(_surplus_grid(5))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_batch_equals_per_state_over_frequency(cgs, data):
    """Strikes on the branches around generator buses cut exporting islands off: the kernel (where it keeps the
    scenario) and the per-state rule agree, over-frequency trips included."""
    gb = set(cgs.gen_bus.tolist())
    near = np.flatnonzero(np.isin(cgs.br_f, list(gb)) | np.isin(cgs.br_t, list(gb)))
    n = 8
    br = [data.draw(st.lists(st.sampled_from(near.tolist()), min_size=1, max_size=12)) for _ in range(n)]
    out = outages_from_indices(branches=br)
    res = evaluate_batch(cgs, out, return_flows=True, viability=ON)
    for s in range(n):
        r = evaluate_state(cgs, damage_from_indices(cgs, branches=br[s]), viability=ON)
        m = build_impact(cgs, r).metrics
        for k in ("served_mw", "shed_mw", "generation_mw", "weighted_shed_mw"):
            assert abs(getattr(res, k)[s] - m[k]) <= 1e-6, (s, k)
        for k in ("islands", "energised_islands", "islands_collapsed", "units_decommitted"):
            assert getattr(res, k)[s] == m[k], (s, k)
        assert np.max(np.abs(res.flows_mw[s] - r.flow_mw), initial=0.0) <= 1e-6


def test_kernel_darkens_over_frequency_islands_itself(cgs):
    """A fixed sample: over-frequency trips occur, and the kernel settles them without the exact path."""
    rng = np.random.default_rng(0)
    gb = set(cgs.gen_bus.tolist())
    near = np.flatnonzero(np.isin(cgs.br_f, list(gb)) | np.isin(cgs.br_t, list(gb)))
    br = [list(rng.choice(near, 6, replace=False)) for _ in range(40)]
    res = evaluate_batch(cgs, outages_from_indices(branches=br), viability=ON)
    tripped_fast = 0
    for s in range(40):
        r = evaluate_state(cgs, damage_from_indices(cgs, branches=br[s]), viability=ON)
        assert res.energised_islands[s] == build_impact(cgs, r).metrics["energised_islands"]
        tripped_fast += int((r.viability.reason == OVERFREQ).any() and not res.exact[s])
    assert tripped_fast >= 3
