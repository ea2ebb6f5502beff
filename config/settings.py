"""The Settings object: typed defaults, then the TOML file, then SABAK_* environment overrides."""

import dataclasses
import ipaddress
import json
import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

PACKAGED_CONFIG = Path(__file__).with_name("sabak.toml")
CONFIG_ENV = "SABAK_CONFIG"
ENV_PREFIX = "SABAK_"
# [redis] url of the in-memory store: tests and one-process trials, nothing survives a restart.
MEMORY_STORE = "memory://"
_SPEC = "sabak_spec"


class ConfigError(ValueError):
    """A configuration value is unknown or not what its key expects; the message names the key."""


@dataclass(frozen=True)
class Spec:
    """How the loader checks and shows one setting; prefixes apply to each string of it."""

    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    secret: bool = False


def setting(
    default: T,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] = (),
    prefixes: tuple[str, ...] = (),
    secret: bool = False,
) -> T:
    """A dataclass field with a default and the constraints the loader enforces."""
    spec = Spec(minimum, maximum, choices, prefixes, secret)
    # Secrets stay out of repr() so that logging the settings cannot leak them.
    return field(default=default, metadata={_SPEC: spec}, repr=not secret)


@dataclass(frozen=True)
class IceServer:
    """One STUN or TURN server, shaped like the browser's RTCIceServer."""

    urls: tuple[str, ...]
    username: str | None = None
    credential: str | None = setting(None, secret=True)


_HTTP = ("http://", "https://")


@dataclass(frozen=True)
class ServerSettings:
    """[server]: where the HTTP server listens and where it keeps its files."""

    host: str = "127.0.0.1"
    port: int = setting(8080, minimum=1, maximum=65535)
    public_url: str | None = setting(None, prefixes=_HTTP)
    data_dir: Path = Path("var")
    log_level: str = setting("info", choices=("debug", "info", "warning", "error"))
    max_http_body_bytes: int = setting(1_000_000, minimum=1024, maximum=100_000_000)
    allowed_origins: tuple[str, ...] = setting((), prefixes=_HTTP)
    cluster: bool = False
    # permessage-deflate on the socket.io WebSocket: off by default, as in Node's socket.io;
    # on, it costs a zlib state per student (~110 KB) and a deflate of every frame per socket
    # (see config/sabak.toml).
    websocket_deflate: bool = False
    # engine.io's ping: a silent connection is closed ping_interval_s + ping_timeout_s after
    # its last pong, which bounds how late a silent drop is noticed (see config/sabak.toml).
    ping_interval_s: float = setting(10.0, minimum=1, maximum=300)
    ping_timeout_s: float = setting(10.0, minimum=1, maximum=300)
    # Proxies (addresses or CIDRs) whose X-Forwarded-For names the client (see sabak.toml).
    trusted_proxies: tuple[str, ...] = ()
    # Hostile connections (docs/reliability.md): a session that has not connected to socket.io
    # in time is closed; one address holds at most so many sessions; a connection without a
    # complete request for http_idle_timeout_s (slow headers, idle keep-alive) is closed.
    connect_timeout_s: float = setting(10.0, minimum=1, maximum=300)
    sessions_per_address: int = setting(200, minimum=1, maximum=1_000_000)
    http_idle_timeout_s: float = setting(20.0, minimum=1, maximum=3600)


@dataclass(frozen=True)
class RedisSettings:
    """[redis]: an external Redis, or how to run the embedded one."""

    url: str | None = setting(
        None, prefixes=("redis://", "rediss://", "unix://", MEMORY_STORE), secret=True
    )
    appendfsync: str = setting("everysec", choices=("always", "everysec", "no"))
    key_prefix: str = "sabak"
    outbox_max_events: int = setting(10_000, minimum=1, maximum=10_000_000)
    start_timeout_s: float = setting(10.0, minimum=0.5, maximum=120)


@dataclass(frozen=True)
class AuthSettings:
    """[auth]: lifetimes of personal links and resume tokens, and guest-code throttling."""

    link_ttl_days: int = setting(365, minimum=1, maximum=3650)
    teacher_link_ttl_days: int = setting(30, minimum=1, maximum=3650)
    resume_grace_s: float = setting(120.0, minimum=1, maximum=3600)
    resume_token_hours: float = setting(12.0, minimum=1, maximum=168)
    guest_code_attempts_per_minute: int = setting(10, minimum=1, maximum=1000)
    guest_entries_per_address_per_minute: int = setting(20, minimum=1, maximum=10_000)
    guest_entries_per_lesson_per_minute: int = setting(60, minimum=1, maximum=10_000)
    waiting_guest_expiry_s: float = setting(30.0, minimum=1, maximum=3600)


@dataclass(frozen=True)
class LessonSettings:
    """[lesson]: chat, raised-hand and other budgets inside a live lesson; its log ceiling."""

    chat_max_chars: int = setting(1000, minimum=1, maximum=100_000)
    chat_rate_messages: int = setting(5, minimum=1, maximum=1000)
    chat_rate_window_s: float = setting(5.0, minimum=0.1, maximum=3600)
    chat_history_replay: int = setting(500, minimum=0, maximum=100_000)
    hand_rate_per_minute: int = setting(20, minimum=1, maximum=1000)
    quiz_max_extension_s: float = setting(120.0, minimum=0, maximum=3600)
    waiting_room_max: int = setting(50, minimum=1, maximum=10_000)
    events_per_minute: int = setting(120, minimum=1, maximum=100_000)
    join_rate_per_minute: int = setting(10, minimum=1, maximum=1000)
    visibility_interval_s: float = setting(5.0, minimum=0, maximum=600)
    answer_changes: int = setting(3, minimum=0, maximum=1000)
    max_events: int = setting(200_000, minimum=100, maximum=100_000_000)
    auto_end_no_teacher_min: float = setting(30.0, minimum=0.01, maximum=1440)
    auto_end_overrun_min: float = setting(120.0, minimum=0, maximum=1440)


@dataclass(frozen=True)
class AttendanceSettings:
    """[attendance]: presence checks and how a student's attendance is classified."""

    check_window_s: float = setting(60.0, minimum=5, maximum=3600)
    random_checks: int = setting(0, minimum=0, maximum=20)
    late_after_min: float = setting(10.0, minimum=0, maximum=600)
    left_early_before_min: float = setting(10.0, minimum=0, maximum=600)
    present_min_fraction: float = setting(0.5, minimum=0, maximum=1)
    retention_days: int = setting(0, minimum=0, maximum=100_000)
    heartbeat_s: float = setting(5.0, minimum=1, maximum=60)
    planned_lesson_min: float = setting(45.0, minimum=5, maximum=600)


@dataclass(frozen=True)
class MediaSettings:
    """[media]: ICE servers and candidates for WebRTC, the forwarding workers and their limits."""

    ice_servers: tuple[IceServer, ...] = ()
    ice_host_addresses: tuple[str, ...] = ()
    ice_accept_remote_ips: tuple[str, ...] = ()
    workers: int = setting(0, minimum=0, maximum=64)
    # coturn's use-auth-secret: each admitted participant gets their own TURN credentials.
    turn_secret: str | None = setting(None, secret=True)
    turn_ttl_s: int = setting(14_400, minimum=300, maximum=86_400)
    max_peers_per_lesson: int = setting(300, minimum=2, maximum=100_000)
    worker_ping_s: float = setting(2.0, minimum=0.1, maximum=60)
    worker_ping_timeout_s: float = setting(10.0, minimum=0.5, maximum=600)


@dataclass(frozen=True)
class Settings:
    """Every setting of one Sabak server, one frozen section per TOML table."""

    server: ServerSettings = field(default_factory=ServerSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    lesson: LessonSettings = field(default_factory=LessonSettings)
    attendance: AttendanceSettings = field(default_factory=AttendanceSettings)
    media: MediaSettings = field(default_factory=MediaSettings)

    @property
    def public_base_url(self) -> str:
        """The base of personal links, without a trailing slash."""
        if self.server.public_url is not None:
            return self.server.public_url.rstrip("/")
        host = self.server.host
        if ":" in host:
            host = f"[{host}]"  # an IPv6 literal needs brackets inside a URL
        return f"http://{host}:{self.server.port}"

    @property
    def data_path(self) -> Path:
        """The data directory as an absolute path, resolved against the current directory."""
        return self.server.data_dir.expanduser().resolve()


# --- value parsing -----------------------------------------------------------------------


class _Same:
    """Marks a _BadValue whose offending value is the raw value itself."""


_SAME = _Same()


class _BadValue(Exception):
    """Raised by a parser; turned into a ConfigError once the key and source are known."""

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


# --- the catalogue of settings -----------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """One setting: its section, name, declared type and constraints."""

    section: str
    name: str
    kind: object
    spec: Spec

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.name}"

    @property
    def env_name(self) -> str:
        return f"{ENV_PREFIX}{self.section}_{self.name}".upper()

    def parse(self, raw: object, source: str, *, from_env: bool) -> object:
        """The typed value of raw, or a ConfigError naming this key and the source."""
        try:
            return _PARSERS[self.kind](raw, from_env, self.spec)
        except _BadValue as bad:
            got = raw if isinstance(bad.got, _Same) else bad.got
            shown = "a value that is not shown (secret)" if self.spec.secret else repr(got)
            message = f"{self.dotted}{bad.where}: expected {bad.expected}, got {shown}"
            raise ConfigError(f"{message} (from {source})") from None


def section_classes() -> dict[str, type[Any]]:
    """The section dataclass of each TOML table, by table name."""
    return {f.name: f.type for f in dataclasses.fields(Settings) if isinstance(f.type, type)}


def all_keys() -> dict[str, dict[str, Key]]:
    """Every setting, by section name and then key name."""
    return {section: _section_keys(section, cls) for section, cls in section_classes().items()}


def _section_keys(section: str, cls: type[Any]) -> dict[str, Key]:
    fields = dataclasses.fields(cls)
    return {f.name: Key(section, f.name, f.type, f.metadata.get(_SPEC, Spec())) for f in fields}


# --- loading -----------------------------------------------------------------------------

_Overrides = dict[str, dict[str, object]]


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then the TOML file, then SABAK_<SECTION>_<KEY> variables; call once at start."""
    env = os.environ if env is None else env
    keys = all_keys()
    overrides = _from_file(_config_path(path, env), keys)
    for section, values in _from_env(env, keys).items():
        overrides.setdefault(section, {}).update(values)
    sections = {name: cls(**overrides.get(name, {})) for name, cls in section_classes().items()}
    settings = Settings(**sections)
    if settings.server.cluster and settings.redis.url is None:
        raise ConfigError(
            "store.cluster: several server processes need one shared Redis: set redis.url "
            "(SABAK_REDIS_URL)"
        )
    if settings.server.cluster and in_memory(settings.redis.url):
        raise ConfigError(
            "server.cluster: several server processes need one shared Redis; the in-memory "
            f"store (redis.url = {MEMORY_STORE!r}) lives in one process only"
        )
    _check_networks(settings.server.trusted_proxies, "server.trusted_proxies")
    return settings


def in_memory(url: str | None) -> bool:
    """Whether this [redis] url names the in-memory store rather than a Redis."""
    return url is not None and url.startswith(MEMORY_STORE)


def _check_networks(values: tuple[str, ...], key: str) -> None:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ConfigError(f"{key}: {value!r} is not an IP address or CIDR") from None


def _config_path(path: Path | None, env: Mapping[str, str]) -> Path:
    if path is not None:
        return path
    from_env = env.get(CONFIG_ENV, "")
    return Path(from_env) if from_env else PACKAGED_CONFIG


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def _from_file(path: Path, keys: dict[str, dict[str, Key]]) -> _Overrides:
    overrides: _Overrides = {}
    for section, table in _read_toml(path).items():
        if section not in keys:
            raise ConfigError(f"{section}: unknown section in {path}")
        if not isinstance(table, dict):
            raise ConfigError(f"{section}: expected a table [{section}], got {table!r} in {path}")
        for name, raw in table.items():
            key = keys[section].get(name)
            if key is None:
                raise ConfigError(f"{section}.{name}: unknown setting in {path}")
            overrides.setdefault(section, {})[name] = key.parse(raw, str(path), from_env=False)
    return overrides


def _from_env(env: Mapping[str, str], keys: dict[str, dict[str, Key]]) -> _Overrides:
    by_env = {key.env_name: key for table in keys.values() for key in table.values()}
    overrides: _Overrides = {}
    for name, raw in env.items():
        key = by_env.get(name)
        if key is not None:
            overrides.setdefault(key.section, {})[key.name] = key.parse(raw, name, from_env=True)
        elif (section := _env_section(name, keys)) is not None:
            known = ", ".join(key.env_name for key in keys[section].values())
            raise ConfigError(f"{name}: no such setting in [{section}] (known: {known})")
    return overrides


def _env_section(name: str, keys: Mapping[str, object]) -> str | None:
    # Only SABAK_<SECTION>_* names are ours; other SABAK_* variables belong to tools or tests.
    if name == CONFIG_ENV:
        return None
    for section in keys:
        if name.startswith(f"{ENV_PREFIX}{section.upper()}_"):
            return section
    return None
