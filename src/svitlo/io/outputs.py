"""Check output paths before any work is done, so a long run never fails at its last step.

A file output must name a file (not ``""``, ``.`` or an existing folder) whose folder exists or can be created
and accepts a new file; a folder output must not be a file, must sit under folders (not under a file), and must
accept a new file. Every name must fit the file system's limit. A probe file is created and removed to prove
the folder writable (this catches read-only and pseudo file systems, where permission bits say nothing).

Examples
--------
>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> check_output_file(d / "report.html", option="--out").name
'report.html'
>>> def why(check, path):
...     try:
...         check(path, option="--out")
...     except OutputPathError as exc:
...         return f"{exc.field}: {exc.message}"
>>> why(check_output_file, d)
'--out: is a folder; expected a file name'
>>> (d / "f.txt").write_text("x")
1
>>> why(check_output_dir, d / "f.txt" / "tables")
'--out: lies under a file, not a folder (.../f.txt)'
>>> why(check_output_dir, "/proc/self/tables")[:40]
'--out: cannot write in folder /proc/self'
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from svitlo.errors import OutputPathError

__all__ = ["check_output_file", "check_output_dir"]


def _name_max(folder: Path) -> int:
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def _existing_ancestor(p: Path, option: str) -> Path:
    """The nearest existing ancestor of ``p`` (which must be a folder)."""
    cur = p.parent
    while True:
        try:
            if cur.exists():
                break
        except OSError:  # a name too long, a loop of links: look further up
            pass
        if cur == cur.parent:
            break
        cur = cur.parent
    if not cur.is_dir():
        raise OutputPathError(f"lies under a file, not a folder (.../{cur.name})", field=option, value=str(p))
    return cur


def _probe(folder: Path, option: str) -> None:
    try:
        fd, name = tempfile.mkstemp(prefix=".svitlo-probe-", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise OutputPathError(f"cannot write in folder {str(folder)[:200]}: {exc.strerror or exc}",
                              field=option, value=str(folder)) from None


def _check_names(p: Path, option: str) -> None:
    limit = _name_max(_existing_ancestor(p, option))
    for part in p.parts:
        if len(part.encode("utf-8", "surrogateescape")) > limit:
            raise OutputPathError(f"a name of {len(part)} characters; this file system allows {limit}",
                                  field=option, value=part)


def _plain(path: str | os.PathLike, option: str) -> Path:
    text = os.fspath(path)
    if not str(text).strip():
        raise OutputPathError("empty path; expected a file or folder name", field=option, value=str(path))
    if "\x00" in str(text):
        raise OutputPathError("a path with a NUL character", field=option, value=text)
    return Path(text).expanduser()


def check_output_file(path: str | os.PathLike, *, option: str = "output") -> Path:
    """Check that ``path`` can be written as a file (its folders are created later); return it.

    Raises
    ------
    OutputPathError
        Empty path, ``.``, an existing folder, a path under a file, a name too long, or a folder that does not
        accept new files (read-only or pseudo file system, no permission).
    """
    p = _plain(path, option)
    _check_names(p, option)
    try:
        if p.is_dir():
            raise OutputPathError("is a folder; expected a file name", field=option, value=str(path))
        if p.exists() and not p.is_file():
            raise OutputPathError("exists and is not a regular file", field=option, value=str(path))
    except OSError as exc:
        raise OutputPathError(f"cannot use this path: {exc.strerror or exc}", field=option, value=str(path)) from None
    folder = p.parent if p.parent.exists() else _existing_ancestor(p, option)
    if not folder.is_dir():
        raise OutputPathError(f"lies under a file, not a folder (.../{folder.name})", field=option, value=str(path))
    _probe(folder, option)
    if p.exists() and not os.access(p, os.W_OK):
        raise OutputPathError("exists and cannot be overwritten (no permission)", field=option, value=str(path))
    return p


def check_output_dir(path: str | os.PathLike, *, option: str = "output") -> Path:
    """Check that ``path`` is, or can be created as, a folder that accepts new files; return it.

    Raises
    ------
    OutputPathError
        Empty path, an existing file, a path under a file, a name too long, or a folder that does not accept
        new files.
    """
    p = _plain(path, option)
    _check_names(p, option)
    try:
        if p.exists() and not p.is_dir():
            raise OutputPathError("exists and is not a folder", field=option, value=str(path))
    except OSError as exc:
        raise OutputPathError(f"cannot use this path: {exc.strerror or exc}", field=option, value=str(path)) from None
    _probe(p if p.exists() else _existing_ancestor(p, option), option)
    return p
