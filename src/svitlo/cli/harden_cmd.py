"""``svitlo harden SCENARIO.yaml --budget B``: what to protect, evaluated out of sample."""

from __future__ import annotations

from pathlib import Path

import typer

from svitlo.cli.app import app
from svitlo.cli.bounds import MAX_BEAM, MAX_SAMPLES
from svitlo.cli.common import checked_outputs, console
from svitlo.cli.rank_cmd import scenario_source
from svitlo.scenarios.geo import MAX_SEED


@app.command("harden")
def harden_cmd(
    scenario: Path = typer.Argument(..., help="scenario YAML file; its strikes define the scenarios sampled"),
    budget: float = typer.Option(..., "--budget", help="assets to protect (or money, with --costs)"),
    objective: str = typer.Option("expected", "--objective", help="expected, cvar95 or worst"),
    metric: str = typer.Option("shed_mw", "--metric",
                               help="shed_mw, weighted_shed_mw, people_without_power or facilities_without_grid"),
    n: int = typer.Option(1000, "--n", min=1, max=MAX_SAMPLES, help="in-sample scenarios"),
    n_oos: int | None = typer.Option(None, "--n-oos", min=1, max=MAX_SAMPLES,
                                     help="out-of-sample scenarios (default: --n)"),
    seed: int | None = typer.Option(None, "--seed", min=0, max=MAX_SEED,
                                    help="root seed (default: the scenario's seed)"),
    method: str = typer.Option("greedy", "--method",
                               help="greedy (lazy), milp (exact sample average, small) or dad (--objective worst: "
                                    "the worst attack of --k assets, defender-attacker-defender, small grids)"),
    attack_k: int | None = typer.Option(None, "--k", min=1, max=MAX_BEAM, help="attack size for --method dad"),
    kinds: str = typer.Option("line,trafo", "--kinds", help="asset kinds attacked and protected with --method dad"),
    costs: Path | None = typer.Option(None, "--costs", help="CSV with columns id,cost; --budget is then money"),
    out_arg: str | None = typer.Option(None, "--out", help="folder: in-sample rows (resumable sweep) and harden.json"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
    html: Path | None = typer.Option(None, "--html", help="write the plan, before/after with CI and the "
                                                          "baselines as one self-contained HTML page"),
) -> None:
    """Choose assets to protect: minimise the expected, CVaR-95 or worst metric over sampled strikes."""
    import json

    from rich.table import Table

    from svitlo.analyses.harden import harden, read_costs
    from svitlo.analyses.sweep.evaluate import make_context
    from svitlo.io.scenario_file import load_scenario

    out = checked_outputs(out_arg, html)
    sc = load_scenario(scenario)
    with scenario_source(scenario):
        cost = read_costs(costs, make_context(sc)) if costs is not None else None
        r = harden(sc, budget=budget, objective_kind=objective, metric=metric, n=n, n_oos=n_oos, seed=seed,
                   method=method, costs=cost, out=out, attack_k=attack_k,
                   kinds=tuple(x.strip() for x in kinds.split(",") if x.strip()), source=str(scenario))  # type: ignore[arg-type]
    if html is not None:
        from svitlo.report.protect import protect_page

        html.write_text(protect_page(harden=r.report_dict(), title=f"Protect first — {scenario.stem}"),
                        encoding="utf-8")
    if as_json:
        print(json.dumps(r.to_dict()))
        return
    o = r.out_of_sample
    console.print(f"protect ({len(r.protected)}): {', '.join(r.protected) or '(nothing helps)'}")
    t = Table(title=f"{r.objective} {r.metric} ({r.method})")
    for c in ("", "n", "before", "after", "95 % CI after"):
        t.add_column(c, justify="right")
    t.add_row("every attack" if r.method == "dad" else "in sample", f"{r.in_sample['n']:,}", f"{r.in_sample['before']:,.2f}", f"{r.in_sample['after']:,.2f}",
              "")
    t.add_row("out of sample", f"{o['n']:,}", f"{o['before']:,.2f}", f"{o['after']:,.2f}",
              f"{o['ci95'][0]:,.2f} … {o['ci95'][1]:,.2f}")
    for name, v in r.baselines.items():
        t.add_row(f"baseline: {name}", f"{o['n']:,}", f"{o['before']:,.2f}", f"{v:,.2f}", "")
    console.print(t)
    if html is not None:
        console.print(f"report written to {html}")
    if r.method == "dad":
        i = r.info
        console.print(f"worst {i['attack_k']}-attack after protection: {', '.join(i['worst_attack_after']) or '-'} "
                      f"({i['status']}, {i['iterations']} attacks, {i['seconds']:.1f} s); baselines' worst attack: "
                      + ", ".join(f"{k} {v:,.2f}" for k, v in i["baselines_worst_k"].items()))
