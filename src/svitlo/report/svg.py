"""Inline SVG pieces of the report: the grid map, step charts over hours and facility state strips.

Every function returns an SVG string with all text escaped; nothing here reads files or the network. Elements
that change with the hour carry classes and ``data-`` attributes that ``report.js`` updates.

Examples
--------
>>> s = step_chart([("served", [3.0, 1.0, 2.0], "s0")], title="MW <served>", unit="MW")
>>> s.count("<polyline"), "&lt;served&gt;" in s, 'class="cursor"' in s
(1, True, True)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import numpy as np

__all__ = ["map_svg", "step_chart", "state_strips", "FACILITY_SYMBOLS", "nice_ticks", "spread_markers"]

#: Marker path per facility kind, centred on (0, 0), about 12 units across.
FACILITY_SYMBOLS: dict[str, str] = {
    "hospital": "M-6,-6H6V6H-6Z",                                   # square
    "water": "M0,-7C3,-2 6,1 6,3A6,5 0 0 1 -6,3C-6,1 -3,-2 0,-7Z",  # drop
    "heating": "M0,-7L7,6H-7Z",                                     # triangle
    "telecom": "M0,-7L7,0L0,7L-7,0Z",                               # diamond
    "shelter": "M-6,7V-1L0,-7L6,-1V7Z",                             # house
    "emergency": "M-3,-7H3V-3H7V3H3V7H-3V3H-7V-3H-3Z",               # cross
}
_DEFAULT_SYMBOL = "M6,0A6,6 0 1 1 -6,0A6,6 0 1 1 6,0Z"
_NS = "http://www.w3.org/2000/svg"


def _f(v: float) -> str:
    return f"{v:.1f}"


def nice_ticks(vmax: float, n: int = 4) -> list[float]:
    """About ``n`` round tick values from 0 to at least ``vmax``.

    >>> nice_ticks(7.3)
    [0.0, 2.0, 4.0, 6.0, 8.0]
    >>> nice_ticks(0.0)
    [0.0, 1.0]
    """
    if not (vmax > 0) or not math.isfinite(vmax):
        return [0.0, 1.0]
    raw = vmax / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    k = math.ceil(vmax / step - 1e-9)
    return [round(float(i * step), 10) for i in range(k + 1)]


def _ring_slots(ring: int) -> list[tuple[int, int]]:
    """Lattice cells at Chebyshev distance ``ring`` from the centre, in angle order (ring 0: the centre)."""
    if ring == 0:
        return [(0, 0)]
    cells = [(i, j) for i in range(-ring, ring + 1) for j in range(-ring, ring + 1) if max(abs(i), abs(j)) == ring]
    return sorted(cells, key=lambda c: (math.atan2(c[1], c[0]), c))


def _place_cluster(x: np.ndarray, y: np.ndarray, members: list[int], step: float,
                   px: np.ndarray, py: np.ndarray) -> None:
    """Members of one cluster on a square lattice of pitch ``step`` around their mean position: the member nearest
    the centre in the middle, the others ring by ring, in the angle order of their true positions."""
    cx, cy = float(np.mean(x[members])), float(np.mean(y[members]))
    order = sorted(members, key=lambda i: (math.hypot(x[i] - cx, y[i] - cy), i))
    ring, left = 0, order
    while left:
        cells = _ring_slots(ring)
        take, left = left[:len(cells)], left[len(cells):]
        if len(take) < len(cells):  # a partial outer ring: its cells spread evenly around
            cells = [cells[round(k * len(cells) / len(take))] for k in range(len(take))]
        ang = sorted(take, key=lambda i: (math.atan2(y[i] - cy, x[i] - cx), i))
        for i, (a, b) in zip(ang, cells):
            px[i], py[i] = cx + a * step, cy + b * step
        ring += 1


def spread_markers(x: np.ndarray, y: np.ndarray, *, min_dist: float = 16.0) -> tuple[np.ndarray, np.ndarray]:
    """Marker positions decluttered, deterministically (pure; the input is kept).

    Markers closer than ``min_dist`` (in both x and y) form clusters; each cluster is laid out on a square
    lattice of pitch ``min_dist`` around its mean position (:func:`_place_cluster`); clusters that then come too
    close merge and are laid out again. Afterwards no two markers are closer than ``min_dist`` in both x and y,
    so square markers up to ``min_dist`` across never overlap. A lone marker stays where it is; the map draws a
    leader line from each moved marker to its true position.

    >>> px, py = spread_markers(np.array([0.0, 0.0, 0.0, 50.0]), np.array([0.0, 0.0, 0.0, 0.0]), min_dist=10.0)
    >>> px.round(1).tolist(), py.round(1).tolist()
    ([0.0, -10.0, 10.0, 50.0], [0.0, -10.0, 10.0, 0.0])
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    px, py = x.copy(), y.copy()
    n = px.size
    if n < 2:
        return px, py
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def close(ax: np.ndarray, ay: np.ndarray) -> np.ndarray:
        """Pairs closer than ``min_dist`` in both x and y (a k-d tree in the max norm: n log n, not n²)."""
        from scipy.spatial import cKDTree

        return cKDTree(np.column_stack([ax, ay])).query_pairs(min_dist - 1e-9, p=np.inf, output_type="ndarray")

    pairs = close(x, y)
    for _ in range(n):
        for i, j in pairs:
            ri, rj = root(int(i)), root(int(j))
            if ri != rj:
                parent[max(ri, rj)] = min(ri, rj)
        groups: dict[int, list[int]] = {}
        for i in range(n):
            groups.setdefault(root(i), []).append(i)
        px[:], py[:] = x, y
        for members in groups.values():
            if len(members) > 1:
                _place_cluster(x, y, members, min_dist, px, py)
        pairs = close(px, py)
        if not pairs.size:
            break
    return px, py


def map_svg(*, width: float, height: float, bus_x: np.ndarray, bus_y: np.ndarray, bus_ids: Sequence[str],
            bus_labels: Sequence[str], bus_code: Sequence[int], br_f: np.ndarray, br_t: np.ndarray,
            branch_ids: Sequence[str], branch_kind: Sequence[str], branch_code: Sequence[int],
            fac_x: np.ndarray, fac_y: np.ndarray, fac_true_x: np.ndarray, fac_true_y: np.ndarray,
            fac_ids: Sequence[str], fac_kinds: Sequence[str], fac_titles: Sequence[str],
            fac_state: Sequence[str], km_per_unit: float = math.nan,
            focus: tuple[float, float, float, float] | None = None) -> str:
    """The grid map: branches (``line.br``), buses (``circle.bus``) and facility markers (``g.fac``).

    ``focus`` is a box ``(x0, y0, x1, y1)`` (SVG units) the "strike area" button zooms to.
    """
    foc = f' data-focus="{" ".join(_f(v) for v in focus)}"' if focus else ""
    out = [f'<svg id="map" class="map" xmlns="{_NS}" viewBox="0 0 {_f(width)} {_f(height)}" '
           f'role="img" aria-label="grid map"{foc}>',
           f'<rect class="map-bg" x="0" y="0" width="{_f(width)}" height="{_f(height)}"/>', '<g id="zoom">',
           '<g class="branches">']
    for i in range(len(branch_ids)):
        f, t = int(br_f[i]), int(br_t[i])
        out.append(f'<line class="br c{int(branch_code[i])} k-{escape(str(branch_kind[i]))}" data-i="{i}" '
                   f'x1="{_f(bus_x[f])}" y1="{_f(bus_y[f])}" x2="{_f(bus_x[t])}" y2="{_f(bus_y[t])}">'
                   f'<title>{escape(str(branch_ids[i]))}</title></line>')
    out.append('</g><g class="buses">')
    for i in range(len(bus_ids)):
        out.append(f'<circle class="bus c{int(bus_code[i])}" data-i="{i}" cx="{_f(bus_x[i])}" '
                   f'cy="{_f(bus_y[i])}" r="3"><title>{escape(str(bus_labels[i]))}</title></circle>')
    out.append('</g><g class="leaders">')
    for i in range(len(fac_ids)):
        if math.hypot(fac_x[i] - fac_true_x[i], fac_y[i] - fac_true_y[i]) > 2:
            out.append(f'<line class="leader" x1="{_f(fac_true_x[i])}" y1="{_f(fac_true_y[i])}" '
                       f'x2="{_f(fac_x[i])}" y2="{_f(fac_y[i])}"/>')
    out.append('</g><g class="facilities">')
    for i in range(len(fac_ids)):
        kind = str(fac_kinds[i])
        st = str(fac_state[i])
        out.append(f'<g class="fac st-{escape(st)}" data-i="{i}" data-id="{escape(str(fac_ids[i]))}" '
                   f'data-kind="{escape(kind)}" data-state="{escape(st)}" '
                   f'transform="translate({_f(fac_x[i])},{_f(fac_y[i])})">'
                   f'<path d="{FACILITY_SYMBOLS.get(kind, _DEFAULT_SYMBOL)}"/>'
                   f'<title>{escape(str(fac_titles[i]))}</title></g>')
    out.append('</g></g>')
    if math.isfinite(km_per_unit) and km_per_unit > 0:
        out.append(_scale_bar(width, height, km_per_unit))
    out.append('</svg>')
    return "".join(out)


def _scale_bar(width: float, height: float, km_per_unit: float) -> str:
    target_km = km_per_unit * width / 6
    km = nice_ticks(target_km, 1)[1] if target_km > 0 else 1.0
    length = km / km_per_unit
    x0, y0 = width - length - 20, height - 12
    label = f"{km:g} km"
    return (f'<g class="scale" data-km="{km:g}">'
            f'<line x1="{_f(x0)}" y1="{_f(y0)}" x2="{_f(x0 + length)}" y2="{_f(y0)}"/>'
            f'<text x="{_f(x0 + length / 2)}" y="{_f(y0 - 4)}" text-anchor="middle">'
            f'{escape(label)}</text></g>')


def step_chart(series: Sequence[tuple[str, Sequence[float], str]], *, title: str, unit: str = "",
               y_max: float | None = None, width: float = 460.0, height: float = 190.0, percent: bool = False,
               chart_id: str | None = None) -> str:
    """A step chart of hourly values (one step per hour) with axes, legend and an hour cursor.

    Parameters
    ----------
    series
        ``(label, values per hour, css class)`` for each line; NaN values leave a gap.
    title, unit
        Chart title and y-axis unit, for people.
    y_max
        Top of the y axis (default: from the data).
    percent
        Values are fractions drawn as percent.
    """
    ml, mr, mt, mb = 44.0, 10.0, 36.0, 30.0
    hours = max((len(v) for _, v, _ in series), default=0)
    pw, ph = width - ml - mr, height - mt - mb
    scale_v = 100.0 if percent else 1.0
    vals = [np.asarray(v, dtype=float) * scale_v for _, v, _ in series]
    finite = [float(np.nanmax(v)) for v in vals if np.isfinite(v).any()]
    top = y_max * scale_v if y_max is not None else max(finite, default=1.0)
    ticks = nice_ticks(top)
    ymax = ticks[-1]
    dx = pw / max(hours, 1)
    cid = f' id="{escape(chart_id)}"' if chart_id else ""
    out = [f'<svg class="chart"{cid} xmlns="{_NS}" viewBox="0 0 {_f(width)} {_f(height)}" '
           f'data-x0="{_f(ml)}" data-dx="{dx:.4f}">',
           f'<text class="title" x="{_f(ml)}" y="15">{escape(title)}</text>']
    for tv in ticks:
        y = mt + ph - tv / ymax * ph
        out.append(f'<line class="grid" x1="{_f(ml)}" y1="{_f(y)}" x2="{_f(ml + pw)}" y2="{_f(y)}"/>'
                   f'<text class="tick" x="{_f(ml - 4)}" y="{_f(y + 3)}" text-anchor="end">{tv:g}</text>')
    step = max(1, int(nice_ticks(hours, 6)[1])) if hours else 1
    for h in range(0, hours + 1, step):
        x = ml + h * dx
        out.append(f'<line class="grid" x1="{_f(x)}" y1="{_f(mt + ph)}" x2="{_f(x)}" y2="{_f(mt + ph + 4)}"/>'
                   f'<text class="tick" x="{_f(x)}" y="{_f(mt + ph + 15)}" text-anchor="middle">{h}</text>')
    out.append(f'<text class="tick" x="{_f(ml + pw)}" y="{_f(height - 2)}" text-anchor="end">hour</text>')
    if unit:
        out.append(f'<text class="tick" x="4" y="{_f(mt - 6)}">{escape("%" if percent else unit)}</text>')
    lx = ml + 4
    out.append(f'<rect class="cursor" x="{_f(ml)}" y="{_f(mt)}" width="{_f(dx)}" height="{_f(ph)}"/>')
    for (label, _, css), v in zip(series, vals):
        for seg in _segments(v):
            pts = []
            for h in seg:
                y = mt + ph - min(max(v[h], 0.0), ymax) / ymax * ph
                pts.append(f"{_f(ml + h * dx)},{_f(y)}")
                pts.append(f"{_f(ml + (h + 1) * dx)},{_f(y)}")
            out.append(f'<polyline class="line {escape(css)}" points="{" ".join(pts)}"/>')
        out.append(f'<text class="legend {escape(css)}" x="{_f(lx)}" y="{_f(mt - 6)}">{escape(label)}</text>')
        lx += 7 * len(label) + 14
    out.append(f'<line class="axis" x1="{_f(ml)}" y1="{_f(mt + ph)}" x2="{_f(ml + pw)}" y2="{_f(mt + ph)}"/>'
               f'<line class="axis" x1="{_f(ml)}" y1="{_f(mt)}" x2="{_f(ml)}" y2="{_f(mt + ph)}"/></svg>')
    return "".join(out)


def _segments(v: np.ndarray) -> list[list[int]]:
    segs: list[list[int]] = []
    cur: list[int] = []
    for h, x in enumerate(v):
        if np.isfinite(x):
            cur.append(h)
        elif cur:
            segs.append(cur)
            cur = []
    if cur:
        segs.append(cur)
    return segs


def state_strips(labels: Sequence[str], states: Sequence[str], *, width: float = 980.0, row: float = 16.0,
                 label_w: float = 300.0) -> str:
    """One row per facility, coloured by state per hour (``states[i]`` holds one letter per hour: g/b/d)."""
    hours = max((len(s) for s in states), default=0)
    pw = width - label_w - 10
    dx = pw / max(hours, 1)
    height = row * len(labels) + 26
    out = [f'<svg class="chart strips" xmlns="{_NS}" viewBox="0 0 {_f(width)} {_f(height)}" '
           f'data-x0="{_f(label_w)}" data-dx="{dx:.4f}">']
    for i, (lab, st) in enumerate(zip(labels, states)):
        y = i * row
        out.append(f'<text class="rowlabel" x="{_f(label_w - 6)}" y="{_f(y + row * 0.72)}" '
                   f'text-anchor="end">{escape(str(lab))}</text>')
        h = 0
        while h < len(st):
            k = h
            while k < len(st) and st[k] == st[h]:
                k += 1
            out.append(f'<rect class="run st-{escape(st[h])}" x="{_f(label_w + h * dx)}" y="{_f(y + 2)}" '
                       f'width="{_f((k - h) * dx)}" height="{_f(row - 4)}"/>')
            h = k
    base = row * len(labels)
    step = max(1, int(nice_ticks(hours, 8)[1])) if hours else 1
    for h in range(0, hours + 1, step):
        x = label_w + h * dx
        out.append(f'<text class="tick" x="{_f(x)}" y="{_f(base + 14)}" text-anchor="middle">{h}</text>')
    out.append(f'<rect class="cursor" x="{_f(label_w)}" y="0" width="{_f(dx)}" height="{_f(base)}"/></svg>')
    return "".join(out)
