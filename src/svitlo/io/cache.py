"""On-disk cache of imported grids, so repeated commands skip the importers (pandapower's loader above all).

An entry is keyed on the source's content (the file's bytes; for a bundled pandapower case its name and
pandapower's version), the import options, svitlo's version and the source of svitlo's importers, so any
change to one of them misses. Entries live in the user's cache folder (``$SVITLO_CACHE_DIR``, else
``$XDG_CACHE_HOME/svitlo``, ``~/.cache/svitlo``, ``~/Library/Caches/svitlo`` on macOS,
``%LOCALAPPDATA%\\svitlo\\Cache`` on Windows); deleting the folder, or any file in it, is always safe.
``SVITLO_CACHE=0`` turns the cache off. :func:`svitlo.io.cases.load_grid` uses it with ``cache=True`` (as
``prepare``, and so ``assess``, ``simulate`` and ``sweep``, do). A grid read from the cache has no
``source_net`` (the pandapower net is not stored); ``assess`` re-imports the source when its AC check needs it.

Examples
--------
>>> import os, tempfile, svitlo
>>> os.environ["SVITLO_CACHE_DIR"] = tempfile.mkdtemp()
>>> g1 = svitlo.load_grid("case9", cache=True)          # imported, then stored
>>> g2 = svitlo.load_grid("case9", cache=True)          # read back
>>> g2.source_net is None, g1.branches.equals(g2.branches), len(cache_entries())
(True, True, 1)
>>> clear_cache()
1
>>> del os.environ["SVITLO_CACHE_DIR"]
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

from svitlo.model.grid import Grid

__all__ = ["cache_dir", "cache_entries", "cache_enabled", "cached_grid", "clear_cache", "source_key"]

#: Bump when the stored layout changes.
CACHE_FORMAT = 1

_IMPORTERS = ("io/pandapower_net.py", "io/matpower.py", "io/cache.py", "model/grid.py", "model/schema.py")


def cache_enabled() -> bool:
    """False when ``SVITLO_CACHE`` is ``0``, ``false`` or ``no``."""
    return os.environ.get("SVITLO_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


def cache_dir() -> Path:
    """The folder of the grid cache (not created here)."""
    env = os.environ.get("SVITLO_CACHE_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "svitlo" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "svitlo"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "svitlo"


def _code_digest() -> str:
    from svitlo._version import __version__

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256(f"{__version__}/{CACHE_FORMAT}".encode())
    for rel in _IMPORTERS:
        try:
            h.update((root / rel).read_bytes())
        except OSError:
            h.update(rel.encode())
    return h.hexdigest()


def source_key(kind: str, *, path: str | os.PathLike | None = None, name: str | None = None,
               options: dict | None = None) -> str:
    """Cache key of a source: ``kind`` plus the file's bytes (``path``) or a name with the version of the
    package that defines it, the import ``options``, svitlo's version and its importers' source."""
    h = hashlib.sha256(_code_digest().encode())
    h.update(kind.encode())
    if path is not None:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    if name is not None:
        h.update(name.encode())
    h.update(repr(sorted((options or {}).items())).encode())
    return h.hexdigest()[:32]


def _read(file: Path) -> Grid | None:
    try:
        with open(file, "rb") as fh:
            d = pickle.load(fh)
        if d.get("format") != CACHE_FORMAT:
            return None
        return Grid(name=d["name"], base_mva=d["base_mva"], buses=d["buses"], branches=d["branches"],
                    generators=d["generators"], loads=d["loads"], aliases=MappingProxyType(dict(d["aliases"])),
                    source_net=None)
    except Exception:  # a truncated or foreign file: rebuild it
        try:
            file.unlink()
        except OSError:
            pass
        return None


def _write(file: Path, g: Grid) -> None:
    d = {"format": CACHE_FORMAT, "name": g.name, "base_mva": g.base_mva, "buses": g.buses, "branches": g.branches,
         "generators": g.generators, "loads": g.loads, "aliases": dict(g.aliases)}
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=".tmp-", suffix=".pkl")
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(d, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, file)
    except OSError:  # a read-only or full cache folder only costs speed
        try:
            os.unlink(tmp)
        except (OSError, UnboundLocalError):
            pass


def cached_grid(key: str, build: Callable[[], Grid]) -> Grid:
    """The grid stored under ``key``, or ``build()`` stored there (when the cache is on)."""
    if not cache_enabled():
        return build()
    file = cache_dir() / f"grid-{key}.pkl"
    if file.is_file():
        g = _read(file)
        if g is not None:
            return g
    g = build()
    _write(file, g)
    return g


def cache_entries() -> list[Path]:
    """The cache's grid files."""
    d = cache_dir()
    return sorted(d.glob("grid-*.pkl")) if d.is_dir() else []


def clear_cache() -> int:
    """Delete every cached grid; returns how many files were removed."""
    n = 0
    for f in cache_entries():
        try:
            f.unlink()
            n += 1
        except OSError:
            pass
    return n
