"""Checks a payload against a shape declared in signaling/protocol.py (tests only)."""

from __future__ import annotations

from typing import Any

from client.sabak_client import SabakClient
from signaling.protocol import OUTBOUND, WELCOME


def conforms(value: Any, kind: Any, at: str) -> list[str]:
    """What in `value` does not fit the declared `kind` (see signaling/protocol.py)."""
    if isinstance(kind, tuple):
        tried = [conforms(value, k, at) for k in kind]
        return [] if [] in tried else [f"{at}: {value!r} is none of {kind}"]
    if kind is None or kind is object:
        return [] if kind is object or value is None else [f"{at}: {value!r} is not null"]
    if isinstance(kind, list):
        if not isinstance(value, list):
            return [f"{at}: not a list"]
        return [p for i, v in enumerate(value) for p in conforms(v, kind[0], f"{at}[{i}]")]
    if isinstance(kind, dict):
        return shape_problems(value, kind, at)
    numbers = (int, float) if kind is float else kind
    if not isinstance(value, numbers) or (isinstance(value, bool) and kind is not bool):
        return [f"{at}: {value!r} is not {kind.__name__}"]
    return []


def shape_problems(value: Any, shape: dict[str, Any], at: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{at}: not an object"]
    fields = {f.rstrip("?"): (k, f.endswith("?")) for f, k in shape.items()}
    problems = [f"{at}.{f}: not declared" for f in value if f not in fields]
    for f, (kind, optional) in fields.items():
        if f in value:
            problems += conforms(value[f], kind, f"{at}.{f}")
        elif not optional:
            problems.append(f"{at}.{f}: missing")
    return problems


def inbox_problems(client: SabakClient) -> list[str]:
    """What a client received, and its join ack, against the declared shapes."""
    problems = [
        p
        for name, payloads in client.inbox.items()
        for i, payload in enumerate(payloads)
        for p in shape_problems(payload, OUTBOUND[name].shape, f"{name}#{i}")
    ]
    ack = {k: v for k, v in client.welcome.items() if k not in ("ok", "server_time")}
    return problems + (shape_problems(ack, WELCOME, "join ack") if ack else [])
