"""The Settings object: one frozen section per TOML table; each setting, its default, its limits."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

SPEC_FIELD = "sabak_spec"  # the dataclass field metadata entry holding a setting's Spec
# [redis] url of the in-memory store: tests and one-process trials, nothing survives a restart.
MEMORY_STORE = "memory://"


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
    return field(default=default, metadata={SPEC_FIELD: spec}, repr=not secret)


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
        None,
        prefixes=("redis://", "rediss://", "unix://", "redis+sentinel://", MEMORY_STORE),
        secret=True,
    )
    appendfsync: str = setting("everysec", choices=("always", "everysec", "no"))
    key_prefix: str = "sabak"
    outbox_max_events: int = setting(10_000, minimum=1, maximum=10_000_000)
    start_timeout_s: float = setting(10.0, minimum=0.5, maximum=120)
    # An event is acknowledged once WAIT says this many replicas have it (-1: one when the
    # primary has replicas, none otherwise); not within wait_timeout_ms, it stays in the outbox.
    wait_replicas: int = setting(-1, minimum=-1, maximum=16)
    wait_timeout_ms: int = setting(1000, minimum=1, maximum=60_000)


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
class DeckSettings:
    """[decks]: slide decks: where they are kept, and the limits of an upload and its render."""

    # Empty: <data_dir>/decks. Several server processes must share one directory.
    directory: str | None = None
    max_bytes: int = setting(50_000_000, minimum=1024, maximum=2_000_000_000)
    max_pages: int = setting(300, minimum=1, maximum=10_000)
    max_pixels: int = setting(25_000_000, minimum=10_000, maximum=200_000_000)
    render_timeout_s: float = setting(300.0, minimum=0.1, maximum=3600)
    render_memory_mb: int = setting(512, minimum=64, maximum=65_536)
    keep_unshown_days: float = setting(30.0, minimum=0, maximum=100_000)


@dataclass(frozen=True)
class RecordingSettings:
    """[recording]: where lessons are recorded, whether by default, and how (docs/recording.md)."""

    dir: str | None = None  # None: <data_dir>/recordings
    default: bool = False
    segment_s: float = setting(10.0, minimum=2, maximum=60)
    retry_s: float = setting(10.0, minimum=1, maximum=600)
    keep_days: int = setting(0, minimum=0, maximum=100_000)  # 0: until deleted


@dataclass(frozen=True)
class Settings:
    """Every setting of one Sabak server, one frozen section per TOML table."""

    server: ServerSettings = field(default_factory=ServerSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    lesson: LessonSettings = field(default_factory=LessonSettings)
    attendance: AttendanceSettings = field(default_factory=AttendanceSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    decks: DeckSettings = field(default_factory=DeckSettings)
    recording: RecordingSettings = field(default_factory=RecordingSettings)

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

    @property
    def decks_path(self) -> Path:
        """Where slide decks are kept: [decks] directory, or <data_dir>/decks."""
        given = self.decks.directory
        return Path(given).expanduser().resolve() if given else self.data_path / "decks"

    @property
    def recording_path(self) -> Path:
        """Where recordings are written: `[recording] dir`, or <data_dir>/recordings."""
        if self.recording.dir:
            return Path(self.recording.dir).expanduser().resolve()
        return self.data_path / "recordings"


def in_memory(url: str | None) -> bool:
    """Whether this [redis] url names the in-memory store rather than a Redis."""
    return url is not None and url.startswith(MEMORY_STORE)
