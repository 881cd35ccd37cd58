"""Hour-by-hour drawing codes of a timeline: what colour each bus, branch and facility has at each hour.

The report stores each distinct hour *frame* once and, per hour, the index of its frame, so a 72-hour timeline
whose topology changes a few times costs a few frames, not 72.

Codes shared by buses and branches (the palette lives in ``report.css``):

====  ==========================================================
code  meaning
====  ==========================================================
0     destroyed (struck and not repaired since)
1     out of service (open, or an end bus is gone) — branches only
2     in service but de-energised (dark)
3     energised, the largest energised island of that hour
4-10  energised, another island (colour keyed by its first bus)
====  ==========================================================

Examples
--------
>>> import numpy as np
>>> island = np.array([[0, 0], [0, 1], [-1, 2]])        # 3 buses x 2 hours
>>> energised = np.array([[True, True], [True, True], [False, False]])
>>> bus_codes(island, energised).tolist()
[[3, 3], [3, 5], [0, 2]]
>>> dedupe_frames(np.array([[1, 1, 2], [0, 0, 0]]))
([[1, 0], [2, 0]], [0, 0, 1])
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

__all__ = ["DESTROYED", "OUT", "DARK", "MAIN", "N_ISLAND_COLOURS", "STATE_CODES", "bus_codes", "branch_codes",
           "dedupe_frames", "hour_matrix", "struck_since"]

DESTROYED, OUT, DARK, MAIN = 0, 1, 2, 3
#: Colours for energised islands other than the largest one.
N_ISLAND_COLOURS = 7
#: One-letter codes of facility states.
STATE_CODES: dict[str, str] = {"grid": "g", "backup": "b", "dark": "d", "damaged": "x"}


def hour_matrix(df: pd.DataFrame, ids: Iterable[str], hours: int, *, fill: object) -> np.ndarray:
    """The values of a ``(id x hour)`` table for ``ids`` (rows) and hours ``0..hours-1`` (columns).

    Rows or hours missing from ``df`` take ``fill``; column labels may be ints or numeric strings.
    """
    ids = list(ids)
    if df is None or df.empty:
        return np.full((len(ids), hours), fill, dtype=object)
    cols = {int(c): c for c in df.columns}
    out = df.reindex(index=ids).reindex(columns=[cols.get(h, h) for h in range(hours)])
    return out.where(out.notna(), fill).to_numpy(dtype=object)


def bus_codes(island: np.ndarray, energised: np.ndarray) -> np.ndarray:
    """Code of every bus at every hour from island labels (-1 = destroyed) and energisation (bool)."""
    island = np.asarray(island, dtype=np.int64)
    energised = np.asarray(energised, dtype=bool)
    out = np.full(island.shape, DARK, dtype=np.int8)
    out[island < 0] = DESTROYED
    for h in range(island.shape[1] if island.ndim == 2 else 0):
        lab = island[:, h]
        on = energised[:, h] & (lab >= 0)
        if not on.any():
            continue
        labels, first, counts = np.unique(lab[on], return_index=True, return_counts=True)
        first_bus = np.flatnonzero(on)[first]
        codes = 4 + first_bus % N_ISLAND_COLOURS
        codes[int(np.argmax(counts))] = MAIN
        out[on, h] = codes[np.searchsorted(labels, lab[on])]
    return out


def branch_codes(bus_code: np.ndarray, br_f: np.ndarray, br_t: np.ndarray, in_service: np.ndarray,
                 struck: np.ndarray) -> np.ndarray:
    """Code of every branch at every hour.

    Parameters
    ----------
    bus_code
        Output of :func:`bus_codes` (bus x hour).
    br_f, br_t
        Bus index at each end of every branch.
    in_service
        Branch in service (branch x hour, bool).
    struck
        Branch struck at or before the hour (branch x hour, bool); an out-of-service struck branch is drawn
        as destroyed.
    """
    in_service = np.asarray(in_service, dtype=bool)
    cf = bus_code[br_f]
    ct = bus_code[br_t]
    out = np.where(in_service, DARK, np.where(struck, DESTROYED, OUT)).astype(np.int8)
    lit = in_service & (cf >= MAIN) & (ct >= MAIN)
    out[lit] = cf[lit]
    return out


def struck_since(events: pd.DataFrame | None, ids: Iterable[str], hours: int) -> np.ndarray:
    """Bool matrix (id x hour): the asset was struck and not repaired since (``strike`` and ``repair`` events;
    a repair and a strike at the same hour: the repair comes first, as in the timeline).

    >>> ev = pd.DataFrame({"hour": [1, 3, 4], "kind": ["strike", "repair", "strike"],
    ...                    "subject": ["line:1", "line:1", "line:1"]})
    >>> struck_since(ev, ["line:1", "line:2"], 6).astype(int).tolist()
    [[0, 1, 1, 0, 1, 1], [0, 0, 0, 0, 0, 0]]
    """
    ids = list(ids)
    out = np.zeros((len(ids), hours), dtype=bool)
    if events is None or events.empty or hours == 0:
        return out
    pos = {a: i for i, a in enumerate(ids)}
    ev = events[events["kind"].isin(["strike", "repair"])]
    order = sorted(zip(ev["hour"].astype(int), (ev["kind"] == "strike").astype(int),
                       ev["subject"].astype(str)))
    for hour, is_strike, subject in order:
        i = pos.get(subject)
        if i is not None and 0 <= hour < hours:
            out[i, hour:] = bool(is_strike)
    return out


def dedupe_frames(codes: np.ndarray) -> tuple[list[list[int]], list[int]]:
    """Distinct hour columns of ``codes`` (item x hour) and, per hour, the index of its frame."""
    frames: list[list[int]] = []
    seen: dict[bytes, int] = {}
    at: list[int] = []
    codes = np.ascontiguousarray(np.asarray(codes, dtype=np.int8).T)
    for col in codes:
        key = col.tobytes()
        if key not in seen:
            seen[key] = len(frames)
            frames.append([int(v) for v in col])
        at.append(seen[key])
    return frames, at
