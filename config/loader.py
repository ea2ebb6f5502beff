"""Loading the settings: defaults, then the TOML file, then SABAK_* environment overrides."""

import ipaddress
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from config.keys import ENV_PREFIX, Key, all_keys, section_classes
from config.settings import MEMORY_STORE, ConfigError, Settings, in_memory

PACKAGED_CONFIG = Path(__file__).with_name("sabak.toml")
CONFIG_ENV = "SABAK_CONFIG"

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
            "server.cluster: several server processes need one shared Redis: set redis.url "
            "(SABAK_REDIS_URL)"
        )
    if settings.server.cluster and in_memory(settings.redis.url):
        raise ConfigError(
            "server.cluster: several server processes need one shared Redis; the in-memory "
            f"store (redis.url = {MEMORY_STORE!r}) lives in one process only"
        )
    _check_networks(settings.server.trusted_proxies, "server.trusted_proxies")
    return settings


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
