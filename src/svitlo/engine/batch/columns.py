"""Per-branch forward solves of the sparse path, computed once per branch and kept with the factor.

On the sparse path (:mod:`svitlo.engine.batch.sparse`) a scenario whose removed branches ``R`` leave the grid
connected needs ``Y_k = L^{-1} Pr a_k`` for every ``k`` in ``R``: a sparse triangular solve that reaches a few
hundred entries of the factor (most of them in its dense last rows). Solved inside the kernel, these were the
largest part of a scenario on case_ACTIVSg70k. A sweep removes the same branches again and again, so each
branch's ``Y_k`` is solved once, before the batch that first removes it, on every core, and kept
(:class:`BranchSolves`; about 400 MB for all 88,207 branches of case_ACTIVSg70k, bounded by
:data:`SOLVES_BYTES` and a quarter of the memory available when the store is made). A branch missing from the store is solved in the kernel as before, so the store only
changes the speed, never the result.

Examples
--------
>>> import numpy as np, svitlo
>>> from svitlo.engine.batch.factor import factorise
>>> cg = svitlo.compile_grid(svitlo.load_grid("case30"))
>>> fac = factorise(cg, path="sparse")
>>> store = branch_solves_for(cg, fac)
>>> store.ensure(fac, np.array([0, 1, 1, 5]))
>>> int(np.count_nonzero(store.ptr >= 0))
3
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from svitlo.model.compiled import CompiledGrid

__all__ = ["SOLVES_BYTES", "BranchSolves", "branch_solves_for", "empty_solves", "removed_branches"]

#: Most memory the kept forward solves of one factor may take (bytes); beyond, branches are solved per use.
SOLVES_BYTES = 1024 * 2**20


class BranchSolves:
    """The forward solves ``Y_l`` kept for one sparse factor: ``ptr[l]`` (-1 when not solved yet) and
    ``length[l]`` locate branch ``l``'s positions and values in ``idx`` and ``val``."""

    def __init__(self, cg: CompiledGrid, fac) -> None:
        self._f = cg.br_f.astype(np.int64)
        self._t = cg.br_t.astype(np.int64)
        self._alive = np.asarray(fac.br_alive0, dtype=bool)
        self.ptr = np.full(cg.n_branch, -1, dtype=np.int64)
        self.length = np.zeros(cg.n_branch, dtype=np.int64)
        self._idx = np.zeros(0, dtype=np.int64)  # capacity grows by doubling; the first ``size`` are used
        self._val = np.zeros(0)
        self.size = 0
        self.full = False
        from svitlo.engine.batch.memory import available_memory_bytes

        self.budget = min(SOLVES_BYTES, available_memory_bytes() // 4)
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return int(self._idx.nbytes + self._val.nbytes + self.ptr.nbytes + self.length.nbytes)

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(ptr, length, idx, val)`` as the kernel reads them."""
        return self.ptr, self.length, self._idx[: self.size], self._val[: self.size]

    def ensure(self, fac, branches: np.ndarray, *, threads: int | None = None) -> None:
        """Solve (with the factor ``fac``) and keep the branches of ``branches`` not kept yet (in service ones;
        duplicates allowed)."""
        import numba

        from svitlo.engine.batch.sparse_solve import branch_sizes, branch_solves

        b = np.unique(np.asarray(branches, dtype=np.int64))
        with self._lock:
            b = b[self._alive[b] & (self.ptr[b] < 0)] if b.size else b
            if b.size == 0 or self.full:
                return
            room = branch_sizes(fac.sparse, self._f, self._t, b)
            end = self.size + int(room.sum())
            if 16 * end > self.budget:
                self.full = True  # the rest is solved per use in the kernel
                return
            if end > self._idx.size:  # room for every in-service branch at this batch's mean size (pages are
                # taken from the system as they are written), doubling when that estimate was short
                guess = int(1.25 * int(self._alive.sum()) * max(1.0, float(room.mean())))
                cap = min(max(end, 2 * self._idx.size, guess), self.budget // 16)
                idx, val = np.empty(cap, np.int64), np.empty(cap)  # untouched pages cost nothing yet
                idx[: self.size] = self._idx[: self.size]
                val[: self.size] = self._val[: self.size]
                self._idx, self._val = idx, val
            starts = self.size + np.concatenate([[0], np.cumsum(room)[:-1]]).astype(np.int64)
            lens = np.zeros(b.size, dtype=np.int64)
            n_threads = max(1, int(threads if threads is not None else numba.get_num_threads()))
            parts = [p for p in np.array_split(np.arange(b.size), min(n_threads, b.size)) if p.size]

            def run(p: np.ndarray) -> None:  # each part writes its own slots (branch_solves releases the GIL)
                out = np.zeros(p.size, dtype=np.int64)
                branch_solves(fac.sparse, self._f, self._t, b[p], starts[p], room[p], self._idx, self._val, out)
                lens[p] = out

            if len(parts) == 1:
                run(parts[0])
            else:
                with ThreadPoolExecutor(len(parts)) as ex:
                    list(ex.map(run, parts))
            ok = lens >= 0  # a solve that needed more room than its paths (a factor not closed) is not kept
            self.ptr[b[ok]] = starts[ok]
            self.length[b[ok]] = lens[ok]
            self.size = end

def branch_solves_for(cg: CompiledGrid, fac) -> BranchSolves:
    """The store of ``fac`` (a sparse factor of ``cg``), created on first use and kept with the factor."""
    from svitlo.engine.batch.factor import _CACHE

    per = _CACHE.setdefault(cg, {})
    key = (cg.fingerprint, "branch_solves")  # the sparse factor depends on the grid alone
    if key not in per:
        per[key] = BranchSolves(cg, fac)
    return per[key]


def empty_solves(n_branch: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Placeholder arrays of the kernel's types (the dense path, or no store)."""
    return (np.full(max(n_branch, 1), -1, dtype=np.int64), np.zeros(max(n_branch, 1), dtype=np.int64),
            np.zeros(0, dtype=np.int64), np.zeros(0))


def removed_branches(outages, adj_ptr: np.ndarray, adj_br: np.ndarray) -> np.ndarray:
    """Every branch a batch removes: the struck branches and those of the destroyed buses (with repeats)."""
    bus = np.asarray(outages.bus_idx, dtype=np.int64)
    if bus.size == 0:
        return np.asarray(outages.branch_idx, dtype=np.int64)
    starts, ends = adj_ptr[bus], adj_ptr[bus + 1]
    cnt = ends - starts
    rep = np.repeat(starts - np.concatenate([[0], np.cumsum(cnt)[:-1]]), cnt)
    adj = adj_br[np.arange(int(cnt.sum())) + rep]
    return np.concatenate([np.asarray(outages.branch_idx, dtype=np.int64), adj])
