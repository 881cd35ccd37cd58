"""harden: lazy greedy equals full greedy, the exact MILP equals brute force over plans, out-of-sample
evaluation on fresh seeds, baselines, resume through the store, the CLI contract and bad input."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

import svitlo
from svitlo.analyses.harden import harden
from svitlo.analyses.harden.exact import milp_plan
from svitlo.analyses.harden.greedy import greedy_plan
from svitlo.analyses.harden.objective import objective
from svitlo.analyses.harden.scenario_set import draw_set, values_with
from svitlo.analyses.sweep.evaluate import evaluate_ids, make_context
from svitlo.cli.main import main

SC = {"grid": "case14", "seed": 4, "strikes": [{"random": {"k": 3, "kinds": ["line", "trafo", "bus"]}}],
      "tiers": {"buses": {"bus:2": "critical"}}}


@pytest.fixture(scope="module")
def setup():
    ctx = make_context(svitlo.parse_scenario(SC))
    return ctx, draw_set(ctx, n=60, root_seed=4, metric="weighted_shed_mw")


def test_scenario_rows_equal_the_sweep_engine(setup):
    ctx, ss = setup
    lists = [[str(ss.assets.ids[j]) for j in ss.member[s].indices] for s in range(ss.n)]
    m, _ = evaluate_ids(ctx, lists)
    np.testing.assert_allclose(ss.base, m["weighted_shed_mw"], atol=1e-9)
    plan = [0, 3]
    want = evaluate_ids(ctx, [[a for a in x if a not in {ss.assets.ids[0], ss.assets.ids[3]}] for x in lists])[0]
    np.testing.assert_allclose(values_with(ctx, ss, plan), want["weighted_shed_mw"], atol=1e-9)


@pytest.mark.parametrize("kind", ["expected", "cvar95", "worst"])
def test_lazy_greedy_equals_full_greedy(setup, kind):
    ctx, ss = setup
    g = greedy_plan(ctx, ss, budget=3, objective=kind)
    chosen: list[int] = []
    cur = objective(ss.base, kind)
    for _ in range(3):
        gains = [(cur - objective(values_with(ctx, ss, chosen + [a]), kind), -a) for a in range(ss.assets.n)
                 if a not in chosen]
        best_g, neg_a = max(gains)
        if best_g <= 1e-12:
            break
        chosen.append(-neg_a)
        cur -= best_g
    assert objective(values_with(ctx, ss, g.chosen), kind) == pytest.approx(g.after, abs=1e-9)
    assert g.after == pytest.approx(cur, abs=1e-9)
    assert g.evaluated < 3 * int(ss.member.sum())  # lazy: fewer rows than a full greedy measures


@pytest.mark.parametrize("kind", ["expected", "cvar95", "worst"])
def test_milp_plan_equals_brute_force(setup, kind):
    ctx, ss = setup
    m = milp_plan(ctx, ss, budget=2, objective=kind)
    best = min(objective(values_with(ctx, ss, list(p)), kind)
               for r in range(3) for p in itertools.combinations(range(ss.assets.n), r))
    assert m.status == "optimal"
    assert m.value == pytest.approx(best, abs=1e-9)
    assert objective(values_with(ctx, ss, m.chosen), kind) == pytest.approx(best, abs=1e-9)
    assert m.value <= greedy_plan(ctx, ss, budget=2, objective=kind).after + 1e-9


def test_costs_budget_in_money(setup):
    ctx, ss = setup
    costs = np.where(np.arange(ss.assets.n) % 2 == 0, 1.0, 5.0)
    g = greedy_plan(ctx, ss, budget=3, objective="expected", costs=costs)
    assert costs[g.chosen].sum() <= 3
    m = milp_plan(ctx, ss, budget=3, objective="expected", costs=costs)
    assert costs[m.chosen].sum() <= 3 and m.value <= g.after + 1e-9


def test_out_of_sample_fresh_seeds_ci_and_baselines():
    r = harden({**SC, "protected": ["line:0"]}, budget=2, n=120, n_oos=150, metric="weighted_shed_mw")
    o = r.out_of_sample
    assert o["n"] == 150 and o["ci95"][0] <= o["after"] <= o["ci95"][1]
    assert o["after"] <= o["before"] + 1e-9 and r.in_sample["after"] <= r.in_sample["before"]
    assert "line:0" not in r.protected and set(r.baselines) == {"degree", "flow", "protect_first"}
    # out-of-sample scenarios are the next seeds of the stream, not the in-sample ones
    ctx = make_context(svitlo.parse_scenario(SC))
    ins, oos = draw_set(ctx, n=120, root_seed=4, metric="shed_mw"), draw_set(ctx, n=150, root_seed=4,
                                                                               metric="shed_mw", start=120)
    assert not set(ins.seeds.tolist()) & set(oos.seeds.tolist())


def test_store_rows_reused_and_rerun_identical(tmp_path):
    a = harden(SC, budget=2, n=80, n_oos=40, out=tmp_path / "h")
    b = harden(SC, budget=2, n=80, n_oos=40, out=tmp_path / "h")
    c = harden(SC, budget=2, n=80, n_oos=40)
    assert a.to_dict() == b.to_dict() == c.to_dict()
    assert json.loads((tmp_path / "h" / "harden.json").read_text())["protected"] == a.protected
    assert (tmp_path / "h" / "scenarios" / "manifest.json").is_file()


def test_cli_json_contract(tmp_path, capsys):
    y = tmp_path / "s.yaml"
    y.write_text("grid: case14\nseed: 2\nstrikes: [{random: {k: 3}}]\n")
    assert main(["harden", str(y), "--budget", "2", "--n", "60", "--json", "--objective", "cvar95"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert {"protected", "budget", "objective", "in_sample", "out_of_sample", "baselines"} <= set(d)
    assert set(d["in_sample"]) >= {"before", "after"}
    assert set(d["out_of_sample"]) >= {"n", "before", "after", "ci95"} and len(d["out_of_sample"]["ci95"]) == 2
    assert all(isinstance(v, float) for v in d["baselines"].values())


@pytest.mark.parametrize("extra,costs,where,field,value", [
    (["--budget", "-1"], None, "s.yaml", "budget", "-1"),
    (["--budget", "2"], "id,cost\nline:999,1\n", "c.csv", "id", "line:999"),
    (["--budget", "2"], "id,cost\nline:1,-4\n", "c.csv", "cost", "-4"),
    (["--budget", "2", "--metric", "facilities_without_grid"], None, "s.yaml", "facilities", "None"),
    (["--budget", "2", "--objective", "median"], None, "s.yaml", "objective", "median"),
    (["--budget", "1", "--method", "dad", "--k", "2"], None, "s.yaml", "objective", "expected"),
    (["--budget", "1", "--method", "dad", "--objective", "worst"], None, "s.yaml", "k", "None"),
    (["--budget", "1", "--method", "dad", "--objective", "worst", "--k", "99"], None, "s.yaml", "k", "99"),
])
def test_cli_bad_input(tmp_path, capsys, extra, costs, where, field, value):
    y = tmp_path / "s.yaml"
    y.write_text("grid: case14\nstrikes: [{random: {k: 3}}]\n")
    args = ["harden", str(y), "--n", "20", *extra]
    if costs is not None:
        (tmp_path / "c.csv").write_text(costs)
        args += ["--costs", str(tmp_path / "c.csv")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(tmp_path / where) in err and f"{field} = " in err and value in err


@pytest.mark.parametrize("case,k,budget,metric", [
    ("case30", 3, 2, "shed_mw"),
    ("case30", 2, 3, "weighted_shed_mw"),
    ("case30", 2, 2, "people_without_power"),  # a metric the attacker MILP does not model: enumeration oracle
])
def test_dad_equals_brute_force_over_every_plan_and_attack(case, k, budget, metric):
    from svitlo.analyses.harden.dad import dad_plan
    from svitlo.analyses.rank.sets import candidates, evaluate_sets

    ctx = make_context(svitlo.parse_scenario({"grid": case, "tiers": {"buses": {"bus:4": "critical",
                                                                               "bus:7": "essential"}}}))
    cand = candidates(ctx, ["line", "trafo"])
    r = dad_plan(ctx, cand, k=k, budget=budget, metric=metric)
    attacks = np.array(list(itertools.combinations(range(cand.n), k)))
    v = evaluate_sets(ctx, cand, attacks)[metric]
    hit = np.zeros((len(attacks), cand.n), bool)
    hit[np.repeat(np.arange(len(attacks)), k), attacks.ravel()] = True
    worst = {p: float(v[~hit[:, list(p)].any(axis=1)].max())
             for p in itertools.combinations(range(cand.n), budget)}
    assert r.status == "optimal" and r.gap == 0.0
    assert r.value == pytest.approx(min(worst.values()), abs=1e-6)
    assert r.value == pytest.approx(worst[tuple(r.chosen)], abs=1e-6)  # the plan's own worst attack
    assert r.before == pytest.approx(v.max(), abs=1e-6) and r.value < r.before
    assert not set(r.attack) & set(r.chosen)


def test_dad_through_harden_and_the_cli(tmp_path, capsys):
    y = tmp_path / "s.yaml"
    y.write_text("grid: case30\nseed: 3\nstrikes: [{random: {k: 2}}]\n")
    assert main(["harden", str(y), "--budget", "2", "--method", "dad", "--objective", "worst", "--k", "2",
                 "--n", "100", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["method"] == "dad" and len(d["protected"]) == 2 and d["in_sample"]["n"] == 820  # C(41, 2)
    assert d["in_sample"]["after"] < d["in_sample"]["before"]
    r = harden(str(y), budget=2, objective_kind="worst", method="dad", attack_k=2, n=100)
    assert r.protected == d["protected"]
    assert all(v >= r.in_sample["after"] - 1e-9 for v in r.info["baselines_worst_k"].values())
