"""The ``svitlo`` typer application; each command module registers itself on :data:`app` (``cli/main.py`` imports
them all and maps errors to exit codes)."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(
    name="svitlo",
    help="Where the light stays on: power grids under physical attack — islands, shedding, flows, facilities.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
