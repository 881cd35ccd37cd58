"""``svitlo site SCENARIO.yaml --add "generator:500kW x 5"``: where added backup keeps the most people served."""

from __future__ import annotations

from pathlib import Path

import typer

from svitlo.cli.app import app
from svitlo.cli.bounds import MAX_SAMPLES, MAX_WORKERS
from svitlo.cli.common import console, fmt_people
from svitlo.scenarios.geo import MAX_SEED


def _read_candidates(path: Path) -> list[str]:
    """Facility ids from a file: a CSV with an ``id`` column, or one id per line."""
    from svitlo.errors import ScenarioError
    from svitlo.io.text import read_text

    text = read_text(path, error=ScenarioError)  # UTF-8, size-limited, one-line errors naming the file
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    if lines and "," in lines[0]:
        head = [h.strip() for h in lines[0].split(",")]
        if "id" not in head:
            raise ScenarioError("a CSV candidates file needs an 'id' column", source=str(path), field="id",
                                value=lines[0])
        k = head.index("id")
        ids = [cells[k].strip() if len(cells := ln.split(",")) > k else "" for ln in lines[1:]]
    else:
        ids = lines[1:] if lines and lines[0] == "id" else lines
    if not ids:
        raise ScenarioError("no facility ids; expected a CSV with an 'id' column or one id per line",
                            source=str(path), field="--candidates", value=text[:80])
    return ids


@app.command("site")
def site_cmd(
    scenario: Path = typer.Argument(..., help="scenario YAML file with facilities"),
    add: str = typer.Option(..., "--add", help='units to place, e.g. "generator:500kW x 5", "battery:200kWh x 3"'),
    n: int = typer.Option(200, "--n", min=1, max=MAX_SAMPLES, help="in-sample timelines"),
    n_out: int = typer.Option(200, "--n-out", min=1, max=MAX_SAMPLES, help="out-of-sample timelines (fresh seeds)"),
    seed: int | None = typer.Option(None, "--seed", min=0, max=MAX_SEED, help="root seed (default: the scenario's)"),
    candidates: Path | None = typer.Option(None, "--candidates", help="facility ids (or bus ids with --at buses) "
                                           "allowed (CSV with id, or one per line)"),
    at: str = typer.Option("facilities", "--at", help="facilities (units join their backup) or buses "
                           "(grid-forming generators carrying the bus's facilities)"),
    quick: bool = typer.Option(False, "--quick", help="hour-0 sweeps instead of timelines (no repairs, no waves)"),
    workers: int | None = typer.Option(None, "--workers", min=1, max=MAX_WORKERS, help="worker processes"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
) -> None:
    """Place mobile generators or batteries (at facilities) or grid-forming generators (at buses) where they cut
    people-hours without facility service most."""
    import json

    from rich.table import Table

    from svitlo.analyses.site import site
    from svitlo.cli.restore_cmd import with_source
    from svitlo.errors import InputError
    from svitlo.io.scenario_file import load_scenario

    sc = load_scenario(scenario)
    cand = _read_candidates(candidates) if candidates is not None else None
    try:
        r = site(sc, add=add, n=n, n_out=n_out, root_seed=seed, candidates=cand,
                 candidates_source=str(candidates) if candidates else None, workers=workers,
                 at=at, quick=quick)  # type: ignore[arg-type]
    except InputError as exc:
        raise with_source(exc, scenario) from None
    d = r.to_dict()
    if as_json:
        print(json.dumps(d, allow_nan=False))
        return
    hub = at == "buses"
    t = Table(title=f"{r.count} × {add.split('x')[0].strip()}: where"
                    f"{' (hubs at buses)' if hub else ''}{' (hour-0 sweeps)' if quick else ''}")
    for c in ("facility", "bus", "kind", "people", "units", "h dark before", "h dark after"):
        t.add_column(c, justify="left" if c in ("facility", "bus", "kind") else "right")
    col = "hub_units" if hub else "units"
    for row in r.facilities[r.facilities[col] > 0].itertuples():
        t.add_row(str(row.id), str(row.bus), str(row.kind), fmt_people(row.population), str(getattr(row, col)),
                  f"{row.hours_dark_before:,.1f}", f"{row.hours_dark_after:,.1f}")
    console.print(t)
    o = d["out_of_sample"]
    console.print(f"people-hours without facility service per timeline, out of sample ({o['n']} fresh timelines): "
                  f"{fmt_people(o['before'])} → {fmt_people(o['after'])} (95 % CI {fmt_people(o['ci95'][0])}–"
                  f"{fmt_people(o['ci95'][1])}); in sample {fmt_people(d['in_sample']['before'])} → "
                  f"{fmt_people(d['in_sample']['after'])}")
    for name, after in d["baselines"].items():
        console.print(f"baseline {name}: {fmt_people(after)}")
    if d["exact"]["status"] == "optimal":
        console.print(f"exact sample-average optimum in sample: {fmt_people(d['exact']['in_sample_after'])} "
                      f"(greedy gap {d['exact']['gap']:.1%})")
