"""Islands that under-frequency load shedding saves settle in the batched kernel, equal to the per-state path.

UFLS sheds each non-exempt load by the stages' share, the commitment check sees the demand left, and the
operator's priority re-dispatch serves what remains; the kernel must give the per-state path's every metric,
UFLS shed and per-load shed without sending the scenario to the exact path.
"""

from __future__ import annotations

import numpy as np
import pytest

import svitlo
from svitlo.engine.batch import evaluate_batch, outages_from_indices
from svitlo.engine.batch.exact import exact_scenario
from svitlo.engine.damage import damage_from_indices
from svitlo.engine.frequency import UflsSchedule
from svitlo.engine.state import evaluate_state
from svitlo.engine.viability import PMIN, ViabilityOptions

pytest.importorskip("numba")

TOL = 1e-6
OPTS = ViabilityOptions(enabled=True, ufls=UflsSchedule.nc_er(exempt_tiers=(1,)))
METRICS = ("served_mw", "shed_mw", "weighted_shed_mw", "generation_mw", "people_without_power",
           "max_loading_percent", "ufls_shed_mw")
COUNTS = ("islands", "energised_islands", "overloaded_branches", "islands_collapsed", "units_decommitted")


@pytest.fixture(scope="module")
def case300():
    """case300 with random tiers (tier 1 exempt from UFLS) and random minimum outputs, and 600 seeded 10- and
    20-branch strikes."""
    g = svitlo.load_grid("case300")
    rng = np.random.default_rng(0)
    loads = g.loads.assign(tier=rng.integers(1, 4, len(g.loads)))
    pmax = g.generators["p_max_mw"].to_numpy()
    pmin = np.where(rng.random(pmax.size) < 0.5, rng.uniform(0, 0.6, pmax.size) * pmax, 0.0)
    cg = svitlo.compile_grid(g.with_tables(loads=loads, generators=g.generators.assign(p_min_mw=pmin)))
    sets = [rng.choice(cg.n_branch, k, replace=False) for k in (10,) * 300 + (20,) * 300]
    return cg, outages_from_indices(branches=sets)


def _ufls_islands(cg, out, s):
    """Per-state result of scenario ``s`` and, for each island UFLS shed load in: (lit, short after UFLS,
    dark for want of load, holds an exempt load)."""
    sc = out.scenario(s)
    r = evaluate_state(cg, damage_from_indices(cg, branches=sc["branch"]), viability=OPTS)
    v = r.viability
    kinds = []
    for i in np.flatnonzero(v.ufls_shed_mw > 0):
        li = np.flatnonzero((r.labels[cg.load_bus] == i) & r.damage.load_alive)
        kinds.append((bool(v.lit[i]), bool((r.load_served_mw[li] < v.load_p_mw[li] - 1e-9).any()),
                      v.reason[i] == PMIN, bool((cg.load_tier[li] == 1).any())))
    return r, kinds


def test_islands_ufls_saves_settle_in_the_kernel(case300):
    cg, out = case300
    res = evaluate_batch(cg, out, viability=OPTS, return_loads=True, return_flows=True)
    seen = set()
    hit = np.flatnonzero(res.ufls_shed_mw > 0)
    others = np.setdiff1d(np.flatnonzero(~res.exact), hit)[:60]
    for s in others:  # no UFLS missed by the kernel
        assert not _ufls_islands(cg, out, int(s))[1]
    for s in hit.tolist():
        r, kinds = _ufls_islands(cg, out, s)
        assert kinds
        if res.exact[s]:  # only for another island, where units must be chosen to decommit
            v = r.viability
            assert ((v.decommitted > 0) & (v.ufls_shed_mw == 0)).any(), s
        for lit, short, pmin_dark, exempt in kinds:
            seen |= {"lit"} if lit else set()
            seen |= {"lit, then priority shed"} if lit and short else set()
            seen |= {"lit, exempt feeders kept"} if lit and exempt else set()
            seen |= {"dark: load left below the unit's minimum"} if pmin_dark else set()
        m = exact_scenario(cg, out, s, viability=OPTS)
        for k in METRICS:
            assert abs(getattr(res, k)[s] - m[k]) <= TOL, (s, k)
        for k in COUNTS:
            assert getattr(res, k)[s] == m[k], (s, k)
        by_tier = [m["shed_by_tier"].get(int(t), 0.0) for t in res.tiers]
        assert np.abs(res.shed_mw_by_tier[s] - by_tier).max() <= TOL
        assert np.abs(res.load_shed_mw[s] - m["load_shed_mw"]).max() <= TOL
        assert np.abs(res.flows_mw[s] - r.flow_mw).max() <= TOL
        # invariants: UFLS within the schedule's total of the load, per-load shed within the load
        assert res.ufls_shed_mw[s] <= OPTS.ufls.total * res.load_mw[s] + TOL
        demand = np.where(cg.load_in_service, np.maximum(cg.load_p_mw, 0.0), 0.0)
        assert np.all(res.load_shed_mw[s] >= -TOL) and np.all(res.load_shed_mw[s] <= demand + TOL)
        assert res.ufls_shed_mw[s] <= res.shed_mw[s] + TOL
    assert hit.size >= 100 and res.exact[hit].sum() <= 0.05 * hit.size
    assert seen == {"lit", "lit, then priority shed", "lit, exempt feeders kept",
                    "dark: load left below the unit's minimum"}


def test_ufls_shed_is_exempt_free_and_by_stage(case300):
    """In a lit island UFLS cut every non-exempt load by the same share and no exempt load; a batch of one
    scenario gives the figures of the large batch (no dependence on the batch's composition)."""
    cg, out = case300
    res = evaluate_batch(cg, out, viability=OPTS)
    s = int(np.flatnonzero((res.ufls_shed_mw > 0) & ~res.exact)[0])
    one = evaluate_batch(cg, outages_from_indices(branches=[out.scenario(s)["branch"]]), viability=OPTS,
                         return_loads=True)
    assert not one.exact[0]
    for k in METRICS:
        assert abs(getattr(one, k)[0] - getattr(res, k)[s]) <= TOL
    r, _ = _ufls_islands(cg, out, s)
    v = r.viability
    i = int(np.flatnonzero(v.ufls_shed_mw > 0)[0])
    li = np.flatnonzero((r.labels[cg.load_bus] == i) & r.damage.load_alive & (cg.load_p_mw > 0))
    share = 1.0 - v.load_p_mw[li] / cg.load_p_mw[li]
    ex = cg.load_tier[li] == 1
    assert np.all(share[ex] == 0.0)
    assert np.ptp(share[~ex]) <= 1e-12 and 0.0 < share[~ex][0] <= OPTS.ufls.total + 1e-12
