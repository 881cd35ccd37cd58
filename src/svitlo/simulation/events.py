"""Timeline events: what happened, hour by hour, as rows ``hour, kind, subject, text``.

>>> log = EventLog()
>>> log.add(0, "strike", "line:3", "line:3 destroyed.")
>>> log.frame().values.tolist()
[[0, 'strike', 'line:3', 'line:3 destroyed.']]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from svitlo.facilities import backup as bk

__all__ = ["EVENT_KINDS", "EventLog", "facility_events", "text_name"]

#: Kinds of timeline events.
EVENT_KINDS = ("strike", "damage", "repair", "refuel", "backup_start", "backup_empty", "power_back",
               "rolling_outage", "frequency", "ufls", "frequency_collapse", "load_back", "black_start")


def text_name(fac: pd.DataFrame, i: int) -> str:
    """A facility's name for event texts."""
    return str(fac.at[i, "name"])


class EventLog:
    """Events of a run, in order."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, str, str, str]] = []

    def add(self, hour: int, kind: str, subject: str, text: str) -> None:
        self.rows.append((int(hour), kind, str(subject), text))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=["hour", "kind", "subject", "text"])


def facility_events(ev: EventLog, fac: pd.DataFrame, h: int, on: np.ndarray, prev: np.ndarray, step,
                    st: bk.BackupState, spec: bk.BackupSpec, lost_at: np.ndarray, until: np.ndarray,
                    skip: np.ndarray | None = None) -> None:
    """Events of facilities changing state in hour ``h`` (lost grid, on backup, dark, back); fills ``lost_at`` and
    ``until`` (hour backup ran out)."""
    for i in range(len(fac)):
        if skip is not None and skip[i]:      # a damaged facility: its own events
            continue
        name = text_name(fac, i)
        fid = fac.at[i, "id"]
        was, now = int(prev[i]) if h else bk.GRID, int(step.state[i])
        if on[i]:
            if h and was != bk.GRID:
                ev.add(h, "power_back", fid, f"{name} back on grid power after {h - lost_at[i]:.0f} h.")
            continue
        if was == bk.GRID:
            lost_at[i] = h
            if now == bk.BACKUP:
                src = "generator" if st.running[i] or (spec.has_gen[i] and not st.failed[i] and step.tried_start[i]) \
                    else "battery"
                ev.add(h, "backup_start", fid, f"{name} lost grid power; running on {src} "
                       f"({step.covered_h[i] + bk.backup_left_h(spec, st)[i]:.1f} h of backup).")
        elif was == bk.DARK and now == bk.BACKUP:
            ev.add(h, "backup_start", fid, f"{name} back on backup power "
                   f"({step.covered_h[i] + bk.backup_left_h(spec, st)[i]:.1f} h left).")
        if step.start_failed[i] and now == bk.DARK:
            ev.add(h, "backup_empty", fid, f"The generator of {name} failed to start; dark at once.")
        elif step.ran_out[i] and was != bk.DARK:
            t = h + float(step.covered_h[i])
            if now == bk.DARK and not spec.has_gen[i] and spec.battery_cap_h[i] <= 0:
                ev.add(h, "backup_empty", fid, f"{name} lost grid power and has no backup; dark.")
            else:
                ev.add(h, "backup_empty", fid, f"{name} ran out of backup power at hour {t:.1f}; dark.")
        if step.ran_out[i] and np.isnan(until[i]):
            until[i] = h + float(step.covered_h[i])
