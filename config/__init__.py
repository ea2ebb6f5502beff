"""Sabak configuration: the frozen Settings object and its loader."""

from config.settings import (
    CONFIG_ENV,
    PACKAGED_CONFIG,
    AttendanceSettings,
    AuthSettings,
    ConfigError,
    IceServer,
    LessonSettings,
    MediaSettings,
    RedisSettings,
    ServerSettings,
    Settings,
    load_settings,
)

__all__ = [
    "CONFIG_ENV",
    "PACKAGED_CONFIG",
    "AttendanceSettings",
    "AuthSettings",
    "ConfigError",
    "IceServer",
    "LessonSettings",
    "MediaSettings",
    "RedisSettings",
    "ServerSettings",
    "Settings",
    "load_settings",
]
