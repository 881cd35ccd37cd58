"""Counter-based sweep draws (run format svitlo-sweep/2): equal to an independent Python reference, independent
of chunking and worker count, uniform, and merged like resolve_strikes (fixed first, protected survive)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import svitlo
from svitlo.analyses.sweep import open_run, sweep
from svitlo.engine.batch.draws import draw_chunk, draw_plan, scenario_key, scenario_keys
from svitlo.model.compiled import compile_grid
from svitlo.scenarios.strikes import eligible_assets, resolve_strikes

M64 = (1 << 64) - 1
G = 0x9E3779B97F4A7C15


def mix(z: int) -> int:
    z &= M64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def ref_key(root: int, i: int) -> int:
    return mix(mix(root ^ 0x5BD1E9955BD1E995) + i * G) & ((1 << 63) - 1)


def ref_pick(key: int, j: int, m: int, k: int) -> list[int]:
    """Floyd's algorithm on the documented stream, plain Python integers."""
    base = mix(key ^ mix((j + 1) * G + 0xD1B54A32D192ED03))
    chosen: list[int] = []
    for c in range(k):
        t = m - k + c
        r = mix(base + (c + 1) * G) % (t + 1)
        chosen.append(t if r in chosen else r)
    return sorted(chosen)


@pytest.fixture(scope="module")
def cg14():
    return compile_grid(svitlo.load_grid("case14"))


def test_keys_and_draws_equal_the_python_reference(cg14):
    assert scenario_keys(3, 0, 50).tolist() == [ref_key(3, i) for i in range(50)]
    assert scenario_key(2**63 - 1, 10**9) == ref_key(2**63 - 1, 10**9)
    sc = svitlo.parse_scenario({"grid": "case14", "strikes": [{"random": {"k": 3, "kinds": ["line"]}},
                                                              {"random": {"k": 2, "kinds": ["bus", "gen"]}}]})
    plan = draw_plan(cg14, sc.strikes)
    keys = scenario_keys(11, 100, 160)
    got = draw_chunk(plan, keys).id_lists()
    p0, p1 = eligible_assets(cg14, ["line"]), eligible_assets(cg14, ["bus", "gen"])
    for key, ids in zip(keys.tolist(), got):
        want = [p0[i] for i in ref_pick(key, 0, len(p0), 3)]
        for a in (p1[i] for i in ref_pick(key, 1, len(p1), 2)):
            if a not in want:
                want.append(a)
        assert ids == want


def test_independent_of_chunking():
    cg = compile_grid(svitlo.load_grid("case30"))
    sc = svitlo.parse_scenario({"grid": "case30", "strikes": [{"random": {"k": 4}}]})
    plan = draw_plan(cg, sc.strikes)
    whole = draw_chunk(plan, scenario_keys(5, 0, 300)).id_lists()
    parts = []
    for a, b in ((0, 1), (1, 77), (77, 200), (200, 300)):
        parts += draw_chunk(plan, scenario_keys(5, a, b)).id_lists()
    assert parts == whole


def test_picks_are_uniform_and_distinct(cg14):
    sc = svitlo.parse_scenario({"grid": "case14", "strikes": [{"random": {"k": 5, "kinds": ["branch"]}}]})
    plan = draw_plan(cg14, sc.strikes)
    d = draw_chunk(plan, scenario_keys(1, 0, 40_000))
    assert (d.counts() == 5).all()
    pool = len(eligible_assets(cg14, ["branch"]))
    hits = np.bincount(d.flat - plan.offsets[1], minlength=cg14.n_branch)[:pool]
    expect = 40_000 * 5 / pool
    chi2 = float(((hits - expect) ** 2 / expect).sum())
    assert chi2 < 2 * pool + 30  # dof = pool - 1 (~20); fails for a biased pick


def test_fixed_targeted_protected_merge_like_resolve_strikes(cg14):
    sc = svitlo.parse_scenario({"grid": "case14", "protected": ["line:2", "bus:5"],
                                "strikes": [{"assets": ["line:3", "line:3"]}, {"targeted": {"k": 1, "by": "degree"}},
                                            {"random": {"k": 6}}]})
    from svitlo.analyses.sweep.evaluate import make_context

    ctx = make_context(sc)
    plan = draw_plan(ctx.cg, ctx.strikes, protected=ctx.protected)
    top = resolve_strikes(cg14, [sc.strikes[1]])[0]
    lists = draw_chunk(plan, scenario_keys(9, 0, 500)).id_lists()
    for ids in lists:
        assert ids[:2] == ["line:3", top]
        assert len(ids) == len(set(ids))
        assert "line:2" not in ids and "bus:5" not in ids
    assert sum(len(x) < 8 for x in lists) > 0  # draws that hit a protected or fixed asset are not re-aimed


def test_geographic_strikes_draw_from_the_key():
    from importlib.resources import files

    from svitlo.scenarios.spec import Strike

    demo = str(files("svitlo") / "data" / "demo" / "oberrhein_chp.json")
    sc = svitlo.parse_scenario({"grid": {"file": demo}, "strikes": [
        {"random": {"k": 1, "kinds": ["line"]}},
        {"geographic": {"aim": [{"lat": 48.45694, "lon": 7.91396, "weapon": "FAB-250", "n": 2}]}}]})
    cg = compile_grid(svitlo.load_grid({"file": demo}))
    plan = draw_plan(cg, sc.strikes)
    keys = scenario_keys(4, 0, 6)
    d = draw_chunk(plan, keys, cg=cg)
    assert d.lists is not None
    p = eligible_assets(cg, ["line"])
    for key, ids in zip(keys.tolist(), d.id_lists()):
        first = p[ref_pick(key, 0, len(p), 1)[0]]
        assert ids == resolve_strikes(cg, [Strike(assets=[first]), sc.strikes[1]], seed=key)


def test_same_rows_for_any_chunk_size_and_worker_count(tmp_path):
    sc = {"grid": "case14", "seed": 3, "strikes": [{"random": {"k": 3}}]}
    ref = open_run(sweep(sc, n=90, out=tmp_path / "a").path).scenarios()
    for i, kw in enumerate(({"chunk_size": 7}, {"chunk_size": 13, "workers": 2, "processes": False},
                            {"chunk_size": 90, "workers": 1, "processes": False})):
        pytest.importorskip("distributed") if "workers" in kw else None
        got = open_run(sweep(sc, n=90, out=tmp_path / f"b{i}", **kw).path).scenarios()
        pd.testing.assert_frame_equal(got, ref)
