"""Tests of the settings loader: defaults, the TOML file, environment overrides and errors."""

import dataclasses
import tomllib
from pathlib import Path

import pytest

from config import (
    CONFIG_ENV,
    PACKAGED_CONFIG,
    ConfigError,
    IceServer,
    ServerSettings,
    Settings,
    load_settings,
)
from config.keys import Key, all_keys
from config.settings import Spec


def write_toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sabak.toml"
    path.write_text(text, encoding="utf-8")
    return path


def value_of(settings: Settings, dotted: str) -> object:
    section, name = dotted.split(".")
    return getattr(getattr(settings, section), name)


# --- defaults ----------------------------------------------------------------------------


def test_built_in_defaults_equal_the_shipped_file() -> None:
    assert load_settings(PACKAGED_CONFIG, env={}) == Settings()


def test_without_path_or_sabak_config_the_shipped_file_is_used() -> None:
    assert load_settings(env={}) == Settings()


def test_shipped_file_lists_every_key_and_no_other() -> None:
    shipped = tomllib.loads(PACKAGED_CONFIG.read_text(encoding="utf-8"))
    assert {s: set(t) for s, t in shipped.items()} == {s: set(t) for s, t in all_keys().items()}


def test_shipped_file_comments_every_key() -> None:
    lines = PACKAGED_CONFIG.read_text(encoding="utf-8").splitlines()
    for index, line in enumerate(lines):
        if "=" in line and not line.startswith("#"):
            assert lines[index - 1].startswith("#"), f"no comment above {line!r}"


# --- the file ----------------------------------------------------------------------------

FILE_CASES = [
    ("[server]\nport = 9000", "server.port", 9000),
    ('[server]\nhost = "0.0.0.0"', "server.host", "0.0.0.0"),
    ('[server]\npublic_url = "https://s.example"', "server.public_url", "https://s.example"),
    ('[server]\ndata_dir = "/srv/sabak"', "server.data_dir", Path("/srv/sabak")),
    ('[server]\nlog_level = "DEBUG"', "server.log_level", "debug"),
    ('[server]\nallowed_origins = ["https://a.kg"]', "server.allowed_origins", ("https://a.kg",)),
    ('[redis]\nurl = "redis://h:6379/1"', "redis.url", "redis://h:6379/1"),
    ('[redis]\nurl = ""', "redis.url", None),
    ("[redis]\nstart_timeout_s = 3", "redis.start_timeout_s", 3.0),
    ("[attendance]\npresent_min_fraction = 1", "attendance.present_min_fraction", 1.0),
    ("[attendance]\nretention_days = 30", "attendance.retention_days", 30),
    ('[media]\nice_host_addresses = ["127.0.0.1"]', "media.ice_host_addresses", ("127.0.0.1",)),
    ("[media]\nworkers = 64", "media.workers", 64),
]


@pytest.mark.parametrize(("text", "dotted", "expected"), FILE_CASES)
def test_file_overrides_a_default(tmp_path: Path, text: str, dotted: str, expected: object) -> None:
    settings = load_settings(write_toml(tmp_path, text), env={})
    assert value_of(settings, dotted) == expected
    assert settings.lesson == Settings().lesson  # untouched sections keep their defaults


def test_sabak_config_names_the_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[server]\nport = 9001")
    assert load_settings(env={CONFIG_ENV: str(path)}).server.port == 9001


def test_path_argument_wins_over_sabak_config(tmp_path: Path) -> None:
    path = write_toml(tmp_path, "[server]\nport = 9002")
    settings = load_settings(path, env={CONFIG_ENV: str(tmp_path / "missing.toml")})
    assert settings.server.port == 9002


# --- the environment ---------------------------------------------------------------------

ENV_CASES = [
    ("SABAK_SERVER_PORT", "9000", "server.port", 9000),
    ("SABAK_SERVER_HOST", "::1", "server.host", "::1"),
    ("SABAK_SERVER_PUBLIC_URL", "https://s.example/", "server.public_url", "https://s.example/"),
    ("SABAK_SERVER_PUBLIC_URL", "", "server.public_url", None),
    ("SABAK_SERVER_DATA_DIR", "data", "server.data_dir", Path("data")),
    ("SABAK_SERVER_LOG_LEVEL", "warning", "server.log_level", "warning"),
    (
        "SABAK_SERVER_ALLOWED_ORIGINS",
        "http://a, https://b,",
        "server.allowed_origins",
        ("http://a", "https://b"),
    ),
    ("SABAK_SERVER_ALLOWED_ORIGINS", "", "server.allowed_origins", ()),
    ("SABAK_REDIS_URL", "redis://localhost:6379/0", "redis.url", "redis://localhost:6379/0"),
    ("SABAK_REDIS_APPENDFSYNC", "always", "redis.appendfsync", "always"),
    ("SABAK_REDIS_KEY_PREFIX", "test", "redis.key_prefix", "test"),
    ("SABAK_REDIS_START_TIMEOUT_S", "0.5", "redis.start_timeout_s", 0.5),
    ("SABAK_AUTH_RESUME_GRACE_S", " 30 ", "auth.resume_grace_s", 30.0),
    ("SABAK_LESSON_CHAT_HISTORY_REPLAY", "0", "lesson.chat_history_replay", 0),
    ("SABAK_ATTENDANCE_RANDOM_CHECKS", "20", "attendance.random_checks", 20),
    (
        "SABAK_MEDIA_ICE_ACCEPT_REMOTE_IPS",
        "127.0.0.1",
        "media.ice_accept_remote_ips",
        ("127.0.0.1",),
    ),
]


@pytest.mark.parametrize(("name", "raw", "dotted", "expected"), ENV_CASES)
def test_environment_overrides_a_default(
    name: str, raw: str, dotted: str, expected: object
) -> None:
    assert value_of(load_settings(env={name: raw}), dotted) == expected


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    path = write_toml(tmp_path, '[server]\nport = 9000\nhost = "0.0.0.0"')
    settings = load_settings(path, env={"SABAK_SERVER_PORT": "9100"})
    assert (settings.server.host, settings.server.port) == ("0.0.0.0", 9100)


@pytest.mark.parametrize("name", [CONFIG_ENV, "SABAK_DEBUG_TOOL", "SABAKPORT", "sabak_server_x"])
def test_other_variables_are_ignored(name: str, tmp_path: Path) -> None:
    env = {name: str(write_toml(tmp_path, "")) if name == CONFIG_ENV else "x"}
    assert load_settings(env=env) == Settings()


BOOL_CASES = [
    ("true", True),
    ("TRUE", True),
    ("1", True),
    ("yes", True),
    ("false", False),
    ("0", False),
    ("no", False),
    (" No ", False),
]


@pytest.mark.parametrize(("raw", "expected"), BOOL_CASES)
def test_booleans_from_the_environment(raw: str, expected: bool) -> None:
    # No shipped setting is a bool yet, so the parser is exercised through a Key directly.
    key = Key("demo", "flag", bool, Spec())
    assert key.parse(raw, "SABAK_DEMO_FLAG", from_env=True) is expected


@pytest.mark.parametrize(("raw", "from_env"), [("maybe", True), ("true", False), (1, False)])
def test_bad_booleans(raw: object, from_env: bool) -> None:
    with pytest.raises(ConfigError, match=r"^demo\.flag: expected true or false"):
        Key("demo", "flag", bool, Spec()).parse(raw, "test", from_env=from_env)


# --- errors ------------------------------------------------------------------------------

BAD_ENV = [
    ("SABAK_SERVER_PORT", "abc", "server.port: expected an integer from 1 to 65535, got 'abc'"),
    ("SABAK_SERVER_PORT", "0", "server.port: expected an integer from 1 to 65535"),
    ("SABAK_SERVER_PORT", "65536", "server.port: expected an integer from 1 to 65535"),
    ("SABAK_SERVER_PORT", "80.5", "server.port: expected an integer"),
    ("SABAK_SERVER_HOST", " ", "server.host: expected a non-empty string"),
    ("SABAK_SERVER_DATA_DIR", "", "server.data_dir: expected a non-empty path"),
    ("SABAK_SERVER_LOG_LEVEL", "loud", "server.log_level: expected one of debug, info, warning"),
    ("SABAK_SERVER_PUBLIC_URL", "sabak.kg", "server.public_url: expected a string (empty for"),
    ("SABAK_SERVER_ALLOWED_ORIGINS", "https://a,b", "server.allowed_origins: expected each item"),
    ("SABAK_REDIS_APPENDFSYNC", "sometimes", "redis.appendfsync: expected one of always"),
    ("SABAK_REDIS_START_TIMEOUT_S", "0.1", "redis.start_timeout_s: expected a number from 0.5"),
    ("SABAK_REDIS_START_TIMEOUT_S", "nan", "redis.start_timeout_s: expected a number"),
    ("SABAK_REDIS_START_TIMEOUT_S", "inf", "redis.start_timeout_s: expected a number"),
    ("SABAK_ATTENDANCE_PRESENT_MIN_FRACTION", "1.5", "attendance.present_min_fraction: expected"),
    ("SABAK_MEDIA_WORKERS", "-1", "media.workers: expected an integer from 0 to 64"),
    ("SABAK_MEDIA_ICE_SERVERS", "stun:x", "media.ice_servers: expected a JSON array"),
    ("SABAK_MEDIA_ICE_SERVERS", "{}", "media.ice_servers: expected a list of ICE servers"),
    ("SABAK_MEDIA_ICE_SERVERS", "[1]", "media.ice_servers[0]: expected a table"),
    ("SABAK_MEDIA_ICE_SERVERS", '[{"urls": []}]', "media.ice_servers[0].urls: expected a non"),
    ("SABAK_MEDIA_ICE_SERVERS", '[{"urls": "http://x"}]', "media.ice_servers[0].urls: expected"),
    (
        "SABAK_MEDIA_ICE_SERVERS",
        '[{"urls": "stun:x", "user": "a"}]',
        "media.ice_servers[0]: expected only the keys urls, username, credential, got 'user'",
    ),
    (
        "SABAK_MEDIA_ICE_SERVERS",
        '[{"urls": "stun:x", "username": 5}]',
        "media.ice_servers[0].username: expected a string, got 5",
    ),
    ("SABAK_SERVER_PROT", "1", "SABAK_SERVER_PROT: no such setting in [server]"),
    ("SABAK_REDIS_", "1", "SABAK_REDIS_: no such setting in [redis]"),
]


@pytest.mark.parametrize(("name", "raw", "message"), BAD_ENV)
def test_bad_environment_values_name_the_key(name: str, raw: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={name: raw})
    assert str(caught.value).startswith(message)
    assert name in str(caught.value)


BAD_FILE = [
    ('[server]\nport = "8080"', "server.port: expected an integer from 1 to 65535, got '8080'"),
    ("[server]\nport = true", "server.port: expected an integer from 1 to 65535, got True"),
    ("[server]\nport = 8080.0", "server.port: expected an integer"),
    ("[server]\nhost = 1", "server.host: expected a non-empty string, got 1"),
    ("[server]\npublic_url = false", "server.public_url: expected a string (empty for none)"),
    ("[server]\ndata_dir = []", "server.data_dir: expected a non-empty path"),
    ('[server]\nallowed_origins = "https://a"', "server.allowed_origins: expected a list of"),
    ("[server]\nallowed_origins = [1]", "server.allowed_origins: expected a list of"),
    ('[redis]\nstart_timeout_s = "1"', "redis.start_timeout_s: expected a number"),
    ("[redis]\noutbox_max_events = 0", "redis.outbox_max_events: expected an integer from 1 to"),
    ("[lesson]\nchat_rate_window_s = 0.05", "lesson.chat_rate_window_s: expected a number from"),
    ('[server]\nlog_level = "trace"', "server.log_level: expected one of debug, info, warning"),
    ("[server]\nprot = 1", "server.prot: unknown setting"),
    ("[sever]\nport = 1", "sever: unknown section"),
    ("server = 1", "server: expected a table [server]"),
    ("[media]\nice_servers = [1]", "media.ice_servers[0]: expected a table"),
    ("[[media.ice_servers]]\nusername = 'a'", "media.ice_servers[0].urls: expected a non-empty"),
    ("[server\n", "config file"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILE)
def test_bad_file_values_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write_toml(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    assert str(caught.value).startswith(message)
    assert str(path) in str(caught.value)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(env={CONFIG_ENV: str(tmp_path / "missing.toml")})


def test_secret_values_stay_out_of_errors_and_repr() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"SABAK_REDIS_URL": "http://user:hunter2@h"})
    assert "hunter2" not in str(caught.value)
    settings = load_settings(env={"SABAK_REDIS_URL": "redis://:hunter2@h"})
    assert "hunter2" not in repr(settings)


# --- ICE servers -------------------------------------------------------------------------

ICE_TOML = """
[[media.ice_servers]]
urls = ["stun:stun.example.org:3478"]

[[media.ice_servers]]
urls = ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"]
username = "sabak"
credential = "secret"
"""

ICE_EXPECTED = (
    IceServer(urls=("stun:stun.example.org:3478",)),
    IceServer(
        urls=("turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"),
        username="sabak",
        credential="secret",
    ),
)


def test_ice_servers_from_the_file(tmp_path: Path) -> None:
    settings = load_settings(write_toml(tmp_path, ICE_TOML), env={})
    assert settings.media.ice_servers == ICE_EXPECTED


def test_ice_servers_from_the_environment() -> None:
    raw = (
        '[{"urls": "stun:stun.example.org:3478"},'
        ' {"urls": ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"],'
        '  "username": "sabak", "credential": "secret"}]'
    )
    settings = load_settings(env={"SABAK_MEDIA_ICE_SERVERS": raw})
    assert settings.media.ice_servers == ICE_EXPECTED


def test_empty_ice_servers_from_the_environment() -> None:
    settings = load_settings(env={"SABAK_MEDIA_ICE_SERVERS": "[]"})
    assert settings.media.ice_servers == ()


# --- the object --------------------------------------------------------------------------


def test_settings_are_frozen() -> None:
    settings = Settings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.server = ServerSettings()  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.server.port = 1  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        IceServer(urls=("stun:x",)).username = "u"  # type: ignore[misc]


URL_CASES = [
    ({}, "http://127.0.0.1:8080"),
    ({"SABAK_SERVER_HOST": "::1", "SABAK_SERVER_PORT": "9000"}, "http://[::1]:9000"),
    ({"SABAK_SERVER_PUBLIC_URL": "https://sabak.kg/"}, "https://sabak.kg"),
]


@pytest.mark.parametrize(("env", "expected"), URL_CASES)
def test_public_base_url(env: dict[str, str], expected: str) -> None:
    assert load_settings(env=env).public_base_url == expected


def test_data_path_is_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(env={}).data_path == tmp_path.resolve() / "var"
    absolute = load_settings(env={"SABAK_SERVER_DATA_DIR": str(tmp_path / "d")}).data_path
    assert absolute == tmp_path.resolve() / "d"
