"""The data a report embeds: a timeline turned into JSON-ready lists, with its map geometry.

:func:`report_model` reads only the fields of the timeline contract (``svitlo.simulation.timeline.Timeline``):
``scenario, grid, horizon_h, hourly, facilities, facility_states, backup_left_h, bus_energised, bus_island,
branch_in_service, events``. The HTML side (:mod:`svitlo.report.html`) draws from the returned model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from svitlo.errors import InputError
from svitlo.facilities.defaults import FACILITY_KINDS
from svitlo.model.grid import Grid
from svitlo.model.serialize import jsonable
from svitlo.report.frames import STATE_CODES, branch_codes, bus_codes, dedupe_frames, hour_matrix, struck_since
from svitlo.report.layout import Layout, layout_buses, project_points
from svitlo.report.svg import spread_markers

__all__ = ["ReportModel", "report_model", "coverage", "opening_zoom", "MARKER_PX", "FACILITY_KINDS"]

#: Lattice pitch of decluttered facility markers on screen at the opening zoom (SVG units at zoom 1): a marker
#: symbol is at most 15 units across (``svg.FACILITY_SYMBOLS``), so markers never overlap as the map opens.
MARKER_PX = 16.0
#: Zoom limits of the map (as in ``report.js``).
ZOOM_MIN, ZOOM_MAX = 1.0, 40.0



@dataclass(frozen=True)
class ReportModel:
    """Everything the HTML needs, computed once (positions in SVG units, codes per hour)."""

    layout: Layout
    focus: tuple[float, float, float, float] | None
    bus_ids: list[str]
    bus_labels: list[str]
    br_f: np.ndarray
    br_t: np.ndarray
    branch_ids: list[str]
    branch_kind: list[str]
    bus_code: np.ndarray
    branch_code: np.ndarray
    facilities: pd.DataFrame
    fac_x: np.ndarray
    fac_y: np.ndarray
    fac_true_x: np.ndarray
    fac_true_y: np.ndarray
    fac_states: list[str]
    hourly: pd.DataFrame
    events: pd.DataFrame
    data: dict[str, Any]


def _missing(kind: str, table: pd.DataFrame | None, ids: list[str], source: str) -> None:
    if table is None:
        raise InputError("the timeline has no such table", source=source, field=kind)
    have = set(map(str, table.index))
    for i in ids:
        if i not in have:
            raise InputError(f"the timeline does not cover asset {i!r} of the grid; was it simulated on "
                             "another grid?", source=source, field=kind, value=i)


def report_model(grid: Grid, timeline: Any, *, width: float = 1000.0) -> ReportModel:
    """Build the :class:`ReportModel` of ``timeline`` simulated on ``grid`` (pure)."""
    src = f"timeline {getattr(timeline, 'scenario', '?')!r}"
    hours = int(timeline.horizon_h)
    if hours < 1:
        raise InputError("expected a horizon of at least one hour", source=src, field="horizon_h",
                         value=hours)
    bus_ids = [str(b) for b in grid.buses.index]
    branch_ids = [str(b) for b in grid.branches.index]
    pos = {b: i for i, b in enumerate(bus_ids)}
    br_f = grid.branches["from_bus"].map(pos).to_numpy(np.int64)
    br_t = grid.branches["to_bus"].map(pos).to_numpy(np.int64)
    lay = layout_buses(grid.buses["lat"].to_numpy(float), grid.buses["lon"].to_numpy(float), br_f, br_t,
                       width=width)

    _missing("bus_island", timeline.bus_island, bus_ids, src)
    _missing("bus_energised", timeline.bus_energised, bus_ids, src)
    _missing("branch_in_service", timeline.branch_in_service, branch_ids, src)
    island = hour_matrix(timeline.bus_island, bus_ids, hours, fill=-1).astype(np.int64)
    energised = hour_matrix(timeline.bus_energised, bus_ids, hours, fill=False).astype(bool)
    in_service = hour_matrix(timeline.branch_in_service, branch_ids, hours, fill=False).astype(bool)
    events = _events(timeline.events)
    bcode = bus_codes(island, energised)
    struck = struck_since(events, branch_ids, hours)
    brcode = branch_codes(bcode, br_f, br_t, in_service, struck)

    fac = timeline.facilities.reset_index(drop=True).copy()
    fac["id"] = fac["id"].astype(str)
    states_tab = timeline.facility_states
    st = (hour_matrix(states_tab, list(fac["id"]), hours, fill="grid") if len(fac)
          else np.zeros((0, hours), object))
    bad = ~np.isin(st.astype(str), list(STATE_CODES))
    if bad.any():
        i, h = map(int, np.argwhere(bad)[0])
        raise InputError(f"unknown facility state; expected one of {list(STATE_CODES)}", source=src,
                         field=f"facility_states[{fac['id'].iloc[i]!r}][{h}]", value=st[i, h])
    fac_states = ["".join(STATE_CODES[s] for s in row) for row in st.astype(str)]
    tx, ty = _facility_points(fac, lay, pos)
    focus = _strike_box(lay, events, pos, dict(zip(branch_ids, zip(br_f, br_t))), grid)
    fx, fy = spread_markers(tx, ty, min_dist=MARKER_PX / math.sqrt(opening_zoom(lay, focus)))
    left = hour_matrix(timeline.backup_left_h, list(fac["id"]), hours, fill=np.nan) if len(fac) else \
        np.zeros((0, hours))

    hourly = timeline.hourly.reset_index(drop=True).copy()
    water = (fac["kind"].astype(str) == "water").to_numpy() if len(fac) else np.zeros(0, bool)
    if water.any() and "water_coverage" not in hourly.columns and len(hourly) == hours:
        hourly["water_coverage"] = coverage([s for s, w in zip(fac_states, water) if w], hours)
    bus_frames, bus_at = dedupe_frames(bcode)
    br_frames, br_at = dedupe_frames(brcode)
    data: dict[str, Any] = {
        "scenario": str(timeline.scenario), "grid": str(timeline.grid), "horizon_h": hours,
        "hourly": {c: [_num(v) for v in hourly[c].to_numpy()] for c in hourly.columns},
        "bus_frames": bus_frames, "bus_at": bus_at, "branch_frames": br_frames, "branch_at": br_at,
        "facilities": [{"id": r.id, "kind": str(r.kind), "name": str(r.name)} for r in fac.itertuples()],
        "fac_states": fac_states,
        "fac_backup_h": [[_num(v, 1) for v in row] for row in left.astype(float)],
        "events": [[int(h), str(k), str(s), str(t)] for h, k, s, t in
                   zip(events["hour"], events["kind"], events["subject"], events["text"])],
    }
    labels = [f"{b} {n}".strip() if n and n != b else b for b, n in
              zip(bus_ids, grid.buses["name"].astype(str).tolist())]
    return ReportModel(layout=lay, focus=focus, bus_ids=bus_ids, bus_labels=labels, br_f=br_f, br_t=br_t,
                       branch_ids=branch_ids, branch_kind=grid.branches["kind"].astype(str).tolist(),
                       bus_code=bcode, branch_code=brcode, facilities=fac, fac_x=fx, fac_y=fy, fac_true_x=tx,
                       fac_true_y=ty, fac_states=fac_states, hourly=hourly, events=events, data=data)


def coverage(states: list[str], hours: int) -> np.ndarray:
    """Per hour, the share of facilities (one state string each, :data:`STATE_CODES`) neither dark nor damaged
    (NaN without any): water coverage from the water facilities, as telecom coverage is from the towers.

    >>> coverage(["gbd", "ggx"], 3).tolist()
    [1.0, 1.0, 0.0]
    """
    if not states:
        return np.full(hours, np.nan)
    m = np.array([[c not in "dx" for c in s[:hours].ljust(hours, "g")] for s in states], dtype=bool)
    return m.mean(axis=0)


def _events(ev: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["hour", "kind", "subject", "text"]
    if ev is None or len(ev) == 0:
        return pd.DataFrame({c: pd.Series(dtype=int if c == "hour" else object) for c in cols})
    out = ev.reset_index(drop=True)[cols].copy()
    out["hour"] = pd.to_numeric(out["hour"]).astype(int)
    for c in cols[1:]:
        out[c] = out[c].fillna("").astype(str)
    return out.sort_values("hour", kind="stable").reset_index(drop=True)


def opening_zoom(lay: Layout, focus: tuple[float, float, float, float] | None) -> float:
    """The zoom the map opens at: on the strike area (``focus``) when there is one, else 1 (``report.js``
    computes the same). On screen, positions scale with the zoom ``k`` and markers with ``sqrt(k)``.

    >>> lay = Layout(np.zeros(1), np.zeros(1), 1000.0, 800.0, False)
    >>> opening_zoom(lay, (0.0, 0.0, 100.0, 100.0)), opening_zoom(lay, None)
    (8.0, 1.0)
    """
    if focus is None:
        return 1.0
    w, h = focus[2] - focus[0], focus[3] - focus[1]
    if not (w > 0 and h > 0):
        return 1.0
    return float(min(ZOOM_MAX, max(ZOOM_MIN, min(lay.width / w, lay.height / h))))


def _strike_box(lay: Layout, events: pd.DataFrame, pos: dict[str, int], ends: dict[str, tuple[int, int]],
                grid: Grid) -> tuple[float, float, float, float] | None:
    """Box (SVG units) around every struck asset, padded, at least 12 % of the map across; None if none."""
    gen_bus = dict(zip(grid.generators.index.astype(str), grid.generators["bus"].astype(str)))
    xs: list[float] = []
    ys: list[float] = []
    for a in events.loc[events["kind"] == "strike", "subject"]:
        if a in pos:
            idx = [pos[a]]
        elif a in ends:
            idx = list(ends[a])
        else:
            idx = [pos[gen_bus[a]]] if a in gen_bus else []
        xs += [float(lay.x[i]) for i in idx]
        ys += [float(lay.y[i]) for i in idx]
    if not xs:
        return None
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    half = max(max(xs) - min(xs), max(ys) - min(ys), 0.12 * lay.width) * 0.6
    return cx - half, cy - half, cx + half, cy + half


def _facility_points(fac: pd.DataFrame, lay: Layout, pos: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    n = len(fac)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    if n and lay.geographic and {"lat", "lon"} <= set(fac.columns):
        x, y = project_points(lay, pd.to_numeric(fac["lat"], errors="coerce").to_numpy(float),
                              pd.to_numeric(fac["lon"], errors="coerce").to_numpy(float))
    if n and "bus" in fac.columns:
        for i, b in enumerate(fac["bus"].astype(str)):
            if not np.isfinite(x[i]) and b in pos:
                x[i], y[i] = lay.x[pos[b]], lay.y[pos[b]]
    missing = ~(np.isfinite(x) & np.isfinite(y))
    x[missing] = lay.width / 2
    y[missing] = lay.height / 2
    return x, y


def _num(v: Any, digits: int | None = None) -> Any:
    """A JSON-ready scalar (see :func:`svitlo.model.serialize.jsonable`), floats rounded to ``digits``."""
    out = jsonable(v)
    if isinstance(out, float) and digits is not None:
        return round(out, digits)
    return out if out is None or isinstance(out, (bool, int, float)) else str(out)
