"""The result store of a sweep: a folder of Parquet part files, one per chunk, plus a manifest.

Layout of a run folder::

    manifest.json          run id, scenario, n, root seed, chunk size, engine version, completeness
    parts/part-0000000.parquet   rows of chunk 0 (scenarios 0 … chunk_size - 1), one row per scenario
    parts/part-0000001.parquet   …
    facility_table.parquet  the scenario's facilities (when it has some)
    assets.parquet, facilities.parquet, risk_curve.parquet, metrics.parquet, summary.json   aggregates

A part is written under a temporary name and moved into place with :func:`os.replace`, so a part file either
exists complete or not at all: a sweep killed at any moment resumes by recomputing only the missing chunks.
A folder holds one run; a sweep with another run id is refused with :class:`~svitlo.errors.StoreError`.
One process writes a run at a time (an advisory lock on ``.lock``).

Examples
--------
>>> import tempfile, svitlo
>>> from svitlo.analyses.sweep.plan import make_plan
>>> from svitlo.model.compiled import compile_grid
>>> sc = svitlo.parse_scenario({"grid": "case9", "strikes": [{"random": {"k": 1}}]})
>>> plan = make_plan(sc, compile_grid(svitlo.load_grid("case9")), n=5, chunk_size=2)
>>> d = tempfile.mkdtemp()
>>> with RunStore.prepare(d, plan) as st:
...     sorted(st.done_chunks()), st.n_chunks
([], 3)
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from pathlib import Path
from typing import Any

from svitlo.analyses.sweep.plan import STORE_FORMAT, SweepPlan
from svitlo.errors import StoreError

__all__ = ["RunStore", "read_manifest", "PARTS_DIR", "MANIFEST"]

MANIFEST = "manifest.json"
PARTS_DIR = "parts"
_PART_RE = re.compile(r"^part-(\d{7})\.parquet$")
_OURS = {MANIFEST, PARTS_DIR, ".lock", "assets.parquet", "risk_curve.parquet", "metrics.parquet",
         "facilities.parquet", "facility_table.parquet", "summary.json"}


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_manifest(path: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a run folder (``StoreError`` if the folder is not a sweep run)."""
    p = Path(path) / MANIFEST
    if not p.is_file():
        raise StoreError(f"{path}: not a sweep run folder (no {MANIFEST})")
    try:
        m = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StoreError(f"{p}: unreadable manifest: {exc}") from None
    if not isinstance(m, dict) or m.get("format") != STORE_FORMAT:
        raise StoreError(f"{p}: field 'format' = {m.get('format') if isinstance(m, dict) else m!r}: "
                         f"expected {STORE_FORMAT!r}")
    for key in ("run_id", "n", "chunk_size", "n_chunks", "root_seed"):
        if key not in m:
            raise StoreError(f"{p}: field {key!r} missing")
    return m


class RunStore:
    """A run folder opened for writing by one sweep (use :meth:`prepare`, as a context manager).

    Attributes
    ----------
    path
        The run folder.
    manifest
        The run's manifest (dict).
    """

    def __init__(self, path: Path, manifest: dict[str, Any], lock_fh: Any) -> None:
        self.path = path
        self.manifest = manifest
        self._lock_fh = lock_fh

    # ------------------------------------------------------------------ opening
    @classmethod
    def prepare(cls, path: str | os.PathLike, plan: SweepPlan, *, info: dict[str, Any] | None = None,
                chunk_size_given: bool = True) -> "RunStore":
        """Create a run folder for ``plan`` or reopen the same run to resume it.

        Parameters
        ----------
        plan
            The sweep plan; its ``run_id`` must match an existing manifest.
        info
            Extra, informational manifest fields (scenario and grid names, engine used).
        chunk_size_given
            Whether the caller chose ``plan.chunk_size``; if not, a resumed run keeps its stored chunk size.
        """
        d = Path(path)
        if d.exists() and not d.is_dir():
            raise StoreError(f"{d}: exists and is not a folder")
        d.mkdir(parents=True, exist_ok=True)
        man_path = d / MANIFEST
        if not man_path.exists():
            cls._check_empty(d)  # before creating anything in a folder that may be someone else's
        lock_fh = cls._lock(d)
        try:
            if man_path.exists():
                man = read_manifest(d)
                cls._check_same_run(d, man, plan)
                if chunk_size_given and int(man["chunk_size"]) != plan.chunk_size:
                    raise StoreError(f"{d}: field 'chunk_size' = {plan.chunk_size}: this run was started with "
                                     f"chunk size {man['chunk_size']}; resume with the same (or no) chunk size")
            else:
                cls._check_empty(d)
                man = {"format": STORE_FORMAT, "run_id": plan.run_id, "n": plan.n, "root_seed": plan.root_seed,
                       "chunk_size": plan.chunk_size, "n_chunks": len(plan.chunks),
                       "engine_version": plan.engine_version, "grid_fingerprint": plan.grid_fingerprint,
                       "scenario": json.loads(plan.scenario_json), "created_unix": time.time(),
                       "complete": False, **(info or {})}
                _atomic_write_bytes(man_path, json.dumps(man, indent=2).encode())
            (d / PARTS_DIR).mkdir(exist_ok=True)
            for tmp in list(d.glob(".tmp-*")) + list((d / PARTS_DIR).glob(".tmp-*")):
                tmp.unlink(missing_ok=True)  # left by a killed writer; we hold the lock
        except BaseException:
            lock_fh.close()
            raise
        return cls(d, man, lock_fh)

    @staticmethod
    def _check_empty(d: Path) -> None:
        stray = sorted(p.name for p in d.iterdir() if p.name not in _OURS and not p.name.startswith(".tmp-"))
        if stray or any((d / PARTS_DIR).glob("part-*.parquet")):
            raise StoreError(f"{d}: folder is not empty and holds no sweep manifest "
                             f"(found {stray[:5] or 'part files'}); choose an empty or new folder")

    @staticmethod
    def _lock(d: Path) -> Any:
        fh = open(d / ".lock", "a+")
        try:
            import fcntl
        except ImportError:  # pragma: no cover - non-POSIX: no advisory locking
            return fh
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise StoreError(f"{d}: another sweep is writing this run folder (locked)") from None
        return fh

    @staticmethod
    def _check_same_run(d: Path, man: dict[str, Any], plan: SweepPlan) -> None:
        if man["run_id"] == plan.run_id:
            return
        diffs = []
        if int(man["n"]) != plan.n:
            diffs.append(f"n: stored {man['n']}, asked {plan.n}")
        if int(man["root_seed"]) != plan.root_seed:
            diffs.append(f"root seed: stored {man['root_seed']}, asked {plan.root_seed}")
        if man.get("engine_version") != plan.engine_version:
            diffs.append(f"engine version: stored {man.get('engine_version')}, running {plan.engine_version}")
        if man.get("grid_fingerprint") != plan.grid_fingerprint:
            diffs.append("grid differs")
        if man.get("scenario") != json.loads(plan.scenario_json):
            diffs.append("scenario differs")
        raise StoreError(f"{d}: holds run {man['run_id']}, not run {plan.run_id} "
                         f"({'; '.join(diffs) or 'store format differs'}); refusing to mix runs — "
                         "use another folder or the same arguments")

    def close(self) -> None:
        """Release the write lock."""
        if self._lock_fh is not None:
            self._lock_fh.close()
            self._lock_fh = None

    def __enter__(self) -> "RunStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ------------------------------------------------------------------ parts
    @property
    def n_chunks(self) -> int:
        return int(self.manifest["n_chunks"])

    def chunk_range(self, chunk: int) -> tuple[int, int]:
        """``(start, stop)`` scenarios of ``chunk``."""
        cs, n = int(self.manifest["chunk_size"]), int(self.manifest["n"])
        return chunk * cs, min(n, (chunk + 1) * cs)

    def part_path(self, chunk: int) -> Path:
        return self.path / PARTS_DIR / f"part-{chunk:07d}.parquet"

    def done_chunks(self) -> set[int]:
        """Chunks whose part file is complete (footer readable, row count as planned)."""
        import pyarrow.parquet as pq

        done: set[int] = set()
        for p in (self.path / PARTS_DIR).iterdir():
            m = _PART_RE.match(p.name)
            if not m:
                continue
            c = int(m.group(1))
            if c >= self.n_chunks:
                raise StoreError(f"{p}: chunk {c} is outside this run ({self.n_chunks} chunks)")
            start, stop = self.chunk_range(c)
            try:
                rows = pq.read_metadata(p).num_rows
            except Exception as exc:  # a part is moved into place only when complete: this is corruption
                raise StoreError(f"{p}: corrupt part file ({exc}); delete it and rerun to recompute it") from None
            if rows != stop - start:
                raise StoreError(f"{p}: field 'num_rows' = {rows}: expected {stop - start}; delete it and rerun")
            done.add(c)
        return done

    def write_part(self, chunk: int, table: Any) -> Path:
        """Write the rows of ``chunk`` atomically (temporary file, fsync, :func:`os.replace`)."""
        import pyarrow.parquet as pq

        start, stop = self.chunk_range(chunk)
        sc = table.column("scenario")
        if table.num_rows != stop - start or (table.num_rows and (sc[0].as_py() != start or
                                                                  sc[-1].as_py() != stop - 1)):
            raise StoreError(f"chunk {chunk}: rows do not cover scenarios {start}…{stop - 1}")
        final = self.part_path(chunk)
        tmp = final.with_name(f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
        return final

    def write_file(self, name: str, data: bytes) -> Path:
        """Write a file of the run folder atomically."""
        p = self.path / name
        _atomic_write_bytes(p, data)
        return p

    def update_manifest(self, **fields: Any) -> None:
        """Set manifest fields and rewrite it atomically."""
        self.manifest = {**self.manifest, **fields}
        _atomic_write_bytes(self.path / MANIFEST, json.dumps(self.manifest, indent=2).encode())
