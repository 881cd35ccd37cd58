"""rank: exhaustive screening against one-by-one assessment, resume, exact methods against brute force,
the heuristic against random sampling, the facility metric, the CLI contract and bad input."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest

import svitlo
from svitlo.analyses.rank import rank
from svitlo.analyses.rank.exact import enumerate_worst_k, milp_worst_k
from svitlo.analyses.rank.screen import screen
from svitlo.analyses.rank.search import worst_k
from svitlo.analyses.rank.sets import candidates, evaluate_sets
from svitlo.analyses.rank.store import read_rows
from svitlo.analyses.sweep.evaluate import make_context
from svitlo.cli.main import main
from svitlo.engine.invariants import check_impact


@pytest.fixture(scope="module")
def ctx14():
    return make_context(svitlo.parse_scenario({"grid": "case14", "tiers": {"buses": {"bus:3": "critical"}}}))


def test_exhaustive_n2_rows_equal_assess_one_by_one(ctx14, tmp_path):
    cand = candidates(ctx14, ["line", "trafo", "bus"])
    out = screen(ctx14, cand, 2, out=tmp_path / "r", key={"t": 1}, chunk_size=97)
    rows = read_rows(out.path, "SELECT * FROM rows ORDER BY scenario")
    assert len(rows) == math.comb(cand.n, 2) == out.n
    pairs = list(itertools.combinations(range(cand.n), 2))
    assert [tuple(p) for p in rows[["asset_0", "asset_1"]].to_numpy()] == pairs
    rng = np.random.default_rng(0)
    for i in list(rng.choice(len(pairs), 25, replace=False)) + [int(rows["weighted_shed_mw"].idxmax())]:
        ids = [str(cand.ids[j]) for j in pairs[i]]
        imp = svitlo.assess("case14", {"tiers": {"buses": {"bus:3": "critical"}}}, destroyed=ids)
        check_impact(imp)
        for m in ("shed_mw", "weighted_shed_mw", "people_without_power"):
            assert rows.at[i, m] == pytest.approx(imp.metrics[m], abs=1e-6)
        assert rows.at[i, "islands"] == imp.metrics["islands"]


def test_screen_resumes_after_a_kill(ctx14, tmp_path):
    cand = candidates(ctx14, ["line", "trafo"])
    calls = []

    def boom(done, total):
        calls.append(done)
        if len(calls) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        screen(ctx14, cand, 2, out=tmp_path / "r", key={"t": 1}, chunk_size=30, progress=boom)
    again = screen(ctx14, cand, 2, out=tmp_path / "r", key={"t": 1}, chunk_size=30)
    assert again.computed == again.n - 90
    full = screen(ctx14, cand, 2, out=tmp_path / "full", key={"t": 1}, chunk_size=30)
    a = read_rows(again.path, "SELECT * FROM rows ORDER BY scenario")
    b = read_rows(full.path, "SELECT * FROM rows ORDER BY scenario")
    assert a.equals(b) and len(a) == math.comb(cand.n, 2)


@pytest.mark.parametrize("case,k,kinds,metric", [
    ("case30", 3, ["line", "trafo", "bus"], "weighted_shed_mw"),
    ("case30", 2, ["line", "trafo", "gen"], "shed_mw"),
    ("case57", 2, ["line", "trafo"], "shed_mw"),
    ("case118", 2, ["line", "trafo"], "shed_mw"),
])
def test_milp_equals_brute_force(case, k, kinds, metric):
    tiers = {"buses": {"bus:4": "critical", "bus:7": "essential"}}
    ctx = make_context(svitlo.parse_scenario({"grid": case, "tiers": tiers}))
    cand = candidates(ctx, kinds)
    m = milp_worst_k(ctx, cand, k=k, metric=metric)
    e = enumerate_worst_k(ctx, cand, k=k, metric=metric)
    assert e.evaluated == math.comb(cand.n, k)
    assert m.status == "optimal"
    assert m.value == pytest.approx(e.value, abs=1e-6)
    assert m.objective == pytest.approx(e.value, abs=1e-5)  # the MILP's own objective is the engine's shed


def test_heuristic_at_least_as_bad_as_random_sampling_and_below_optimum():
    ctx = make_context(svitlo.parse_scenario({"grid": "case57"}))
    cand = candidates(ctx, ["line", "trafo"])
    ev = lambda c: evaluate_sets(ctx, cand, c)["shed_mw"]  # noqa: E731
    tie = lambda c: np.column_stack([ev(c), evaluate_sets(ctx, cand, c)["islands"]])  # noqa: E731
    from svitlo.analyses.rank.run import _cut_pairs

    h = worst_k(tie, n=cand.n, k=3, beam=8, n_random=20_000, seed=5, pair_starts=_cut_pairs(ctx, cand))
    rng = np.random.default_rng(1)
    sample = np.array([rng.choice(cand.n, 3, replace=False) for _ in range(3000)])
    assert h.best_value >= ev(sample).max() - 1e-9
    opt = milp_worst_k(ctx, cand, k=3)
    assert h.best_value <= opt.value + 1e-9
    assert len(set(h.best)) == 3 and h.local_optimum


def test_rank_heuristic_and_protected_assets_are_not_candidates():
    r = rank({"grid": "case30", "protected": ["line:9"]}, k=3, method="heuristic", top=5)
    assert r.optimality == {"status": "heuristic", "gap": None}
    assert all("line:9" not in w for w in r.worst["assets"])
    assert "line:9" not in set(r.assets["id"])
    assert list(r.worst["value"]) == sorted(r.worst["value"], reverse=True)


def test_facility_metric_matches_the_sweep_rule(tmp_path):
    sc = {"grid": "case14", "facilities": [
        {"id": "h1", "kind": "hospital", "bus": "bus:3", "demand_kw": 500, "tier": 1},
        {"id": "w1", "kind": "water", "bus": "bus:13", "demand_kw": 80},
        {"id": "t1", "kind": "telecom", "bus": "bus:8", "demand_kw": 3}]}
    r = rank(sc, k=1, kinds=["line", "trafo", "bus"], metric="facilities_without_grid", top=3)
    worst = r.worst.iloc[0]
    assert worst["value"] >= 1
    from svitlo.analyses.sweep.evaluate import evaluate_ids

    ctx = make_context(svitlo.parse_scenario(sc))
    _, dark = evaluate_ids(ctx, [list(worst["assets"])])
    assert len(dark[0]) == worst["facilities_without_grid"]


def test_cli_json_contract_and_out(tmp_path, capsys):
    y = tmp_path / "s.yaml"
    y.write_text("grid: case14\n")
    assert main(["rank", str(y), "--k", "2", "--json", "--out", str(tmp_path / "o")]) == 0
    d = json.loads(capsys.readouterr().out)
    assert set(d) == {"metric", "k", "method", "scenarios_evaluated", "worst", "assets", "optimality"}
    assert d["method"] == "exhaustive" and d["optimality"] == {"status": "optimal", "gap": 0.0}
    assert set(d["worst"][0]) >= {"assets", "value", "shed_mw", "people_without_power"}
    assert set(d["assets"][0]) >= {"id", "rank", "score"}
    assert (tmp_path / "o" / "assets.parquet").is_file() and (tmp_path / "o" / "rows" / "manifest.json").is_file()
    # rerunning resumes the stored run: nothing recomputed, same answer
    assert main(["rank", str(y), "--k", "2", "--json", "--out", str(tmp_path / "o")]) == 0
    assert json.loads(capsys.readouterr().out) == d


@pytest.mark.parametrize("args,field,value", [
    (["--k", "999"], "k", "999"),
    (["--k", "1", "--kinds", "line,wire"], "kinds", "wire"),
    (["--k", "1", "--metric", "facilities_without_grid"], "facilities", "None"),
    (["--k", "1", "--metric", "joules"], "metric", "joules"),
])
def test_cli_bad_input_exits_2_naming_file_field_value(tmp_path, capsys, args, field, value):
    y = tmp_path / "s.yaml"
    y.write_text("grid: case14\n")
    assert main(["rank", str(y), *args, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(y) in err and f"{field} = " in err and value in err


def test_cli_refuses_protected_asset_in_explicit_strike(tmp_path, capsys):
    y = tmp_path / "s.yaml"
    y.write_text("grid: case14\nprotected: [line:2]\nstrikes: [{assets: [line:2]}]\n")
    assert main(["assess", str(y)]) == 2
    err = capsys.readouterr().err
    assert "strikes[0].assets = 'line:2'" in err and "protected" in err
