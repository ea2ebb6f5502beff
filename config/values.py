"""Setting values: how a raw TOML or environment value becomes the typed value of its key."""

import json
import math
from collections.abc import Callable
from pathlib import Path

from config.settings import ConfigError, IceServer, Spec


class _Same:
    """Marks a _BadValue whose offending value is the raw value itself."""


_SAME = _Same()


class _BadValue(Exception):
    """Raised by a parser; turned into a ConfigError by parse() with the key and source."""

    def __init__(self, expected: str, *, where: str = "", got: object = _SAME) -> None:
        super().__init__(expected)
        self.expected = expected
        self.where = where
        self.got = got


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _bounds_text(spec: Spec) -> str:
    low, high = spec.minimum, spec.maximum
    if low is not None and high is not None:
        return f" from {_number_text(low)} to {_number_text(high)}"
    if low is not None:
        return f" of at least {_number_text(low)}"
    return "" if high is None else f" of at most {_number_text(high)}"


def _check_bounds(value: float, spec: Spec, expected: str) -> None:
    if spec.minimum is not None and not value >= spec.minimum:
        raise _BadValue(expected)
    if spec.maximum is not None and not value <= spec.maximum:
        raise _BadValue(expected)


def _parse_int(raw: object, from_env: bool, spec: Spec) -> int:
    expected = "an integer" + _bounds_text(spec)
    if from_env and isinstance(raw, str):
        try:
            raw = int(raw.strip())
        except ValueError:
            raise _BadValue(expected) from None
    if not isinstance(raw, int) or isinstance(raw, bool):  # bool is an int subclass
        raise _BadValue(expected)
    _check_bounds(raw, spec, expected)
    return raw


def _parse_float(raw: object, from_env: bool, spec: Spec) -> float:
    expected = "a number" + _bounds_text(spec)
    if from_env and isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            raise _BadValue(expected) from None
    if not isinstance(raw, int | float) or isinstance(raw, bool) or not math.isfinite(raw):
        raise _BadValue(expected)
    _check_bounds(raw, spec, expected)
    return float(raw)


_ENV_BOOLS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _parse_bool(raw: object, from_env: bool, spec: Spec) -> bool:
    if from_env and isinstance(raw, str) and raw.strip().lower() in _ENV_BOOLS:
        return _ENV_BOOLS[raw.strip().lower()]
    if isinstance(raw, bool) and not from_env:
        return raw
    raise _BadValue("true or false (or 1/0, yes/no)" if from_env else "true or false")


def _check_prefix(text: str, spec: Spec, expected: str, got: object = _SAME) -> None:
    if spec.prefixes and not text.startswith(spec.prefixes):
        raise _BadValue(f"{expected} starting with {' or '.join(spec.prefixes)}", got=got)


def _parse_str(raw: object, from_env: bool, spec: Spec) -> str:
    if spec.choices:
        if isinstance(raw, str) and raw.strip().lower() in spec.choices:
            return raw.strip().lower()
        raise _BadValue("one of " + ", ".join(spec.choices))
    if not isinstance(raw, str) or not raw.strip():
        raise _BadValue("a non-empty string")
    _check_prefix(raw, spec, "a string")
    return raw


def _parse_optional_str(raw: object, from_env: bool, spec: Spec) -> str | None:
    if raw == "":
        return None
    if not isinstance(raw, str):
        raise _BadValue("a string (empty for none)")
    _check_prefix(raw, spec, "a string (empty for none)")
    return raw


def _parse_path(raw: object, from_env: bool, spec: Spec) -> Path:
    if not isinstance(raw, str) or not raw.strip():
        raise _BadValue("a non-empty path")
    return Path(raw)


def _parse_str_tuple(raw: object, from_env: bool, spec: Spec) -> tuple[str, ...]:
    if from_env and isinstance(raw, str):
        raw = [item.strip() for item in raw.split(",") if item.strip()]
    if not isinstance(raw, list) or not all(isinstance(item, str) and item for item in raw):
        raise _BadValue("a comma-separated list" if from_env else "a list of non-empty strings")
    for item in raw:
        _check_prefix(item, spec, "each item", got=item)
    return tuple(raw)


_ICE_KEYS = ("urls", "username", "credential")
_ICE_SCHEMES = ("stun:", "stuns:", "turn:", "turns:")


def _parse_ice_servers(raw: object, from_env: bool, spec: Spec) -> tuple[IceServer, ...]:
    items = raw
    if from_env and isinstance(raw, str):
        try:
            items = json.loads(raw)
        except ValueError:
            raise _BadValue("a JSON array of ICE server objects") from None
    if not isinstance(items, list):
        raise _BadValue("a list of ICE servers, each with urls and optional username, credential")
    return tuple(_parse_ice_server(item, f"[{index}]") for index, item in enumerate(items))


def _parse_ice_server(item: object, where: str) -> IceServer:
    if not isinstance(item, dict):
        raise _BadValue("a table with urls, username, credential", where=where, got=item)
    for key in item:
        if key not in _ICE_KEYS:
            raise _BadValue("only the keys " + ", ".join(_ICE_KEYS), where=where, got=key)
    return IceServer(
        urls=_parse_ice_urls(item.get("urls"), f"{where}.urls"),
        username=_parse_ice_text(item.get("username"), f"{where}.username"),
        credential=_parse_ice_text(item.get("credential"), f"{where}.credential"),
    )


def _parse_ice_urls(raw: object, where: str) -> tuple[str, ...]:
    urls = [raw] if isinstance(raw, str) else raw  # RTCIceServer also accepts one string
    expected = "a non-empty list of stun:/stuns:/turn:/turns: URLs"
    if not isinstance(urls, list) or not urls:
        raise _BadValue(expected, where=where, got=raw)
    for url in urls:
        if not isinstance(url, str) or not url.startswith(_ICE_SCHEMES):
            raise _BadValue(expected, where=where, got=url)
    return tuple(urls)


def _parse_ice_text(raw: object, where: str) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str):
        raise _BadValue("a string", where=where, got=raw)
    return raw


_Parser = Callable[[object, bool, Spec], object]
_PARSERS: dict[object, _Parser] = {
    int: _parse_int,
    float: _parse_float,
    bool: _parse_bool,
    str: _parse_str,
    str | None: _parse_optional_str,
    Path: _parse_path,
    tuple[str, ...]: _parse_str_tuple,
    tuple[IceServer, ...]: _parse_ice_servers,
}


def parse(
    kind: object, raw: object, spec: Spec, *, from_env: bool, key: str, source: str
) -> object:
    """The typed value of raw for a setting of type kind, or a ConfigError naming key and source."""
    try:
        return _PARSERS[kind](raw, from_env, spec)
    except _BadValue as bad:
        got = raw if isinstance(bad.got, _Same) else bad.got
        shown = "a value that is not shown (secret)" if spec.secret else repr(got)
        message = f"{key}{bad.where}: expected {bad.expected}, got {shown}"
        raise ConfigError(f"{message} (from {source})") from None
