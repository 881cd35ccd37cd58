"""The run store: a folder of Parquet part files, one per chunk of rows, plus a manifest — for every analysis.

An analysis (sweep, rank, harden, …) describes its run with a :class:`RunSpec` (format, run id, number of rows,
chunk size, and the fields that identify the run) and declares its rows with a
:class:`~svitlo.store.schema.RowSchema`; the store writes, checks and resumes them the same way for all.

Layout of a run folder::

    manifest.json          format, run id, n, chunk size, identity fields (e.g. scenario, root seed), completeness
    parts/part-0000000.parquet   rows of chunk 0 (keys 0 … chunk_size - 1), one row per key
    parts/part-0000001.parquet   …
    <name>.parquet, summary.json   tables and aggregates the analysis writes with :meth:`RunStore.write_file`

A part is written under a temporary name and moved into place with :func:`os.replace`, so a part file either
exists complete or not at all: a sweep killed at any moment resumes by recomputing only the missing chunks.
A folder holds one run; a run with another run id is refused with :class:`~svitlo.errors.StoreError`.
One process writes a run at a time (an advisory lock on ``.lock``).

Examples
--------
>>> import tempfile
>>> spec = RunSpec(format="demo-run/1", run_id="abc", n=5, chunk_size=2, identity={"seed": 1})
>>> d = tempfile.mkdtemp()
>>> with RunStore.prepare(d, spec) as st:
...     sorted(st.done_chunks()), st.n_chunks
([], 3)
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from svitlo.errors import RunFolderError, StoreError

__all__ = ["RunStore", "RunSpec", "read_manifest", "check_run_folder", "json_bytes", "PARTS_DIR", "MANIFEST"]

MANIFEST = "manifest.json"
PARTS_DIR = "parts"
_PART_RE = re.compile(r"^part-(\d{7})\.parquet$")
_STORE_FILES = {MANIFEST, PARTS_DIR, ".lock"}


@dataclass(frozen=True)
class RunSpec:
    """What identifies a run and how its rows are chunked.

    Attributes
    ----------
    format
        Store format of the analysis (e.g. ``"svitlo-sweep/1"``); a reader checks it.
    run_id
        Hash of everything that determines the rows; a folder holds one run id.
    n
        Number of rows (keys ``0 … n-1``).
    chunk_size
        Rows per part file.
    identity
        JSON-ready fields that define the run (written to the manifest; on a mismatch each differing field is
        named in the error).
    key
        Name of the row key column (``0 … n-1``, one row each).
    files
        Names of the further files the analysis writes into the folder (so a resumed folder is recognised).
    """

    format: str
    run_id: str
    n: int
    chunk_size: int
    identity: dict[str, Any] = field(default_factory=dict)
    key: str = "scenario"
    files: tuple[str, ...] = ()

    @property
    def n_chunks(self) -> int:
        return -(-self.n // self.chunk_size)


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def json_bytes(obj: Any) -> bytes:
    """``obj`` as JSON; non-finite floats are written as ``null`` (JSON has no NaN or infinity), so a value
    never makes a run folder unwritable.

    >>> json.loads(json_bytes({"mean": {"shed_mw": float("inf"), "islands": 2.0}}))
    {'mean': {'shed_mw': None, 'islands': 2.0}}
    """
    from svitlo.model.serialize import jsonable

    return json.dumps(jsonable(obj), indent=2, allow_nan=False).encode()


def check_run_folder(path: str | os.PathLike, files: tuple[str, ...] = ()) -> None:
    """Refuse (:class:`~svitlo.errors.RunFolderError`) a path that can hold no run: a file, or a non-empty folder
    without a manifest (``files``: names an analysis writes beside the store's own). Call it before any work."""
    d = Path(path)
    try:
        if d.exists() and not d.is_dir():
            raise RunFolderError("exists and is not a folder", source=str(d))
        if d.is_dir() and not (d / MANIFEST).exists():
            _check_empty_files(d, _STORE_FILES | set(files))
    except OSError as exc:
        raise RunFolderError(f"cannot use this folder: {exc.strerror or exc}", source=str(d)) from None


def _check_empty_files(d: Path, ours: set[str]) -> None:
    stray = sorted(p.name for p in d.iterdir() if p.name not in ours and not p.name.startswith(".tmp-"))
    if stray or any((d / PARTS_DIR).glob("part-*.parquet")):
        raise RunFolderError(f"folder is not empty and holds no run manifest "
                             f"(found {stray[:5] or 'part files'}); choose an empty or new folder", source=str(d))


def read_manifest(path: str | os.PathLike, *, formats: tuple[str, ...] | None = None,
                  what: str = "run") -> dict[str, Any]:
    """The manifest of a run folder (:class:`~svitlo.errors.RunFolderError`, an input error, if the folder is
    not a run of one of ``formats`` or its manifest is damaged)."""
    p = Path(path) / MANIFEST
    try:
        if not Path(path).is_dir():
            raise RunFolderError("not a folder" if Path(path).exists() else "no such folder", source=str(path))
        has_manifest = p.is_file()
    except OSError as exc:
        raise RunFolderError(f"cannot open the folder: {exc.strerror or exc}", source=str(path)) from None
    if not has_manifest:
        raise RunFolderError(f"not a {what} folder (no {MANIFEST})", source=str(path))
    try:
        m = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RunFolderError(f"unreadable manifest: {exc}", source=str(p)) from None
    fmt = m.get("format") if isinstance(m, dict) else m
    if not isinstance(m, dict) or (formats is not None and fmt not in formats):
        raise RunFolderError(f"expected {' or '.join(map(repr, formats or ()))}", source=str(p), field="format",
                             value=fmt)
    for key, kind in (("run_id", str), ("n", int), ("chunk_size", int), ("n_chunks", int)):
        if key not in m:
            raise RunFolderError("field missing", source=str(p), field=key)
        if not isinstance(m[key], kind) or isinstance(m[key], bool) or (kind is int and m[key] < 0):
            raise RunFolderError(f"expected {'a non-negative integer' if kind is int else 'text'}", source=str(p),
                                 field=key, value=m[key])
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

    def __init__(self, path: Path, manifest: dict[str, Any], lock_fh: Any, spec: RunSpec) -> None:
        self.path = path
        self.manifest = manifest
        self.spec = spec
        self._lock_fh = lock_fh

    # ------------------------------------------------------------------ opening
    @classmethod
    def prepare(cls, path: str | os.PathLike, plan: RunSpec | Any, *, info: dict[str, Any] | None = None,
                chunk_size_given: bool = True) -> "RunStore":
        """Create a run folder for ``plan`` or reopen the same run to resume it.

        Parameters
        ----------
        plan
            The :class:`RunSpec` (or an object with a ``run_spec()`` method, such as a sweep plan); its
            ``run_id`` must match an existing manifest.
        info
            Extra, informational manifest fields (scenario and grid names, engine used).
        chunk_size_given
            Whether the caller chose the chunk size; if not, a resumed run keeps its stored chunk size.
        """
        spec: RunSpec = plan if isinstance(plan, RunSpec) else plan.run_spec()
        d = Path(path)
        check_run_folder(d, tuple(spec.files))
        d.mkdir(parents=True, exist_ok=True)
        man_path = d / MANIFEST
        if not man_path.exists():
            cls._check_empty(d, spec)  # before creating anything in a folder that may be someone else's
        lock_fh = cls._lock(d)
        try:
            if man_path.exists():
                man = read_manifest(d, formats=(spec.format,))
                cls._check_same_run(d, man, spec)
                if chunk_size_given and int(man["chunk_size"]) != spec.chunk_size:
                    raise RunFolderError(f"this run was started with chunk size {man['chunk_size']}; resume with "
                                         "the same (or no) chunk size", source=str(d), field="chunk_size",
                                         value=spec.chunk_size)
            else:
                cls._check_empty(d, spec)
                man = {"format": spec.format, "run_id": spec.run_id, "n": spec.n, "chunk_size": spec.chunk_size,
                       "n_chunks": spec.n_chunks, **spec.identity, "created_unix": time.time(),
                       "complete": False, **(info or {})}
                _atomic_write_bytes(man_path, json_bytes(man))
            (d / PARTS_DIR).mkdir(exist_ok=True)
            for tmp in list(d.glob(".tmp-*")) + list((d / PARTS_DIR).glob(".tmp-*")):
                tmp.unlink(missing_ok=True)  # left by a killed writer; we hold the lock
        except BaseException:
            lock_fh.close()
            raise
        if chunk_size_given is False and int(man["chunk_size"]) != spec.chunk_size:
            from dataclasses import replace

            spec = replace(spec, chunk_size=int(man["chunk_size"]))
        return cls(d, man, lock_fh, spec)

    @staticmethod
    def _check_empty(d: Path, spec: RunSpec) -> None:
        _check_empty_files(d, _STORE_FILES | set(spec.files))

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
            raise StoreError(f"{d}: another process (sweep or analysis) is writing this run folder (locked)") from None
        return fh

    @staticmethod
    def _check_same_run(d: Path, man: dict[str, Any], spec: RunSpec) -> None:
        if man["run_id"] == spec.run_id:
            return
        diffs = []
        if int(man["n"]) != spec.n:
            diffs.append(f"n: stored {man['n']}, asked {spec.n}")
        for k, v in spec.identity.items():
            if man.get(k) != v:
                short = isinstance(v, (int, float, str)) and len(str(v)) < 60
                diffs.append(f"{k.replace('_', ' ')}: stored {man.get(k)}, running {v}" if short
                             else f"{k.replace('_', ' ')} differs")
        raise RunFolderError(f"holds run {man['run_id']}, not run {spec.run_id} "
                             f"({'; '.join(diffs) or 'store format differs'}); refusing to mix runs — "
                             "use another folder or the same arguments", source=str(d))

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
                raise RunFolderError(f"chunk {c} is outside this run ({self.n_chunks} chunks); delete it and rerun",
                                     source=str(p))
            start, stop = self.chunk_range(c)
            try:
                rows = pq.read_metadata(p).num_rows
            except Exception as exc:  # a part is moved into place only when complete: this is corruption
                raise RunFolderError(f"corrupt part file ({exc}); delete it and rerun to recompute it",
                                     source=str(p)) from None
            if rows != stop - start:
                raise RunFolderError(f"expected {stop - start} rows; delete it and rerun", source=str(p),
                                     field="num_rows", value=rows)
            done.add(c)
        return done

    def write_part(self, chunk: int, table: Any) -> Path:
        """Write the rows of ``chunk`` atomically (temporary file, fsync, :func:`os.replace`)."""
        import pyarrow.parquet as pq

        start, stop = self.chunk_range(chunk)
        sc = table.column(self.spec.key)
        if table.num_rows != stop - start or (table.num_rows and (sc[0].as_py() != start or
                                                                  sc[-1].as_py() != stop - 1)):
            raise StoreError(f"chunk {chunk}: rows do not cover {self.spec.key} {start}…{stop - 1}")
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
        _atomic_write_bytes(self.path / MANIFEST, json_bytes(self.manifest))
