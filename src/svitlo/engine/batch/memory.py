"""Memory plan of the batched engine: dense inverse or sparse factors, decided before any work.

The dense path keeps ``Z = B^{-1}`` (``n_bus^2`` numbers); the sparse path (:mod:`svitlo.engine.batch.sparse`)
keeps the sparse LU factors and a few vectors per bus. ``"auto"`` takes the dense path when its inverse fits in
half of the memory available, the sparse path otherwise, and raises :class:`~svitlo.errors.ResourceError`
when even the sparse estimate does not fit.

Examples
--------
>>> import svitlo
>>> from svitlo.model.compiled import compile_grid
>>> cg = compile_grid(svitlo.load_grid("case14"))
>>> plan_path(cg, memory_bytes=10**9)
'dense'
>>> plan_path(cg, memory_bytes=60_000)
'sparse'
>>> plan_path(cg, memory_bytes=1000)
Traceback (most recent call last):
...
svitlo.errors.ResourceError: grid of 14 buses: the batched engine needs about 0.04 MiB even on its sparse path; 0.00 MiB available
"""

from __future__ import annotations

import os
from typing import Literal

import numpy as np

from svitlo.errors import InputError, ResourceError
from svitlo.model.compiled import CompiledGrid

__all__ = ["Path", "available_memory_bytes", "dense_bytes", "plan_path", "sparse_bytes"]

Path = Literal["auto", "dense", "sparse"]

#: Share of the available memory the dense inverse may take on the ``"auto"`` path.
DENSE_SHARE = 0.5


def available_memory_bytes() -> int:
    """Memory available to this process (bytes): ``MemAvailable``, capped by a cgroup limit when set."""
    avail = None
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:
        pass
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = 8 * 2**30
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as fh:
                raw = fh.read().strip()
            if raw.isdigit():
                avail = min(avail, int(raw))
        except OSError:
            continue
    return int(avail)


def dense_bytes(cg: CompiledGrid, *, dtype: type = np.float64) -> int:
    """Bytes of the dense path's inverse ``n_bus x n_bus`` in ``dtype``."""
    return int(cg.n_bus) ** 2 * np.dtype(dtype).itemsize


def sparse_bytes(cg: CompiledGrid, *, threads: int = 1) -> int:
    """A generous estimate of the sparse path's memory (bytes): factors with 8x fill of the susceptance
    matrix, per-bus feature images and per-thread scratch."""
    nnz = cg.n_bus + 2 * int(np.count_nonzero(cg.br_in_service))
    per_thread = 1100 * cg.n_bus + 64 * cg.n_branch
    return int(8 * nnz * 2 * 24 + 400 * cg.n_bus + 200 * cg.n_branch + threads * per_thread)


def plan_path(cg: CompiledGrid, *, path: Path = "auto", dtype: type = np.float64,
              memory_bytes: int | None = None, threads: int = 1) -> Literal["dense", "sparse"]:
    """The path the batched engine takes on ``cg`` (no work done).

    Parameters
    ----------
    path
        ``"auto"`` (by size), or force ``"dense"`` / ``"sparse"``.
    memory_bytes
        Memory available (default :func:`available_memory_bytes`).
    threads
        Worker threads (each holds its own scratch).
    """
    if path not in ("auto", "dense", "sparse"):
        raise InputError("unknown path; expected 'auto', 'dense' or 'sparse'", source="evaluate_batch",
                         field="path", value=path)
    avail = available_memory_bytes() if memory_bytes is None else int(memory_bytes)
    need = sparse_bytes(cg, threads=threads)
    if path == "dense" or (path == "auto" and dense_bytes(cg, dtype=dtype) + need <= DENSE_SHARE * avail):
        return "dense"
    if need > avail:
        raise ResourceError(f"grid of {cg.n_bus} buses: the batched engine needs about {need / 2**20:,.2f} MiB "
                            f"even on its sparse path; {avail / 2**20:,.2f} MiB available")
    return "sparse"
