"""Monte Carlo sweep: seeds, equality with assess, the result store (refusals, resume), aggregates, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import svitlo
from svitlo.analyses.sweep import (
    asset_risk,
    metric_summary,
    open_run,
    report_tables,
    risk_curve,
    scenario_seed,
    scenario_seeds,
    sweep,
    verify_rows,
)
from svitlo.analyses.sweep.evaluate import METRIC_COLUMNS, evaluate_chunk, make_context
from svitlo.analyses.sweep.plan import make_plan
from svitlo.cli.main import main
from svitlo.engine.batch.draws import scenario_keys
from svitlo.errors import ScenarioError, StoreError
from svitlo.store.runstore import RunStore

SC14 = {"name": "k3 on case14", "grid": "case14", "seed": 5, "people_per_mw": 100.0,
        "tiers": {"loads": {"load:2": "critical"}},
        "strikes": [{"random": {"k": 2, "kinds": ["line", "trafo"], "seed": 99}},
                    {"random": {"k": 1, "kinds": ["bus"]}}]}


def _scenario(d=SC14):
    return svitlo.parse_scenario(d)


def test_seeds_are_spawned_children_and_do_not_depend_on_chunking():
    kids = np.random.SeedSequence(123).spawn(40)
    want = [int(k.generate_state(1, np.uint64)[0]) & (2**63 - 1) for k in kids]
    assert [scenario_seed(123, i) for i in range(40)] == want
    assert scenario_seeds(123, 17, 40).tolist() == want[17:]
    assert len(set(want)) == 40


def test_rows_equal_assess_per_scenario(tmp_path, check):
    """Each stored row is exactly what assess gives for the row's destroyed assets; rows carry their keys."""
    out = sweep(SC14, n=40, out=tmp_path / "run", chunk_size=9)
    df = open_run(out.path).scenarios()
    assert df["scenario"].tolist() == list(range(40))
    assert df["seed"].tolist() == scenario_keys(5, 0, 40).tolist()
    grid = svitlo.load_grid("case14")
    for row in df.sample(8, random_state=1).itertuples():
        imp = svitlo.assess(grid, {**SC14, "strikes": [{"assets": list(row.destroyed)}]})
        check(imp)
        assert list(row.destroyed) == list(imp.destroyed)
        assert row.destroyed_assets == len(imp.destroyed)
        for k in METRIC_COLUMNS:
            if k == "max_loading_percent":
                br = imp.branches[imp.branches["in_service"]]
                assert row.max_loading_percent == pytest.approx(br["loading_percent"].max(), abs=1e-9)
            else:
                assert getattr(row, k) == pytest.approx(imp.metrics[k], abs=1e-6), k
    # the strike's own seed is ignored: draws differ between scenarios
    assert df["destroyed"].map(tuple).nunique() > 20


def test_fixed_and_targeted_strikes_stay_fixed(tmp_path):
    sc = {"grid": "case14", "strikes": [{"assets": ["line:3"]}, {"targeted": {"k": 1, "by": "degree"}},
                                        {"random": {"k": 1}}]}
    df = open_run(sweep(sc, n=15, out=tmp_path / "r").path).scenarios()
    top = svitlo.assess("case14", {"strikes": [{"targeted": {"k": 1, "by": "degree"}}]}).destroyed[0]
    for d in df["destroyed"]:
        assert list(d[:2]) == ["line:3", top]
        assert len(d) in (2, 3)
    risk = asset_risk(tmp_path / "r").set_index("asset")
    assert risk.loc["line:3", "loss_probability"] == 1.0
    assert np.isnan(risk.loc["line:3", "protect_score_mw"])  # never intact: no comparison possible
    assert risk.index[-2:].tolist() == sorted(["line:3", top])


def test_results_do_not_depend_on_chunk_size(tmp_path):
    a = open_run(sweep(SC14, n=30, out=tmp_path / "a", chunk_size=4).path).scenarios()
    b = open_run(sweep(SC14, n=30, out=tmp_path / "b", chunk_size=30).path).scenarios()
    pd.testing.assert_frame_equal(a, b)


def test_store_refuses_to_mix_runs(tmp_path):
    d = tmp_path / "run"
    sweep(SC14, n=10, out=d)
    for kw in ({"n": 11}, {"n": 10, "root_seed": 6}):
        with pytest.raises(StoreError, match="refusing to mix"):
            sweep(SC14, out=d, **kw)
    other = {**SC14, "strikes": [{"random": {"k": 3}}]}
    with pytest.raises(StoreError, match="scenario differs"):
        sweep(other, n=10, out=d)
    with pytest.raises(StoreError, match="chunk size"):
        sweep(SC14, n=10, out=d, chunk_size=3)
    sc = _scenario()
    other_engine = make_plan(sc, make_context(sc).cg, n=10, engine="another-engine")
    with pytest.raises(StoreError, match="engine version: stored .* running 0.1.0\\+another-engine"):
        RunStore.prepare(d, other_engine)
    # a folder holding something else is never written into
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not empty"):
        sweep(SC14, n=10, out=foreign)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(ScenarioError, match="n = 0"):
        sweep(SC14, n=0, out=tmp_path / "x")
    with pytest.raises(ScenarioError, match="workers = 0"):
        sweep(SC14, n=3, out=tmp_path / "x", workers=0)
    with pytest.raises(StoreError, match="not a sweep run folder"):
        open_run(tmp_path)
    with pytest.raises(ScenarioError, match="strikes\\[0\\].random.k = 500"):
        sweep({"grid": "case14", "strikes": [{"random": {"k": 500}}]}, n=3, out=tmp_path / "y")
    assert not (tmp_path / "y").exists()  # refused before any folder was made


def test_one_writer_at_a_time(tmp_path):
    sc = _scenario()
    plan = make_plan(sc, make_context(sc).cg, n=5)
    with RunStore.prepare(tmp_path / "r", plan):
        with pytest.raises(StoreError, match="is writing this run folder"):
            RunStore.prepare(tmp_path / "r", plan)
    RunStore.prepare(tmp_path / "r", plan).close()  # lock released


def test_resume_recomputes_only_missing_chunks(tmp_path):
    d = tmp_path / "run"
    first = sweep(SC14, n=50, out=d, chunk_size=8)
    ref = open_run(d).scenarios()
    parts = sorted((d / "parts").glob("part-*.parquet"))
    assert len(parts) == 7
    parts[2].unlink()
    parts[6].unlink()
    (d / "parts" / ".tmp-part-0000003.parquet-1-dead").write_bytes(b"half a file")  # a killed writer's leftover
    again = sweep(SC14, n=50, out=d)  # same arguments; chunk size comes from the manifest
    assert again.run_id == first.run_id
    assert again.computed == 8 + 2
    assert not list((d / "parts").glob(".tmp-*"))
    pd.testing.assert_frame_equal(open_run(d).scenarios(), ref)
    assert verify_rows(d) == {"rows": 50, "distinct": 50}
    done = sweep(SC14, n=50, out=d)
    assert done.computed == 0
    # killed while aggregating: every part stored, aggregates missing, manifest not complete
    man = json.loads((d / "manifest.json").read_text())
    (d / "manifest.json").write_text(json.dumps({**man, "complete": False}))
    (d / "assets.parquet").unlink()
    assert not open_run(d).complete
    assert sweep(SC14, n=50, out=d).computed == 0
    assert open_run(d).complete and (d / "assets.parquet").is_file()


def test_corrupt_part_is_reported(tmp_path):
    d = tmp_path / "run"
    sweep(SC14, n=12, out=d, chunk_size=6)
    (d / "parts" / "part-0000001.parquet").write_bytes(b"garbage")
    with pytest.raises(StoreError, match="part-0000001.parquet: corrupt part file"):
        sweep(SC14, n=12, out=d)


def test_aggregates_match_pandas(tmp_path):
    d = sweep(SC14, n=120, out=tmp_path / "run", chunk_size=25).path
    df = open_run(d).scenarios()
    summ = metric_summary(d).set_index("metric")
    for m in ("shed_mw", "people_without_power", "islands"):
        assert summ.loc[m, "mean"] == pytest.approx(df[m].mean())
        assert summ.loc[m, "p95"] == pytest.approx(df[m].quantile(0.95))
        assert summ.loc[m, "max"] == pytest.approx(df[m].max())
    rc = risk_curve(d, metric="shed_mw", points=9)
    assert rc["exceedance_probability"].is_monotonic_decreasing
    for t, p in zip(rc["threshold"], rc["exceedance_probability"]):
        assert p == pytest.approx((df["shed_mw"] > t).mean())
    assert rc["exceedance_probability"].iloc[-1] == 0.0
    assets = asset_risk(d)
    long = df[["scenario", "shed_mw", "destroyed"]].explode("destroyed")
    for row in assets.head(5).itertuples():
        hit = long.loc[long["destroyed"] == row.asset, "scenario"]
        lost = df["scenario"].isin(hit)
        assert row.times_lost == lost.sum()
        assert row.loss_probability == pytest.approx(lost.mean())
        assert row.expected_shed_when_lost_mw == pytest.approx(df.loc[lost, "shed_mw"].mean())
        assert row.expected_shed_when_intact_mw == pytest.approx(df.loc[~lost, "shed_mw"].mean())
    assert assets["protect_score_mw"].is_monotonic_decreasing
    # the aggregates written at the end of the sweep are the same tables
    pd.testing.assert_frame_equal(pd.read_parquet(d / "assets.parquet"), assets, check_dtype=False)
    stored_rc = pd.read_parquet(d / "risk_curve.parquet")
    assert set(stored_rc["metric"]) == {"shed_mw", "people_without_power"}
    assert json.loads((d / "summary.json").read_text())["rows"] == 120


def test_partial_run_can_be_reported(tmp_path):
    sc = _scenario()
    ctx = make_context(sc)
    plan = make_plan(sc, ctx.cg, n=20, chunk_size=10)
    with RunStore.prepare(tmp_path / "r", plan) as st:
        st.write_part(1, evaluate_chunk(ctx, root_seed=plan.root_seed, start=10, stop=20))
    run = open_run(tmp_path / "r")
    assert not run.complete and run.rows() == 10
    assert report_tables(tmp_path / "r")["metrics"].shape[0] > 0
    with pytest.raises(StoreError, match="expected scenarios 0…19"):
        verify_rows(tmp_path / "r")


def test_cli_sweep_and_report(tmp_path, capsys):
    y = tmp_path / "s.yaml"
    y.write_text("name: cli sweep\ngrid: case14\nseed: 3\nstrikes:\n  - random: {k: 2}\n")
    out = tmp_path / "run"
    assert main(["sweep", str(y), "--n", "25", "--out", str(out), "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["n"] == 25 and res["computed"] == 25 and len(res["run_id"]) == 20
    assert main(["report", str(out), "--json", "--top", "3"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["rows"] == 25 and rep["complete"] and len(rep["worst"]) == 3
    assert main(["report", str(out)]) == 0
    text = capsys.readouterr().out
    assert "protect first" in text and "risk curve" in text
    assert main(["sweep", str(y), "--n", "26", "--out", str(out), "--quiet"]) == 2  # RunFolderError: bad input
    assert "refusing to mix" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2  # not a run folder: bad input
    assert main(["sweep", str(tmp_path / "missing.yaml"), "--n", "2", "--out", str(tmp_path / "z")]) == 2


def test_geographic_strikes_and_facilities(tmp_path):
    """The demo scenario: bombs scattered anew per scenario; facilities without grid match the Impact tables."""
    from importlib.resources import files

    from svitlo.engine.damage import apply_damage
    from svitlo.engine.impact import build_impact
    from svitlo.engine.invariants import check_impact
    from svitlo.engine.state import bus_energised, evaluate_state
    from svitlo.facilities.attach import facility_load_id
    from svitlo.facilities.supply import without_grid
    from svitlo.scenarios.spec import Strike
    from svitlo.scenarios.strikes import resolve_strikes

    demo = Path(str(files("svitlo") / "data" / "demo"))
    y = tmp_path / "geo.yaml"
    y.write_text(f"""name: bombs on a town
grid: {{file: {demo / 'oberrhein_chp.json'}}}
seed: 4
facilities: {demo / 'facilities.csv'}
people_per_mw: 2000
weapons:
  glide-500: {{explosive_kg: 250, cep_m: 60}}
strikes:
  - geographic:
      aim:
        - {{lat: 48.45694, lon: 7.91396, weapon: glide-500, n: 2}}
        - {{lat: 48.4590, lon: 7.8830, weapon: FAB-250, n: 2}}
        - {{lat: 48.4700, lon: 7.8780, weapon: glide-500, n: 1}}
      seed: 7
  - random: {{k: 1, kinds: [line]}}
""")
    sc = svitlo.load_scenario(y)
    plain_y = tmp_path / "plain.yaml"  # the same without the strike's own seed, for assess
    plain_y.write_text(y.read_text().replace("      seed: 7\n", ""))
    plain = svitlo.load_scenario(plain_y)
    out = sweep(sc, n=24, out=tmp_path / "run", chunk_size=10)
    run = open_run(out.path)
    df = run.scenarios()
    assert df["destroyed"].map(tuple).nunique() > 5  # the strike's own seed is ignored: impacts scatter anew
    ctx = make_context(sc)
    fac = ctx.facilities.table
    for row in df.sample(4, random_state=2).itertuples():
        ids = list(row.destroyed)
        geo = resolve_strikes(ctx.cg, sc.strikes[:1], seed=int(row.seed), use_strike_seeds=False,
                              weapons=sc.weapons)  # the geographic strike draws from the row's key
        assert ids[:len(geo)] == geo and len(ids) - len(geo) <= 1
        imp = build_impact(ctx.cg, evaluate_state(ctx.cg, apply_damage(ctx.cg, ids)))
        check_impact(imp)
        assert row.shed_mw == pytest.approx(imp.metrics["shed_mw"], abs=1e-6)
        buses = imp.buses.set_index("id")["energised"]
        loads = imp.loads.set_index("id")
        want = []
        for f in fac.itertuples():
            lid = facility_load_id(f.id)
            cut = lid in loads.index and loads.at[lid, "served_mw"] < loads.at[lid, "p_mw"] * (1 - 1e-9) - 1e-12
            if not buses[f.bus] or cut:
                want.append(f.id)
        assert sorted(row.facilities_without_grid) == sorted(want)
        # the batch path's rule gives the same on this state
        shed_arr = imp.loads["shed_mw"].to_numpy(float)
        got = without_grid(ctx.facilities, bus_energised(ctx.cg, apply_damage(ctx.cg, ids)), shed_arr,
                           imp.loads["p_mw"].to_numpy(float))
        assert sorted(got) == sorted(want)
        # and the public assess of the same scenario (strike seeds off) agrees, facilities included
        ref = svitlo.assess(None, plain.model_copy(update={"strikes": [Strike(assets=ids)]}))
        assert list(ref.destroyed) == ids
        assert ref.metrics["shed_mw"] == pytest.approx(row.shed_mw, abs=1e-6)
        snap = ref.extras["facilities"]
        assert sorted(snap.loc[~snap["on_grid"], "id"]) == sorted(want)
    risk = run.facilities()
    assert len(risk) == len(fac) and set(risk["facility"]) == set(fac["id"])
    long = df.explode("facilities_without_grid")
    for r in risk.itertuples():
        assert r.probability_without_grid == pytest.approx((long["facilities_without_grid"] == r.facility).sum() / 24)
    by_id = risk.set_index("facility")
    for f in fac.itertuples():  # dark within the horizon, by hand from the backup columns
        r = by_id.loc[f.id]
        bat = (f.battery_kwh / f.demand_kw) if f.battery_kwh == f.battery_kwh else 0.0
        if f.gen_kw > 0:
            short = f.gen_fail_prob * (bat < 72) + (1 - f.gen_fail_prob) * (f.fuel_h + bat < 72)
        else:
            short = float(bat < 72)
        assert r.probability_dark_within_horizon == pytest.approx(r.probability_without_grid * short)
    assert "facilities" in report_tables(out.path)
    assert main(["report", str(out.path), "--top", "3"]) == 0
    assert (out.path / "facilities.parquet").is_file()


def test_report_of_a_run_with_no_rows_yet(tmp_path, capsys):
    sc = _scenario()
    RunStore.prepare(tmp_path / "r", make_plan(sc, make_context(sc).cg, n=10)).close()
    assert main(["report", str(tmp_path / "r")]) == 0
    assert "no scenario stored yet" in capsys.readouterr().out
    assert main(["report", str(tmp_path / "r"), "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["rows"] == 0 and rep["metrics"][0]["mean"] is None and rep["worst"] == []


def test_batch_and_loop_paths_agree_with_facilities():
    """The batched engine and the one-state-at-a-time path store the same rows (≤ 1e-6 MW)."""
    import dataclasses

    from svitlo.analyses.sweep.evaluate import engine_name

    if engine_name() != "batch":
        pytest.skip("batched engine not installed")
    sc = svitlo.parse_scenario({
        "grid": "case118", "people_per_mw": 50.0,
        "facilities": [{"id": "h1", "kind": "hospital", "bus": "bus:10", "demand_kw": 20000},
                       {"id": "w1", "kind": "water", "bus": "bus:58", "demand_kw": 5000},
                       {"id": "t1", "kind": "telecom", "bus": "bus:80", "demand_kw": 50}],
        "strikes": [{"random": {"k": 8}}, {"random": {"k": 2, "kinds": ["bus", "gen"]}}]})
    ctx = make_context(sc)
    a = evaluate_chunk(ctx, root_seed=11, start=0, stop=150).to_pandas()
    b = evaluate_chunk(dataclasses.replace(ctx, engine="loop"), root_seed=11, start=0, stop=150).to_pandas()
    for c in METRIC_COLUMNS:
        np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=0, atol=1e-6, err_msg=c)
    assert a["destroyed"].map(list).tolist() == b["destroyed"].map(list).tolist()
    assert a["facilities_without_grid"].map(sorted).tolist() == b["facilities_without_grid"].map(sorted).tolist()
    assert a["facilities_without_grid"].map(len).sum() > 0  # the rule is exercised
