"""Read text documents (YAML, JSON, CSV) from untrusted files, within limits.

Every input file is read as UTF-8 (a byte-order mark is allowed) and at most :data:`MAX_FILE_BYTES` long.
YAML and JSON documents may nest at most :data:`MAX_DEPTH` levels, and a YAML document may expand to at most
:data:`MAX_NODES` nodes once its aliases are followed (a few hundred bytes of ``&a [*b, *b, ...]`` can otherwise
expand to gigabytes). Anything else raises the caller's error class naming the file.

Examples
--------
>>> from svitlo.errors import ScenarioError
>>> load_yaml("a: [1, 2]", source="s.yaml", error=ScenarioError)
{'a': [1, 2]}
>>> load_yaml("a: " + "[" * 80 + "]" * 80, source="s.yaml", error=ScenarioError)
Traceback (most recent call last):
...
svitlo.errors.ScenarioError: s.yaml: nested deeper than 64 levels (line 1, column 67)
>>> bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\\n" + "".join(
...     f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\\n" for p, c in zip("abcdef", "bcdefg"))
>>> load_yaml(bomb, source="s.yaml", error=ScenarioError)
Traceback (most recent call last):
...
svitlo.errors.ScenarioError: s.yaml: expands to more than 1000000 values through its aliases (&anchor / *alias) (line 6, column 36)
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from svitlo.errors import InputError

__all__ = ["read_text", "load_yaml", "load_json", "MAX_FILE_BYTES", "MAX_DEPTH", "MAX_NODES"]

#: Largest input document (bytes).
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Deepest nesting of lists and mappings in a YAML or JSON document.
MAX_DEPTH = 64
#: Most values (scalars, lists, mappings) a YAML document may expand to through its aliases.
MAX_NODES = 1_000_000
#: Longest digit string read as a YAML integer (larger numbers mean nothing to svitlo).
MAX_INT_DIGITS = 30

_INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9_]*|0b[0-1_]+|0x[0-9a-fA-F_]+|0o?[0-7_]+)$")


def read_text(path: str | os.PathLike, *, error: type[InputError], max_bytes: int = MAX_FILE_BYTES) -> str:
    """The text of a UTF-8 file (``error`` if missing, unreadable, too large or not UTF-8).

    >>> from svitlo.errors import GridError
    >>> read_text("/no/such.m", error=GridError)
    Traceback (most recent call last):
    ...
    svitlo.errors.GridError: /no/such.m: file not found
    """
    p = Path(path)
    src = str(p)
    try:
        if not p.is_file():
            raise error("file not found" if not p.exists() else "not a regular file", source=src)
        size = p.stat().st_size
        if size > max_bytes:
            raise error(f"file of {size:,} bytes; at most {max_bytes:,} bytes are read", source=src)
        raw = p.read_bytes()
    except OSError as exc:
        raise error(f"cannot read the file: {exc.strerror or exc}", source=src) from None
    if len(raw) > max_bytes:  # a pseudo file that reports no size
        raise error(f"file of more than {max_bytes:,} bytes", source=src)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(f"not UTF-8 text: byte 0x{raw[exc.start]:02x} at offset {exc.start} (line {line}); save the "
                    "file as UTF-8", source=src) from None


def _mark(m: Any) -> str:
    return f" (line {m.line + 1}, column {m.column + 1})" if m is not None else ""


def load_yaml(text: str, *, source: str, error: type[InputError], max_depth: int = MAX_DEPTH,
              max_nodes: int = MAX_NODES) -> Any:
    """Parse one YAML document safely (no Python objects), within depth and alias-expansion limits."""
    import yaml

    Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    # pass 1 over the event stream (not recursive): depth, expanded size through aliases, oversized integers
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = [[None, 0]]  # [anchor, expanded size so far]
    total = 0
    try:
        for ev in yaml.parse(text, Loader=Loader):
            if isinstance(ev, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                stack.append([ev.anchor, 0])
                if len(stack) - 1 > max_depth:
                    raise error(f"nested deeper than {max_depth} levels{_mark(ev.start_mark)}", source=source)
            elif isinstance(ev, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                anchor, n = stack.pop()
                n += 1
                total += 1
                if anchor is not None:
                    sizes[anchor] = n
                stack[-1][1] += n
            elif isinstance(ev, yaml.ScalarEvent):
                v = ev.value
                if not ev.style and ev.implicit[0] and len(v) > MAX_INT_DIGITS and _INT_RE.match(v):
                    raise error(f"an integer of {len(v)} characters; numbers that large mean nothing here"
                                f"{_mark(ev.start_mark)}", source=source, value=v)
                if ev.anchor is not None:
                    sizes[ev.anchor] = 1
                stack[-1][1] += 1
                total += 1
            elif isinstance(ev, yaml.AliasEvent):
                stack[-1][1] += sizes.get(ev.anchor, 1)
                total += sizes.get(ev.anchor, 1)
            else:
                continue
            if total > max_nodes:
                raise error(f"expands to more than {max_nodes} values through its aliases (&anchor / *alias)"
                            f"{_mark(ev.start_mark)}", source=source)
        return yaml.load(text, Loader=Loader)  # noqa: S506 - a safe loader
    except InputError:
        raise
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc)
        ctx = getattr(exc, "context", None)
        raise error(f"not valid YAML{_mark(getattr(exc, 'problem_mark', None))}: "
                    f"{(ctx + ', ') if ctx else ''}{problem}", source=source) from None
    except (ValueError, OverflowError, RecursionError) as exc:  # e.g. a date out of range
        raise error(f"not valid YAML: {exc}", source=source) from None


def _depth(data: Any) -> int:
    """Deepest nesting of lists and dicts (iterative)."""
    best = 0
    todo = [(data, 1)]
    while todo:
        v, d = todo.pop()
        if isinstance(v, dict):
            v = list(v.values())
        if isinstance(v, list):
            best = max(best, d)
            todo.extend((x, d + 1) for x in v)
    return best


def load_json(text: str, *, source: str, error: type[InputError], max_depth: int = MAX_DEPTH) -> Any:
    """Parse a JSON document within a depth limit."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}", source=source) from None
    except RecursionError:
        raise error(f"not readable JSON: nested deeper than {max_depth} levels", source=source) from None
    except ValueError as exc:  # e.g. an integer of thousands of digits
        raise error(f"not readable JSON: {exc}", source=source) from None
    if _depth(data) > max_depth:
        raise error(f"not readable JSON: nested deeper than {max_depth} levels", source=source)
    return data
