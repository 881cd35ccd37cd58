"""Bundled cases and one loader for every grid source.

``load_grid`` accepts a bundled pandapower case name (``"case118"``, ``"mv_oberrhein"``), a MATPOWER case
shipped by the ``matpower`` package (``{"matpower": "case118"}``), a file (``.m`` MATPOWER, ``.json``
pandapower), a PyPSA network file or CSV folder (``{"pypsa": PATH}``, :mod:`svitlo.io.pypsa`), a pandapower
net or ``pypsa.Network`` object, or a :class:`~svitlo.model.grid.Grid` (returned as is).

Examples
--------
>>> load_grid("case9").summary()["buses"]
9
>>> load_grid("case_nope")
Traceback (most recent call last):
...
svitlo.errors.GridError: grid = 'case_nope': unknown case; run `svitlo cases` for the list, or give {file: PATH}
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from svitlo.errors import GridError
from svitlo.io.pandapower_net import DEFAULT_PEOPLE_PER_MW, check_json_references, from_pandapower
from svitlo.model.grid import Grid

__all__ = ["CASES", "GEOGRAPHIC_CASES", "load_grid", "read_pandapower_json"]

#: pandapower's bundled networks: name -> (buses, branches, generators, loads) of the pandapower net.
CASES: dict[str, tuple[int, int, int, int]] = {
    "case4gs": (4, 4, 2, 4), "case5": (5, 6, 5, 3), "case6ww": (6, 11, 3, 3), "case9": (9, 9, 3, 3),
    "case14": (14, 20, 5, 11), "case24_ieee_rts": (24, 38, 33, 17), "case30": (30, 41, 6, 20),
    "case_ieee30": (30, 41, 6, 21), "case33bw": (33, 37, 1, 32), "case39": (39, 46, 10, 21),
    "case57": (57, 80, 7, 42), "case89pegase": (89, 210, 18, 29), "case118": (118, 186, 54, 99),
    "case145": (145, 453, 59, 55), "case_illinois200": (200, 245, 49, 108), "case300": (300, 411, 77, 193),
    "case1354pegase": (1354, 1991, 312, 621), "case1888rte": (1888, 2531, 354, 943),
    "case2848rte": (2848, 3776, 670, 1388), "case2869pegase": (2869, 4582, 690, 1311),
    "case3120sp": (3120, 3693, 505, 2314), "case6470rte": (6470, 9005, 1578, 3422),
    "case6495rte": (6495, 9019, 1650, 3380), "case6515rte": (6515, 9037, 1651, 3410),
    "case9241pegase": (9241, 16049, 1879, 4461), "GBnetwork": (2224, 3207, 431, 446),
    "GBreducednetwork": (29, 99, 66, 29), "iceland": (189, 206, 35, 51), "mv_oberrhein": (179, 183, 155, 147),
}


#: Bundled cases whose bus coordinates are real WGS84 positions; the others carry plotting positions only, so
#: their buses get no lat/lon (geographic strikes and facility snapping then refuse them clearly).
GEOGRAPHIC_CASES = frozenset({"mv_oberrhein"})


def read_pandapower_json(path: str | os.PathLike, *, name: str | None = None,
                         people_per_mw: float = DEFAULT_PEOPLE_PER_MW) -> Grid:
    """Read a pandapower JSON file into a :class:`Grid`."""
    import pandapower as pp

    from svitlo.io.text import load_json, read_text

    p = Path(path)
    text = read_text(p, error=GridError)  # exists, UTF-8, not oversized
    doc = load_json(text, source=str(p), error=GridError, max_depth=256)  # well-formed, not absurdly deep
    check_json_references(doc, str(p))  # before pandapower's reader narrows oversized references
    try:
        net = pp.from_json_string(text)
    except Exception as exc:  # pandapower raises many kinds on a bad file
        raise GridError(f"not a readable pandapower JSON file: {exc}", source=str(p)) from None
    return from_pandapower(net, name=name or p.stem, source=str(p), people_per_mw=people_per_mw)


def _cached(on: bool, kind: str, build, *, path=None, name=None, options=None) -> Grid:
    from svitlo.io.cache import cache_enabled, cached_grid, source_key

    if not on or not cache_enabled():
        return build()
    return cached_grid(source_key(kind, path=path, name=name, options=options), build)


def load_grid(spec: Any, *, base_dir: str | os.PathLike | None = None,
              people_per_mw: float = DEFAULT_PEOPLE_PER_MW, cache: bool = False) -> Grid:
    """Load a grid from a case name, ``{"file": PATH}``, ``{"matpower": NAME}``, a path, a net or a Grid.

    With ``cache=True`` (as ``assess``, ``simulate`` and ``sweep`` do) case names and files are read through the
    on-disk grid cache (:mod:`svitlo.io.cache`); a grid read from the cache carries no ``source_net``.
    """
    if isinstance(spec, Grid):
        return spec
    if hasattr(spec, "model_dump"):
        spec = spec.model_dump()
    if isinstance(spec, Path):
        spec = {"file": str(spec)}
    if hasattr(spec, "bus") and hasattr(spec, "line"):  # a pandapower net (a dict subclass)
        return from_pandapower(spec, people_per_mw=people_per_mw)
    if hasattr(spec, "buses") and hasattr(spec, "lines") and hasattr(spec, "lpf"):  # a pypsa.Network
        from svitlo.io.pypsa import from_pypsa

        return from_pypsa(spec, people_per_mw=people_per_mw)
    if isinstance(spec, dict):
        if "matpower" in spec:
            from svitlo.io.matpower import matpower_case_path, read_matpower

            mp = matpower_case_path(str(spec["matpower"]))
            return _cached(cache, "matpower", lambda: read_matpower(mp, people_per_mw=people_per_mw), path=mp,
                           options={"people_per_mw": people_per_mw, "file": mp.name})
        if "pypsa" in spec:  # a PyPSA netCDF/HDF5 file or CSV folder
            from svitlo.io.pypsa import read_pypsa

            pp_path = Path(spec["pypsa"])
            if base_dir is not None and not pp_path.is_absolute():
                pp_path = Path(base_dir) / pp_path
            return _cached(cache and pp_path.is_file(), "pypsa",
                           lambda: read_pypsa(pp_path, people_per_mw=people_per_mw), path=pp_path,
                           options={"people_per_mw": people_per_mw, "file": str(pp_path.resolve())})
        if "file" in spec:
            path = Path(spec["file"])
            if base_dir is not None and not path.is_absolute():
                path = Path(base_dir) / path
            fmt = spec.get("format", "auto")
            if fmt == "auto":
                fmt = {".m": "matpower", ".json": "pandapower"}.get(path.suffix.lower(), "")
            opts = {"people_per_mw": people_per_mw, "file": str(path.resolve())}
            if fmt == "matpower":
                from svitlo.io.matpower import read_matpower

                return _cached(cache and path.is_file(), "matpower",
                               lambda: read_matpower(path, people_per_mw=people_per_mw), path=path, options=opts)
            if fmt == "pandapower":
                return _cached(cache and path.is_file(), "pandapower-json",
                               lambda: read_pandapower_json(path, people_per_mw=people_per_mw), path=path,
                               options=opts)
            raise GridError("cannot tell the file format; expected a .m (MATPOWER) or .json (pandapower) file, "
                            "or give format: matpower|pandapower", source=str(path), field="grid.file")
        raise GridError("expected a case name, {file: PATH}, {matpower: NAME} or {pypsa: PATH}", field="grid",
                        value=spec)
    if isinstance(spec, str):
        if spec in CASES:
            from importlib.metadata import version

            def build() -> Grid:
                import pandapower.networks as pn

                return from_pandapower(getattr(pn, spec)(), name=spec, source=f"pandapower.networks.{spec}",
                                       people_per_mw=people_per_mw, geographic=spec in GEOGRAPHIC_CASES)

            return _cached(cache, "pandapower-case", build, name=f"{spec}@{version('pandapower')}",
                           options={"people_per_mw": people_per_mw})
        if spec.endswith((".m", ".json")):
            return load_grid({"file": spec}, base_dir=base_dir, people_per_mw=people_per_mw)
        raise GridError("unknown case; run `svitlo cases` for the list, or give {file: PATH}", field="grid",
                        value=spec)
    raise GridError("cannot load a grid from this object", field="grid", value=type(spec).__name__)
