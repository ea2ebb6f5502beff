"""Sabak configuration: the frozen Settings object and its loader."""

from config.loader import CONFIG_ENV, PACKAGED_CONFIG, load_settings
from config.settings import (
    AttendanceSettings,
    AuthSettings,
    ConfigError,
    IceServer,
    LessonSettings,
    MediaSettings,
    RecordingSettings,
    RedisSettings,
    ServerSettings,
    Settings,
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
    "RecordingSettings",
    "RedisSettings",
    "ServerSettings",
    "Settings",
    "load_settings",
]
