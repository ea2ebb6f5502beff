"""Declared schemas for untrusted JSON: typed fields with bounds, refusals with stable codes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

from core.errors import Refused

MAX_ID = 64


@dataclass(frozen=True)
class Field:
    """One payload field: its JSON type, whether it may be left out, and its bounds."""

    name: str
    kind: type
    required: bool = True
    max_len: int = MAX_ID
    choices: tuple[str, ...] = ()
    minimum: float = 1
    maximum: float = 2**31
    items: Spec | type | None = None  # lists: what each item is
    max_items: int = 100
    nullable: bool = False  # null is accepted and means the same as leaving the field out

    def parse(self, value: Any) -> Any:
        if self.kind is object or (value is None and self.nullable):
            return value  # object: any JSON value, the core checks its shape (answers)
        if self.kind in (int, float) and not _is_number(value, self.kind):
            raise _invalid(f"'{self.name}' must be a {_TYPE_NAMES[self.kind]}.")
        if self.kind is not float and not isinstance(value, self.kind):
            raise _invalid(f"'{self.name}' must be a {_TYPE_NAMES[self.kind]}.")
        if isinstance(value, str):
            self._check_text(value)
        if self.kind in (int, float) and not self.minimum <= cast(float, value) <= self.maximum:
            low, high = _shown(self.minimum), _shown(self.maximum)
            raise _invalid(f"'{self.name}' must be from {low} to {high}.")
        if isinstance(value, list):
            return self._parse_items(value)
        return value

    def _parse_items(self, value: list[Any]) -> list[Any]:
        if len(value) > self.max_items:
            raise _invalid(f"'{self.name}' can have at most {self.max_items} items.")
        if isinstance(self.items, Spec):
            return [self.items.parse(item) for item in value]
        if self.items is not None:
            item = Field(f"{self.name}[]", self.items, max_len=self.max_len,
                         minimum=self.minimum, maximum=self.maximum)  # fmt: skip
            return [item.parse(x) for x in value]
        return value

    def json_schema(self) -> dict[str, Any]:
        """This field as JSON Schema, for the OpenAPI document and the protocol reference."""
        plain = self._plain_schema()
        return {"anyOf": [plain, {"type": "null"}]} if self.nullable else plain

    def _plain_schema(self) -> dict[str, Any]:
        if self.kind is str:
            out: dict[str, Any] = {"type": "string", "maxLength": self.max_len}
            return {**out, "enum": list(self.choices)} if self.choices else out
        if self.kind in (int, float):
            kind = "integer" if self.kind is int else "number"
            return {"type": kind, "minimum": self.minimum, "maximum": self.maximum}
        if self.kind is list:
            return {"type": "array", "maxItems": self.max_items, "items": self._items_schema()}
        if self.kind is object:
            return {}
        return {"type": "boolean"}

    def _items_schema(self) -> dict[str, Any]:
        if isinstance(self.items, Spec):
            return self.items.json_schema()
        if self.items is None:
            return {}
        return Field("item", self.items, max_len=self.max_len).json_schema()

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
    float: "number",
}


@dataclass(frozen=True)
class Spec:
    """A JSON object's declared fields: anything else in it is refused."""

    fields: tuple[Field, ...]

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


def _shown(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _is_number(value: Any, kind: type) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) if kind is int else math.isfinite(value)


def _invalid(message: str) -> Refused:
    return Refused("invalid-payload", message)
