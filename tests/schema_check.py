"""A JSON Schema checker for the subset the OpenAPI document uses (no dependency needed).

type (one or a list), enum, properties, required, additionalProperties (false or a schema),
items, and local $refs to #/components/schemas. Anything else in a schema is an error, so
that the document cannot use a keyword this checker would silently ignore.
"""

from __future__ import annotations

from typing import Any

KNOWN = {"type", "enum", "properties", "required", "additionalProperties", "items", "$ref",
         "description"}  # fmt: skip
TYPES: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def problems(
    value: Any, schema: dict[str, Any], components: dict[str, Any], at: str = "$"
) -> list[str]:
    """Every way `value` breaks `schema`, each with where it is; empty if it conforms."""
    unknown = set(schema) - KNOWN
    if unknown:
        return [f"{at}: the checker does not know {sorted(unknown)}"]
    if "$ref" in schema:
        return problems(value, components[schema["$ref"].rsplit("/", 1)[1]], components, at)
    kinds = schema.get("type")
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if not any(TYPES[k](value) for k in kinds):
            return [f"{at}: {value!r:.60} is not {'/'.join(kinds)}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{at}: {value!r:.60} is not one of {schema['enum']}"]
    out: list[str] = []
    if isinstance(value, dict):
        out += _object(value, schema, components, at)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            out += problems(item, schema["items"], components, f"{at}[{i}]")
    return out


def _object(
    value: dict[str, Any], schema: dict[str, Any], components: dict[str, Any], at: str
) -> list[str]:
    props = schema.get("properties", {})
    out = [f"{at}: '{k}' is missing" for k in schema.get("required", []) if k not in value]
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in props:
            out += problems(item, props[key], components, f"{at}.{key}")
        elif extra is False:
            out.append(f"{at}: '{key}' is not in the schema")
        elif isinstance(extra, dict):
            out += problems(item, extra, components, f"{at}.{key}")
    return out
