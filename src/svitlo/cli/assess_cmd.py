"""``svitlo assess SCENARIO.yaml``: one scenario, summary / JSON / Parquet."""

from __future__ import annotations

from pathlib import Path

import typer

from svitlo.cli.common import console, impact_tables
from svitlo.cli.main import app


@app.command("assess")
def assess_cmd(
    scenario: Path = typer.Argument(..., help="scenario YAML file"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
    out: Path | None = typer.Option(None, "--out", help="write the tables as Parquet into this folder"),
    seed: int | None = typer.Option(None, "--seed", help="override the scenario seed"),
    mode: str | None = typer.Option(None, "--mode", help="override the mode: balance or opf"),
    cascade: bool | None = typer.Option(None, "--cascade/--no-cascade",
                                        help="trip overloaded branches until stable (scenario key cascade)"),
    ac: bool | None = typer.Option(None, "--ac/--no-ac", help="AC power flow per energised island (pandapower)"),
) -> None:
    """Assess one strike scenario: islands, shedding, flows, who loses power."""
    from svitlo.engine.assess import assess
    from svitlo.io.scenario_file import load_scenario

    sc = load_scenario(scenario)
    imp = assess(None, sc, seed=seed, mode=mode, cascade=cascade, ac=ac)
    if out is not None:
        imp.write_parquet(out)
    if as_json:
        print(imp.to_json())
        return
    for t in impact_tables(imp):
        console.print(t)
    if out is not None:
        console.print(f"tables written to {out}")
