"""Write a run's parts off the critical path: a background thread with a bounded queue.

The thread calls :meth:`svitlo.store.RunStore.write_part` (temporary file, fsync, :func:`os.replace`) for each
chunk handed to :meth:`PartWriter.put`, so parts stay atomic and a killed run resumes exactly as before; the
computing thread only waits when ``depth`` chunks are already queued (memory stays bounded). A write error is
raised in the computing thread at its next :meth:`~PartWriter.put` or at :meth:`~PartWriter.close`.

Examples
--------
>>> import tempfile
>>> import pyarrow as pa
>>> from svitlo.store import RunSpec, RunStore
>>> spec = RunSpec(format="demo-run/1", run_id="w", n=4, chunk_size=2)
>>> with RunStore.prepare(tempfile.mkdtemp(), spec) as st:
...     with PartWriter(st) as w:
...         w.put(0, pa.table({"scenario": [0, 1]}))
...         w.put(1, pa.table({"scenario": [2, 3]}))
...     sorted(st.done_chunks()), w.rows_written
([0, 1], 4)
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

__all__ = ["PartWriter"]

_STOP = object()


class PartWriter:
    """Background writer of a :class:`~svitlo.store.RunStore`'s parts (use as a context manager).

    Parameters
    ----------
    store
        The open run store.
    depth
        Chunks that may wait in the queue (the computing thread blocks beyond).
    on_written
        Called in the writer thread with the number of rows of each part once it is stored.
    """

    def __init__(self, store: Any, *, depth: int = 2, on_written: Callable[[int], None] | None = None) -> None:
        self.store = store
        self.rows_written = 0
        self._q: queue.Queue[Any] = queue.Queue(maxsize=max(1, int(depth)))
        self._error: BaseException | None = None
        self._on_written = on_written
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="svitlo-part-writer", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            item = self._q.get()
            if item is _STOP:
                return
            if self._error is not None:
                continue  # drain: the computing thread raises the first error
            chunk, table = item
            try:
                self.store.write_part(chunk, table)
                with self._lock:
                    self.rows_written += table.num_rows
                if self._on_written is not None:
                    self._on_written(table.num_rows)
            except BaseException as exc:  # noqa: BLE001 - handed to the computing thread
                self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def put(self, chunk: int, table: Any) -> None:
        """Queue the rows of ``chunk`` for writing (blocks while the queue is full)."""
        self._raise()
        while True:
            try:
                self._q.put((chunk, table), timeout=0.5)
                return
            except queue.Full:
                if not self._thread.is_alive():  # pragma: no cover - the thread never exits early
                    raise RuntimeError("the part writer stopped") from None
                self._raise()

    def close(self) -> None:
        """Write what is queued, stop the thread and raise a write error, if any."""
        if self._thread.is_alive():
            self._q.put(_STOP)
            self._thread.join()
        self._raise()

    def abandon(self) -> None:
        """Stop after the part being written (queued parts are dropped; a resume recomputes them)."""
        self._error = self._error or _Abandoned()
        if self._thread.is_alive():
            try:
                while True:
                    self._q.get_nowait()
            except queue.Empty:
                pass
            self._q.put(_STOP)
            self._thread.join(timeout=60)

    def __enter__(self) -> "PartWriter":
        return self

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abandon()


class _Abandoned(Exception):
    pass
