"""``svitlo sweep SCENARIO.yaml --n N --out DIR``: a Monte Carlo sweep into a resumable result store."""

from __future__ import annotations

from pathlib import Path

import typer

from svitlo.analyses.sweep.plan import MAX_SCENARIOS
from svitlo.cli.app import app
from svitlo.cli.common import err_console, print_run_outcome
from svitlo.scenarios.geo import MAX_SEED


@app.command("sweep")
def sweep_cmd(
    scenario: Path = typer.Argument(..., help="scenario YAML file; its random strikes are drawn anew per scenario"),
    n: int = typer.Option(..., "--n", min=1, max=MAX_SCENARIOS, help="number of scenarios"),
    out: str = typer.Option(..., "--out", help="run folder (created; rerun the same command to resume)"),
    seed: int | None = typer.Option(None, "--seed", min=0, max=MAX_SEED,
                                    help="root seed (default: the scenario's seed)"),
    chunk_size: int | None = typer.Option(None, "--chunk-size", min=1, max=MAX_SCENARIOS,
                                          help="scenarios per part file and task"),
    workers: int | None = typer.Option(None, "--workers", min=1, max=1024,
                                       help="run on a local Dask cluster of K workers"),
    scheduler: str | None = typer.Option(None, "--scheduler", help="address of an existing Dask scheduler"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object with the outcome on stdout"),
    quiet: bool = typer.Option(False, "--quiet", help="no progress bar"),
    timeline: bool | None = typer.Option(None, "--timeline/--hour-0", help="simulate every scenario hour by "
                                         "hour over its horizon (default when it has waves, repairs, refuels or "
                                         "rolling outages) or evaluate the hour-0 strikes only"),
) -> None:
    """Monte Carlo sweep: N strike scenarios, one Parquet row each, resumable; then `svitlo report DIR`."""

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from svitlo.analyses.sweep import sweep
    from svitlo.analyses.sweep.plan import SWEEP_FILES
    from svitlo.io.outputs import check_output_dir
    from svitlo.io.scenario_file import load_scenario
    from svitlo.store.runstore import check_run_folder

    check_output_dir(out, option="--out")
    check_run_folder(out, SWEEP_FILES)
    sc = load_scenario(scenario)
    timeline_keys = [k for k in ("waves", "repairs", "refuel", "rolling_outages") if getattr(sc, k)]
    if timeline or (timeline is None and timeline_keys):
        from svitlo.cli.sweep_timeline import run_timeline_sweep
        from svitlo.errors import ScenarioError

        if scheduler is not None:
            raise ScenarioError("a timeline sweep runs on local worker processes (--workers); use --hour-0 for a "
                                "Dask cluster", field="--scheduler", value=scheduler)

        run_timeline_sweep(sc, n=n, out=out, seed=seed, chunk_size=chunk_size, workers=workers, as_json=as_json,
                           quiet=quiet)
        return
    if timeline_keys and not as_json:
        err_console.print(f"note: a sweep evaluates the hour-0 strikes; {', '.join(timeline_keys)} belong to the "
                          "timeline (`--timeline`) and are not swept")
    bar = Progress(TextColumn("[bold]sweep"), BarColumn(), MofNCompleteColumn(), TextColumn("scenarios"),
                   TimeRemainingColumn(), console=err_console, disable=quiet or as_json, transient=False)
    task = bar.add_task("sweep", total=n)

    def on_progress(done: int, total: int) -> None:
        if not bar.live.is_started:  # the bar appears once the run folder is ready: errors before stay one line
            bar.start()
        bar.update(task, completed=done, total=total)

    try:
        res = sweep(sc, n=n, out=out, root_seed=seed, chunk_size=chunk_size, workers=workers,
                    scheduler=scheduler, progress=on_progress)
    finally:
        bar.stop()
    outcome = {"run_dir": str(res.path), "run_id": res.run_id, "n": res.n, "computed": res.computed,
               "finished": res.finished,
               "seconds": round(res.seconds, 3), "scenarios_per_second": round(res.scenarios_per_second, 1),
               "engine": res.engine}
    print_run_outcome(res, outcome, as_json=as_json, noun="scenarios",
                      computed=f"{res.computed:,} scenarios computed in {res.seconds:,.1f} s "
                               f"({res.scenarios_per_second:,.0f}/s, engine {res.engine})")
