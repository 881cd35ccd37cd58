"""Drop stale numba disk caches of the batched engine before anything is compiled or loaded.

numba's on-disk cache (``cache=True``) is keyed on the timestamp of the file that defines each compiled
function, not on the functions it calls from other files, nor on module constants it freezes at compile time.
A checkout that changes only a rule module (say ``viability_rule.py``) would otherwise keep running the old
compiled kernel, silently. This guard hashes the sources the kernels compile from, and when the hash differs
from the one stamped beside the cache, deletes the package's ``*.nbi`` / ``*.nbc`` files (numba then compiles
afresh and writes new ones). Best effort: a read-only install or a concurrent process never raises here.

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> src = d / "rule.py"; _ = src.write_text("x = 1")
>>> cache = d / "__pycache__"; cache.mkdir(); _ = (cache / "k.nbi").write_text("old")
>>> drop_stale(cache, [src]), (cache / "k.nbi").exists()
(True, False)
>>> _ = (cache / "k.nbi").write_text("new"); drop_stale(cache, [src]), (cache / "k.nbi").exists()
(False, True)
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["drop_stale", "guard_batch_cache", "kernel_sources"]

STAMP = "svitlo-kernel-sources.sha256"


def kernel_sources() -> list[Path]:
    """The files the batched kernels compile from: this package, the scalar frequency model, output constants."""
    here = Path(__file__).resolve().parent
    root = here.parent.parent
    return sorted(here.glob("*.py")) + [root / "engine" / "frequency.py", root / "model" / "outputs.py"]


def drop_stale(cache_dir: Path, sources: Iterable[Path]) -> bool:
    """Delete ``cache_dir``'s numba cache files when ``sources`` changed since the last stamp; True if dropped."""
    h = hashlib.sha256()
    for p in sources:
        try:
            h.update(p.name.encode() + b"\0" + p.read_bytes())
        except OSError:
            continue
    digest = h.hexdigest()
    stamp = cache_dir / STAMP
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    dropped = False
    try:
        for f in list(cache_dir.glob("*.nbi")) + list(cache_dir.glob("*.nbc")):
            try:
                f.unlink()
                dropped = True
            except OSError:
                pass
        cache_dir.mkdir(exist_ok=True)
        tmp = cache_dir / f"{STAMP}.{os.getpid()}.tmp"
        tmp.write_text(digest)
        os.replace(tmp, stamp)
    except OSError:
        pass
    return dropped


def guard_batch_cache() -> None:
    """Run :func:`drop_stale` on this package's ``__pycache__`` (called once, when the package is imported)."""
    drop_stale(Path(__file__).resolve().parent / "__pycache__", kernel_sources())
