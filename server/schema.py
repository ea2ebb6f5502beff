"""Declared schemas for untrusted JSON: typed fields with bounds, refusals with stable codes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from server.classroom.commands import Command
from server.classroom.errors import Refused

MAX_ID = 64


@dataclass(frozen=True)
class Field:
    """One payload field: its JSON type, whether it may be left out, and its bounds."""

    name: str
    kind: type
    required: bool = True
    max_len: int = MAX_ID
    choices: tuple[str, ...] = ()
    minimum: int = 1
    maximum: int = 2**31

    def parse(self, value: Any) -> Any:
        if self.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise _invalid(f"'{self.name}' must be a whole number.")
        if not isinstance(value, self.kind):
            raise _invalid(f"'{self.name}' must be a {_TYPE_NAMES[self.kind]}.")
        if isinstance(value, str):
            self._check_text(value)
        if self.kind is int and not self.minimum <= cast(int, value) <= self.maximum:
            raise _invalid(f"'{self.name}' must be from {self.minimum} to {self.maximum}.")
        return value

    def json_schema(self) -> dict[str, Any]:
        """This field as JSON Schema, for the OpenAPI document and the protocol reference."""
        if self.kind is str:
            out: dict[str, Any] = {"type": "string", "maxLength": self.max_len}
            return {**out, "enum": list(self.choices)} if self.choices else out
        if self.kind is int:
            return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        if self.kind is list:
            return {"type": "array"}
        return {"type": "boolean"}

    def _check_text(self, value: str) -> None:
        if len(value) > self.max_len:
            raise _invalid(f"'{self.name}' is longer than {self.max_len} characters.")
        if self.choices and value not in self.choices:
            raise _invalid(f"'{self.name}' must be one of: {', '.join(self.choices)}.")
        if self.kind is str and self.name.endswith("id") and not value:
            raise _invalid(f"'{self.name}' cannot be empty.")


_TYPE_NAMES: dict[type, str] = {
    str: "string",
    int: "whole number",
    bool: "true or false",
    list: "list",
}


@dataclass(frozen=True)
class Spec:
    """A client-to-server event: its fields and the command it becomes (None: handled apart)."""

    fields: tuple[Field, ...]
    build: Callable[..., Command] | None = None
    teacher_only: bool = False

    def parse(self, payload: Any) -> dict[str, Any]:
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise _invalid("The payload must be a JSON object.")
        known = {f.name for f in self.fields}
        extra = sorted(str(k)[:40] for k in payload if k not in known)
        if extra:
            raise _invalid(f"Unknown field '{extra[0]}'.")
        missing = [f.name for f in self.fields if f.required and f.name not in payload]
        if missing:
            raise _invalid(f"'{missing[0]}' is required.")
        return {f.name: f.parse(payload[f.name]) for f in self.fields if f.name in payload}

    def json_schema(self) -> dict[str, Any]:
        return {
            "type": "object",
            "additionalProperties": False,
            "properties": {f.name: f.json_schema() for f in self.fields},
            "required": [f.name for f in self.fields if f.required],
        }

    def command(self, payload: Any) -> Command:
        assert self.build is not None
        return self.build(**self.parse(payload))


def _invalid(message: str) -> Refused:
    return Refused("invalid-payload", message)
