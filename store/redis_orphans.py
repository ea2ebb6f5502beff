"""Orphans: a Redis left running on a data dir by a server that died without stopping it."""

import asyncio
import contextlib
import os
import signal
from pathlib import Path

STOP_GRACE_S = 5.0
POLL_S = 0.05


def _is_redis(pid: int) -> bool:
    # A reused pid or a zombie (empty cmdline) is not a Redis holding our files.
    try:
        return b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _orphan_pid(pidfile: Path) -> int | None:
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_redis(pid) else None


async def stop_orphan(pidfile: Path) -> None:
    """Stop a Redis left on this data dir by a server that died without stopping it.

    Two Redis processes appending to one AOF would corrupt it. Linux only: elsewhere /proc
    is missing and nothing is stopped.
    """
    pid = _orphan_pid(pidfile)
    if pid is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)  # Redis flushes and fsyncs its AOF on SIGTERM
        await _wait_gone(pid, STOP_GRACE_S)
        if _is_redis(pid):
            os.kill(pid, signal.SIGKILL)
            await _wait_gone(pid, STOP_GRACE_S)


async def _wait_gone(pid: int, timeout_s: float) -> None:
    for _ in range(int(timeout_s / POLL_S)):
        if not _is_redis(pid):
            return
        await asyncio.sleep(POLL_S)
