"""Checking a library's private internals before relying on them (see each package's check.py).

Each patch package lists what it uses: code a function must contain (instance attributes
exist only in `__init__`'s code), parameter names a callable must take, attributes that must
exist. `problems` names every one that moved, so that a start-up check can refuse to start
with one message instead of failing later, deep inside a lesson.
"""

from __future__ import annotations

import inspect
from typing import Any

Source = tuple[tuple[Any, str, tuple[str, ...]], ...]  # (owner, attribute, code it contains)
Signatures = tuple[tuple[Any, str, tuple[str, ...]], ...]  # (owner, attribute, parameters)
Attributes = tuple[tuple[Any, str], ...]  # (owner, attribute)


class InternalsChanged(RuntimeError):
    """An upgrade of a library moved an internal that a patch package relies on."""


def problems(source: Source, signatures: Signatures, attributes: Attributes) -> list[str]:
    """Every listed internal that is missing or changed, in a sentence each."""
    found = [p for owner, name, needs in source for p in _missing_code(owner, name, needs)]
    found += [
        p for owner, name, params in signatures for p in _wrong_signature(owner, name, params)
    ]
    found += [f"{name_of(owner, name)} is missing" for owner, name in attributes
              if not hasattr(owner, name)]  # fmt: skip
    return found


def name_of(owner: Any, name: str) -> str:
    return f"{getattr(owner, '__name__', owner)}.{name}"


def _missing_code(owner: Any, name: str, needs: tuple[str, ...]) -> list[str]:
    try:
        source = inspect.getsource(getattr(owner, name))
    except (AttributeError, OSError, TypeError):
        return [f"{name_of(owner, name)} is missing"]
    return [
        f"{name_of(owner, name)} no longer has `{need}`" for need in needs if need not in source
    ]


def _wrong_signature(owner: Any, name: str, params: tuple[str, ...]) -> list[str]:
    try:
        found = tuple(inspect.signature(getattr(owner, name)).parameters)
    except (AttributeError, TypeError, ValueError):
        return [f"{name_of(owner, name)} is missing"]
    if found != params:
        return [f"{name_of(owner, name)} takes {found}, expected {params}"]
    return []
