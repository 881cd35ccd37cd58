"""Read scenario YAML files into validated :class:`~svitlo.scenarios.spec.Scenario` objects.

Errors name the file, the field path and the value, and say what was expected.

Examples
--------
>>> parse_scenario({"grid": "case9", "strikes": [{"asets": ["line:1"]}]}, source="s.yaml")
Traceback (most recent call last):
...
svitlo.errors.ScenarioError: s.yaml: strikes[0].asets = ['line:1']: unknown key 'asets'; expected one of ['assets', 'geographic', 'random', 'targeted']
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from svitlo.errors import ScenarioError, scenario_context
from svitlo.scenarios.spec import Scenario

__all__ = ["load_scenario", "parse_scenario", "names_scenario_file"]


def _loc_text(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model class that holds the last element of ``loc`` (best effort)."""
    import typing

    cur: Any = model
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        if not (isinstance(cur, type) and issubclass(cur, BaseModel)) or part not in cur.model_fields:
            return None
        ann = cur.model_fields[part].annotation
        found = None
        stack = [ann]
        while stack:
            a = stack.pop()
            if isinstance(a, type) and issubclass(a, BaseModel):
                found = a
                break
            stack.extend(typing.get_args(a))
        if found is None:
            return None
        cur = found
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def _error(exc: ValidationError, source: str, model: type[BaseModel]) -> ScenarioError:
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
    if err["type"] == "extra_forbidden" and err["loc"]:  # the unknown key itself, whatever its text
        loc = (*loc[:-1], err["loc"][-1]) if loc and loc[-1] == err["loc"][-1] else (*loc, err["loc"][-1])
    field = _loc_text(loc) or "(top level)"
    value = err.get("input")
    if err["type"] == "extra_forbidden":
        holder = _model_at(model, loc)
        allowed = sorted(holder.model_fields) if holder else []
        allowed = [a for a in allowed if a not in ("base_dir", "source")]
        msg = f"unknown key {loc[-1]!r}" + (f"; expected one of {allowed}" if allowed else "")
    elif err["type"] == "missing":
        msg = "required key missing"
        return ScenarioError(msg, source=source, field=field)
    else:
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
    more = len(exc.errors()) - 1
    if more:
        msg += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ScenarioError(msg, source=source, field=field, value=value)


def parse_scenario(data: Any, *, source: str = "scenario", base_dir: str | None = None) -> Scenario:
    """Validate a scenario given as a dict (pure)."""
    if not isinstance(data, dict):
        raise ScenarioError("expected a mapping of keys (name, grid, strikes, ...) at the top level",
                            source=source, value=type(data).__name__)
    for internal in ("base_dir", "source"):
        if internal in data:
            raise ScenarioError(f"unknown key {internal!r}", source=source, field=internal)
    try:
        sc = Scenario.model_validate({**data, "base_dir": base_dir, "source": source})
    except ValidationError as exc:
        raise _error(exc, source, Scenario) from None
    return sc


def load_scenario(path: str | os.PathLike) -> Scenario:
    """Read and validate a scenario YAML file; relative paths inside it start from its folder."""
    from svitlo.io.text import load_yaml, read_text

    p = Path(path)
    data = load_yaml(read_text(p, error=ScenarioError), source=str(p), error=ScenarioError)
    return parse_scenario(data, source=str(p), base_dir=str(p.parent.resolve()))


def names_scenario_file(position: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate an entry point whose ``scenario`` argument sits at ``position`` (or is passed by keyword) so
    that scenario errors raised after loading (an unknown asset id, a tier on a missing bus) name the scenario
    file (:func:`svitlo.errors.scenario_context`)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            sc = kwargs.get("scenario", args[position] if len(args) > position else None)
            if sc is None and args and isinstance(getattr(args[0], "scenario", None), Scenario):
                sc = args[0].scenario  # a prepared scenario and grid
            if isinstance(sc, Scenario):
                source = sc.source
            elif isinstance(sc, (str, os.PathLike)):
                source = str(sc)
            else:
                source = None
            with scenario_context(source):
                return fn(*args, **kwargs)

        return wrapper

    return decorate
