"""``svitlo report DIR`` on a ``svitlo rank`` / ``svitlo harden`` ``--out`` folder: a short summary, and with
``--html FILE`` the protect-first page (:mod:`svitlo.report.protect`)."""

from __future__ import annotations

import json
from pathlib import Path

from svitlo.cli.common import console

__all__ = ["is_protect_dir", "print_protect_report"]


def is_protect_dir(path: Path) -> bool:
    """True for a folder holding ``rank.json`` or ``harden.json``."""
    return (path / "rank.json").is_file() or (path / "harden.json").is_file()


def print_protect_report(path: Path, *, html: Path | None, as_json: bool) -> None:
    """Summarise the rank / harden results of ``path``; write the page to ``html``."""
    from svitlo.report.protect import protect_page_from_dir

    data = {n: json.loads((path / f"{n}.json").read_text(encoding="utf-8"))
            for n in ("rank", "harden") if (path / f"{n}.json").is_file()}
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
