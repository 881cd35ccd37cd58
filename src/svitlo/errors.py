"""The one exception tree of svitlo.

Every error svitlo raises on purpose derives from :class:`SvitloError`::

    SvitloError
    ├── InputError              bad input: names the source, field and value
    │   ├── GridError           a grid table or case file is wrong
    │   ├── ScenarioError       a scenario file or strike specification is wrong
    │   └── FacilityError       a facility table is wrong
    ├── SolverError             a numerical solver failed (never hidden in a log line)
    ├── ResourceError           the work cannot fit in this machine's memory (said before any work)
    ├── StoreError              a result store is missing, corrupt or inconsistent
    └── MissingDependencyError  an optional extra is not installed (names the extra to install)

:class:`SvitloWarning` is the base of svitlo's own warnings; the test suite turns
them into errors.

Examples
--------
>>> err = GridError("negative rating", source="grid.json", field="branches.rate_mw", value=-3.0)
>>> str(err)
'grid.json: branches.rate_mw = -3.0: negative rating'
>>> isinstance(err, InputError)
True
"""

from __future__ import annotations

from typing import Any

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
    "SvitloWarning",
]


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
            where.append(str(self.source))
        if self.field:
            if self.value is not InputError._UNSET:
                where.append(f"{self.field} = {self.value!r}")
            else:
                where.append(self.field)
        elif self.value is not InputError._UNSET:
            where.append(f"value {self.value!r}")
        return ": ".join(where + [self.message])

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


class SvitloWarning(UserWarning):
    """Base of svitlo's own warnings."""
