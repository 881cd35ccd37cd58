"""The ``svitlo`` command line (typer + rich).

Exit codes: 0 success, 2 bad input (message on stderr), 1 any other failure.
Each command lives in its own module and registers itself on :data:`app`.
"""

from __future__ import annotations

import sys

import typer

from svitlo.errors import InputError, SvitloError

app = typer.Typer(
    name="svitlo",
    help="Where the light stays on: power grids under physical attack — islands, shedding, flows, facilities.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# command modules register themselves on `app` when imported
from svitlo.cli import (  # noqa: E402,F401  # noqa: E402,F401
    assess_cmd,
    cases_cmd,
    demo_cmd,
    report_cmd,
    report_html_cmd,  # noqa: E402,F401
    sweep_cmd,
)


def _click_exceptions() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """(ClickException, UsageError) classes of click and of the copy typer may bundle."""
    base: list[type] = []
    usage: list[type] = []
    for mod in ("click.exceptions", "typer._click.exceptions"):
        try:
            m = __import__(mod, fromlist=["ClickException", "UsageError"])
        except ImportError:
            continue
        base.append(m.ClickException)
        usage.append(m.UsageError)
    return tuple(base), tuple(usage)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; maps svitlo errors to exit codes 2 (input) and 1 (other)."""
    try:
        app(args=argv, standalone_mode=False)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except SvitloError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 130
    except Exception as exc:  # click usage errors (bad options) carry their own exit code
        base, usage = _click_exceptions()
        if isinstance(exc, base):
            exc.show()
            return 2 if isinstance(exc, usage) else exc.exit_code
        raise
    return 0


def run() -> None:
    """Console-script wrapper: exit with :func:`main`'s code."""
    sys.exit(main())
