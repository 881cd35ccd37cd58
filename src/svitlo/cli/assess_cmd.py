"""``svitlo assess SCENARIO.yaml``: one scenario, summary / JSON / Parquet."""

from __future__ import annotations

from pathlib import Path

import typer

from svitlo.cli.app import app
from svitlo.cli.common import ModeChoice, console, impact_tables
from svitlo.scenarios.geo import MAX_SEED


@app.command("assess")
def assess_cmd(
    scenario: Path = typer.Argument(..., help="scenario YAML file"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
    out: str | None = typer.Option(None, "--out", help="write the tables as Parquet into this folder"),
    seed: int | None = typer.Option(None, "--seed", min=0, max=MAX_SEED, help="override the scenario seed"),
    mode: ModeChoice | None = typer.Option(None, "--mode", help="override the mode", case_sensitive=False),
    cascade: bool | None = typer.Option(None, "--cascade/--no-cascade",
                                        help="trip overloaded branches until stable (scenario key cascade)"),
    ac: bool | None = typer.Option(None, "--ac/--no-ac", help="AC power flow per energised island (pandapower)"),
    strike: str | None = typer.Option(None, "--strike",
                                      help="replace the scenario's strikes by these asset ids (comma-separated), "
                                           "e.g. a stored sweep scenario's destroyed set"),
) -> None:
    """Assess one strike scenario: islands, shedding, flows, who loses power."""
    from svitlo.io.outputs import check_output_dir
    from svitlo.pipeline import assess

    if out is not None:
        check_output_dir(out, option="--out")
    sc = scenario
    if strike is not None:
        from svitlo.pipeline import as_scenario
        from svitlo.scenarios.spec import Strike

        ids = [a.strip() for a in strike.split(",") if a.strip()]
        sc = as_scenario(scenario).model_copy(update={"strikes": [Strike(assets=ids)] if ids else [], "waves": []})
    imp = assess(None, sc, seed=seed, mode=None if mode is None else mode.value, cascade=cascade, ac=ac)
    if out is not None:
        imp.write_parquet(out)
    if as_json:
        print(imp.to_json())
        return
    for t in impact_tables(imp):
        console.print(t)
    if out is not None:
        console.print(f"tables written to {out}")
