"""The catalogue of settings: every key with its section, type, limits and environment name."""

import dataclasses
from dataclasses import dataclass
from typing import Any

from config import values
from config.settings import SPEC_FIELD, Settings, Spec

ENV_PREFIX = "SABAK_"


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
        return values.parse(
            self.kind, raw, self.spec, from_env=from_env, key=self.dotted, source=source
        )


def section_classes() -> dict[str, type[Any]]:
    """The section dataclass of each TOML table, by table name."""
    return {f.name: f.type for f in dataclasses.fields(Settings) if isinstance(f.type, type)}


def all_keys() -> dict[str, dict[str, Key]]:
    """Every setting, by section name and then key name."""
    return {section: _section_keys(section, cls) for section, cls in section_classes().items()}


def _section_keys(section: str, cls: type[Any]) -> dict[str, Key]:
    fields = dataclasses.fields(cls)
    return {
        f.name: Key(section, f.name, f.type, f.metadata.get(SPEC_FIELD, Spec())) for f in fields
    }
