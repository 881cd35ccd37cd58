"""The one exception tree of svitlo.

Every error svitlo raises on purpose derives from :class:`SvitloError`::

    SvitloError
    ├── InputError              bad input: names the source, field and value
    │   ├── GridError           a grid table or case file is wrong
    │   ├── ScenarioError       a scenario file or strike specification is wrong
    │   ├── FacilityError       a facility table is wrong
    │   └── OutputPathError     an output file or folder cannot be written (checked before any work)
    ├── SolverError             a numerical solver failed (never hidden in a log line)
    ├── ResourceError           the work cannot fit in this machine's memory (said before any work)
    ├── StoreError              a result store is missing, corrupt or inconsistent
    │   └── RunFolderError      a folder given as a run is not one, is damaged or not empty (also an InputError)
    └── MissingDependencyError  an optional extra is not installed (names the extra to install)

Every message is rendered by :meth:`InputError._render` on one line: ``source: field = value: message``, the
value shown by :func:`short_repr` (at most :data:`MAX_VALUE_CHARS` characters) and the message's line breaks
folded. :func:`scenario_context` fills in the scenario file of errors raised after it was loaded.

:class:`SvitloWarning` is the base of svitlo's own warnings; the test suite turns
them into errors.

Examples
--------
>>> err = GridError("negative rating", source="grid.json", field="branches.rate_mw", value=-3.0)
>>> str(err)
'grid.json: branches.rate_mw = -3.0: negative rating'
>>> isinstance(err, InputError)
True
>>> len(str(ScenarioError("too long", field="name", value="x" * 500)))  # the value cut to 80 characters
97
"""

from __future__ import annotations

import contextlib
import reprlib
from collections.abc import Iterator
from typing import Any

#: Longest rendering of an offending value in a message (characters).
MAX_VALUE_CHARS = 80
#: Longest message text (characters); longer ones are cut.
MAX_MESSAGE_CHARS = 400

__all__ = [
    "SvitloError",
    "InputError",
    "GridError",
    "ScenarioError",
    "FacilityError",
    "SolverError",
    "ResourceError",
    "StoreError",
    "MissingDependencyError",
    "OutputPathError",
    "RunFolderError",
    "SvitloWarning",
    "short_repr",
    "one_line",
    "scenario_context",
    "MAX_VALUE_CHARS",
]

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 3, MAX_VALUE_CHARS, MAX_VALUE_CHARS
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 6


def short_repr(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """``repr(value)`` on one line and at most ``limit`` characters (deep or huge values are elided).

    >>> short_repr("abc")
    "'abc'"
    >>> short_repr(list(range(100)))
    '[0, 1, 2, 3, 4, 5, ...]'
    >>> len(short_repr("x" * 1000)), short_repr(10 ** 5000)[-12:]
    (80, '…(5001 dig.)')
    """
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        digits = len(str(abs(value))) if value.bit_length() < 14000 else int(value.bit_length() * 0.30103) + 1
        return f"{'-' if value < 0 else ''}1e{digits - 1}…({digits} dig.)"
    try:
        text = _REPR.repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the error itself
        text = f"<{type(value).__name__}>"
    return _cut(one_line(text), limit)


def one_line(text: str) -> str:
    """``text`` with line breaks folded into ``" | "`` and runs of blanks collapsed.

    >>> one_line("mapping values are not allowed here\\n  in line 2")
    'mapping values are not allowed here | in line 2'
    """
    parts = [" ".join(line.split()) for line in str(text).splitlines()]
    return " | ".join(p for p in parts if p)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SvitloError(Exception):
    """Base of all errors raised by svitlo."""


class InputError(SvitloError, ValueError):
    """Bad input. The message names where (``source``), what (``field``) and the offending ``value``.

    Parameters
    ----------
    message
        What is wrong and, where it helps, what was expected.
    source
        The file (or object) the input came from, e.g. ``"scenario.yaml"``.
    field
        The field, column or key path, e.g. ``"branches.x_pu"`` or ``"strikes[0].random.k"``.
    value
        The offending value.
    """

    _UNSET: Any = object()

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None,
                 value: Any = _UNSET) -> None:
        if type(value).__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
            value = value.item()  # show 44, not np.int64(44)
        self.message = message
        self.source = source
        self.field = field
        self.value = value
        super().__init__(self._render())

    def _render(self) -> str:
        where = []
        if self.source:
            where.append(_cut(one_line(self.source), 300))
        field = _cut(one_line(self.field), 200) if self.field else None
        if field:
            if self.value is not InputError._UNSET:
                where.append(f"{field} = {short_repr(self.value)}")
            else:
                where.append(field)
        elif self.value is not InputError._UNSET:
            where.append(f"value {short_repr(self.value)}")
        return ": ".join(where + [_cut(one_line(self.message), MAX_MESSAGE_CHARS)])

    def __reduce__(self):  # keep pickling (Dask) working with keyword-only arguments
        return (_rebuild_input_error, (type(self), self.message, self.source, self.field, self.value))


def _rebuild_input_error(cls, message, source, field, value):
    return cls(message, source=source, field=field, value=value)


class GridError(InputError):
    """A grid table, case name or case file is invalid."""


class ScenarioError(InputError):
    """A scenario file or a strike specification is invalid."""


class FacilityError(InputError):
    """A facility table is invalid."""


class SolverError(SvitloError):
    """A numerical solver failed or returned an unusable answer."""


class ResourceError(SvitloError):
    """The work cannot fit in the memory available; raised before the work starts."""


class StoreError(SvitloError):
    """A result store is missing, corrupt or does not match the run asked for."""


class MissingDependencyError(SvitloError, ImportError):
    """An optional dependency is missing; the message says which extra installs it.

    >>> str(MissingDependencyError("the opf mode needs highspy", extra="opf"))
    "the opf mode needs highspy: pip install 'svitlo[opf]'"
    """

    def __init__(self, message: str, *, extra: str) -> None:
        self.message = message
        self.extra = extra
        super().__init__(f"{message}: pip install 'svitlo[{extra}]'")

    def __reduce__(self):
        return (_rebuild_missing, (self.message, self.extra))


def _rebuild_missing(message, extra):
    return MissingDependencyError(message, extra=extra)


class OutputPathError(InputError):
    """An output file or folder cannot be written (checked before any work is done)."""


class RunFolderError(StoreError, InputError):
    """A folder given as a run folder is not one, or a new run's folder is not empty (bad input: exit 2)."""


_PLACEHOLDER_SOURCES = {None, "", "scenario", "scenario (dict)"}


@contextlib.contextmanager
def scenario_context(source: str | None) -> Iterator[None]:
    """Name the scenario file in :class:`InputError` s raised inside the block that name no file.

    Errors raised after a scenario was loaded (an unknown asset id, a tier on a missing bus) know the field but
    not the file; this fills it in.

    >>> with scenario_context("s.yaml"):
    ...     raise ScenarioError("unknown asset id", field="strikes[0].assets", value="line:99")
    Traceback (most recent call last):
    ...
    svitlo.errors.ScenarioError: s.yaml: strikes[0].assets = 'line:99': unknown asset id
    """
    try:
        yield
    except InputError as exc:  # e.g. an unknown case name under `grid:`: no file of its own
        if source in _PLACEHOLDER_SOURCES or exc.source not in _PLACEHOLDER_SOURCES:
            raise
        raise type(exc)(exc.message, source=source, field=exc.field, value=exc.value) from None


class SvitloWarning(UserWarning):
    """Base of svitlo's own warnings."""
