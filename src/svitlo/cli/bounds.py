"""Bounds of the newer commands' numeric options, checked by click before any work (exit 2, one line)."""

from __future__ import annotations

import math

import typer

__all__ = ["MAX_SAMPLES", "MAX_BEAM", "MAX_CREWS", "MAX_SECONDS", "MAX_WORKERS", "finite_seconds"]

#: Most sampled scenarios or timelines held in memory at once (harden ``--n``/``--n-oos``, site ``--n``/``--n-out``).
MAX_SAMPLES = 1_000_000
#: Widest heuristic beam (rank ``--beam``).
MAX_BEAM = 10_000
#: Most repair crews (as the scenario key ``repairs.crews``).
MAX_CREWS = 10_000
#: Longest solver or search budget (s): about eleven days.
MAX_SECONDS = 1e6
#: Most worker processes.
MAX_WORKERS = 1024


def finite_seconds(value: float | None) -> float | None:
    """Click callback: a time budget must be a finite number (``FloatRange`` lets NaN through).

    >>> finite_seconds(2.5), finite_seconds(None)
    (2.5, None)
    """
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value!r} is not a finite number of seconds")
    return value
