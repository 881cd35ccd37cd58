"""The ``svitlo`` command line (typer + rich).

Exit codes: 0 success, 2 bad input (message on stderr), 1 any other failure.
Each command lives in its own module and registers itself on :data:`svitlo.cli.app.app`; this module imports
them and maps errors to exit codes.
"""

from __future__ import annotations

import sys

import typer

# command modules register themselves on `app` when imported
from svitlo.cli import (  # noqa: F401
    assess_cmd,
    cases_cmd,
    demo_cmd,
    doctor_cmd,
    harden_cmd,
    rank_cmd,
    report_cmd,
    restore_cmd,
    serve_cmd,
    simulate_cmd,
    site_cmd,
    sweep_cmd,
)
from svitlo.cli.app import app
from svitlo.errors import InputError, SvitloError

__all__ = ["app", "main", "run"]


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
        rc = app(args=argv, standalone_mode=False)  # a command's typer.Exit(code) comes back as its code
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
            if isinstance(exc, usage):
                print(f"error: {_usage_message(exc, sys.argv[1:] if argv is None else argv)}", file=sys.stderr)
                return 2
            exc.show()
            return exc.exit_code
        raise
    return rc if isinstance(rc, int) else 0


def _usage_message(exc: Exception, argv: list[str]) -> str:
    """One line for a usage error: the option, the value given (shortened) and what is wrong."""
    msg = " ".join(str(getattr(exc, "message", exc)).split())
    param = getattr(exc, "param", None)
    opts = list(getattr(param, "opts", []) or []) + list(getattr(param, "secondary_opts", []) or [])
    if not opts or getattr(param, "param_type_name", "option") != "option":
        return msg
    value = None
    for i, a in enumerate(argv):
        if a in opts and i + 1 < len(argv):
            value = argv[i + 1]
        for o in opts:
            if a.startswith(o + "="):
                value = a.split("=", 1)[1]
    if value is None:
        return msg
    shown = value if len(value) <= 80 else value[:77] + "..."
    return f"option {opts[0]} = {shown!r}: {msg}"


def run() -> None:
    """Console-script wrapper: exit with :func:`main`'s code."""
    sys.exit(main())


if __name__ == "__main__":  # python -m svitlo.cli.main
    run()
