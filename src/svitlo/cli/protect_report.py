"""``svitlo report DIR`` on a ``svitlo rank`` / ``svitlo harden`` ``--out`` folder: a short summary, and with
``--html FILE`` the protect-first page (:mod:`svitlo.report.protect`)."""

from __future__ import annotations

import json
from pathlib import Path

from svitlo.cli.common import console

__all__ = ["is_protect_dir", "print_protect_report"]


def is_protect_dir(path: Path) -> bool:
    """True for a folder holding ``rank.json`` or ``harden.json``."""
    try:
        return (path / "rank.json").is_file() or (path / "harden.json").is_file()
    except OSError:  # a name too long for the file system: not a folder of results (report says so)
        return False


def print_protect_report(path: Path, *, html: Path | None, as_json: bool) -> None:
    """Summarise the rank / harden results of ``path``; write the page to ``html``.

    A damaged ``rank.json`` / ``harden.json`` (not UTF-8, not JSON, not the shape written) is a
    :class:`~svitlo.errors.RunFolderError` naming the file, never a traceback.
    """
    from svitlo.errors import OutputPathError, RunFolderError
    from svitlo.io.text import load_json, read_text

    if html is not None:
        from svitlo.io.outputs import check_output_file

        check_output_file(html, option="--html")
    data = {}
    for n in ("rank", "harden"):
        f = path / f"{n}.json"
        if f.is_file():
            data[n] = load_json(read_text(f, error=RunFolderError), source=str(f), error=RunFolderError)
            if not isinstance(data[n], dict):
                raise RunFolderError(f"not a {n} result (expected a JSON object)", source=str(f),
                                     value=type(data[n]).__name__)
    try:
        _print(path, data, html=html, as_json=as_json)
    except (KeyError, TypeError, IndexError, ValueError, AttributeError) as exc:
        raise RunFolderError(f"not a rank or harden result as written by svitlo ({type(exc).__name__}: {exc})",
                             source=str(path)) from None
    except OSError as exc:
        raise OutputPathError(f"cannot write the report: {exc.strerror or exc}", field="--html",
                              value=str(html)) from None


def _print(path: Path, data: dict, *, html: Path | None, as_json: bool) -> None:
    from svitlo.report.protect import protect_page_from_dir

    if html is not None:
        html.write_text(protect_page_from_dir(path), encoding="utf-8")
    if as_json:
        print(json.dumps(data))
        return
    if "rank" in data:
        r = data["rank"]
        top = ", ".join(a["id"] for a in r["assets"][:5]) or "-"
        console.print(f"rank: worst sets of {r['k']} by {r['metric']} ({r['method']}, "
                      f"{r['optimality']['status']}); protect first: {top}")
    if "harden" in data:
        h = data["harden"]
        o = h["out_of_sample"]
        console.print(f"harden: protect {', '.join(h['protected']) or '(nothing)'}; {h['objective']} {h['metric']} "
                      f"out of sample {o['before']:,.2f} -> {o['after']:,.2f} (95 % CI {o['ci95'][0]:,.2f} … "
                      f"{o['ci95'][1]:,.2f})")
    if html is not None:
        console.print(f"report written to {html}")
