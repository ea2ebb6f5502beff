"""A primary, a replica and three Sentinels on loopback: the failover test's and bench's Redis.

The same redis-server binary Sabak embeds (store/redis_launcher.py find_redis_server) runs as
a Sentinel with `--sentinel`, so nothing else needs installing. Sentinels mark the primary down
after DOWN_AFTER_MS without answers and promote the replica.
"""

from __future__ import annotations

import asyncio
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from store.redis_launcher import find_redis_server

SERVICE = "sabak"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 3000


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class SentinelSet:
    """The running processes by role, and the Sentinel URL Sabak is given."""

    primary_port: int
    replica_port: int
    sentinel_ports: list[int]
    processes: dict[int, asyncio.subprocess.Process] = field(default_factory=dict)

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)
        return f"redis+sentinel://{hosts}/0/{SERVICE}"

    def kill_primary(self) -> None:
        """SIGKILL the primary: no goodbye to its replica, what it did not send is gone."""
        self.processes[self.primary_port].send_signal(signal.SIGKILL)

    async def current_primary(self) -> tuple[str, int]:
        """The primary's address as the first Sentinel names it now."""
        client = aioredis.Redis(port=self.sentinel_ports[0], decode_responses=True)
        try:
            ask = client.execute_command  # untyped in redis-py
            host, port = await ask("SENTINEL", "get-master-addr-by-name", SERVICE)  # type: ignore[no-untyped-call]
            return str(host), int(port)
        finally:
            await client.aclose()

    async def failed_over(self, timeout_s: float = 30) -> int:
        """Wait until the Sentinels name the replica as primary; its port."""
        async with asyncio.timeout(timeout_s):
            while (await self.current_primary())[1] != self.replica_port:  # noqa: ASYNC110 - Redis's state
                await asyncio.sleep(0.1)
        return self.replica_port


async def _start(binary: Path, conf: Path, text: str, *extra: str) -> asyncio.subprocess.Process:
    conf.write_text(text)  # noqa: ASYNC240 - a few bytes, before anything runs
    return await asyncio.create_subprocess_exec(
        str(binary), str(conf), *extra,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def _answers(port: int, timeout_s: float = 10) -> None:
    client = aioredis.Redis(port=port)
    try:
        async with asyncio.timeout(timeout_s):
            while True:
                try:
                    await client.ping()
                    return
                except (RedisError, OSError):
                    await asyncio.sleep(0.05)
    finally:
        await client.aclose()


async def _replicating(port: int, timeout_s: float = 10) -> None:
    client = aioredis.Redis(port=port, decode_responses=True)
    try:
        async with asyncio.timeout(timeout_s):
            link = "master_link_status"
            while (await client.info("replication")).get(link) != "up":  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        await client.aclose()


async def _watching(sentinels: list[int], timeout_s: float = 30) -> None:
    """Wait until every Sentinel knows the replica and the two other Sentinels (quorum)."""
    async with asyncio.timeout(timeout_s):
        for port in sentinels:
            client = aioredis.Redis(port=port, decode_responses=True)
            try:
                while True:
                    ask = client.execute_command
                    seen = await ask("SENTINEL", "MASTER", SERVICE)  # type: ignore[no-untyped-call]
                    if int(seen["num-slaves"]) >= 1 and int(seen["num-other-sentinels"]) >= 2:
                        break
                    await asyncio.sleep(0.1)
            finally:
                await client.aclose()


def _server_conf(port: int, folder: Path, replica_of: int | None) -> str:
    lines = [f"port {port}", "bind 127.0.0.1", f'dir "{folder}"', 'save ""', "appendonly no"]
    if replica_of is not None:
        lines.append(f"replicaof 127.0.0.1 {replica_of}")
    return "\n".join(lines) + "\n"


def _sentinel_conf(port: int, folder: Path, primary: int) -> str:
    return "\n".join([
        f"port {port}", "bind 127.0.0.1", f'dir "{folder}"',
        f"sentinel monitor {SERVICE} 127.0.0.1 {primary} 2",
        f"sentinel down-after-milliseconds {SERVICE} {DOWN_AFTER_MS}",
        f"sentinel failover-timeout {SERVICE} {FAILOVER_TIMEOUT_MS}",
        f"sentinel parallel-syncs {SERVICE} 1",
    ]) + "\n"  # fmt: skip


@asynccontextmanager
async def sentinel_set(folder: Path) -> AsyncIterator[SentinelSet]:
    """Start a primary, its replica and three Sentinels under `folder`; stop them all after."""
    binary = find_redis_server()
    folder.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
    ports = SentinelSet(_free_port(), _free_port(), [_free_port() for _ in range(3)])
    try:
        for port, of in ((ports.primary_port, None), (ports.replica_port, ports.primary_port)):
            (folder / str(port)).mkdir(exist_ok=True)
            text = _server_conf(port, folder / str(port), of)
            ports.processes[port] = await _start(binary, folder / f"{port}.conf", text)
            await _answers(port)
        await _replicating(ports.replica_port)
        for port in ports.sentinel_ports:
            text = _sentinel_conf(port, folder, ports.primary_port)
            ports.processes[port] = await _start(
                binary, folder / f"{port}.conf", text, "--sentinel"
            )
            await _answers(port)
        await _watching(ports.sentinel_ports)
        yield ports
    finally:
        for proc in ports.processes.values():
            if proc.returncode is None:
                proc.send_signal(signal.SIGKILL)
            await proc.wait()
