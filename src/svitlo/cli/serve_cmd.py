"""``svitlo serve``: the local dashboard (needs the ``web`` extra)."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from svitlo.cli.app import app
from svitlo.cli.common import console


@app.command("serve")
def serve_cmd(
    data: Path | None = typer.Option(None, "--data", help="folder of grid, facility and scenario files to open "
                                                          "(read only; nothing outside it can be named)"),
    store: Path | None = typer.Option(None, "--store", help="folder of sweep runs (listed; sweeps launched "
                                                            "from the dashboard write there)"),
    demo: bool = typer.Option(False, "--demo", help="open the bundled demo scenario (and sweep it once)"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to bind; any other than loopback needs "
                                                         "--token"),
    port: int = typer.Option(8765, "--port", min=1, max=65535, help="port to listen on"),
    token: str | None = typer.Option(None, "--token", envvar="SVITLO_TOKEN",
                                     help="require this token on every request ('new': make one)"),
    workers: int = typer.Option(2, "--workers", min=1, max=64, help="computing requests at once"),
) -> None:
    """Start the local web dashboard: open grids, compose strikes, run them, browse and launch sweeps."""
    from svitlo.web import new_token, serve

    if token == "new":
        token = new_token()
    if demo and data is not None:
        raise typer.BadParameter("give either --demo or --data", param_hint="--demo")

    def ready(url: str) -> None:
        console.print(f"svitlo dashboard on [bold]{url}[/bold]  (Ctrl-C to stop)", soft_wrap=True)

    serve(data_dir=data, store_dir=store, host=host, port=port, token=token, workers=workers, demo=demo,
          ready=ready, log_level=os.environ.get("SVITLO_LOG_LEVEL", "warning"))
