"""`sabak serve` as a user runs it: embedded Redis, REST, a client, and a clean Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import psutil

from client.rest import RestClient, token_from_link
from client.sabak_client import SabakClient
from tests.conftest import free_port

SABAK = str(Path(sys.executable).with_name("sabak"))


def env_for(tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SABAK_")}
    return {
        **env,
        "SABAK_SERVER_PORT": str(port),
        "SABAK_SERVER_DATA_DIR": str(tmp_path / "var"),
        **extra,
    }


async def read_until(stream: asyncio.StreamReader, marker: str, timeout: float = 30) -> str:
    seen = ""
    async with asyncio.timeout(timeout):
        while marker not in seen:
            line = await stream.readline()
            if not line:
                raise AssertionError(f"server ended before {marker!r}; it printed: {seen}")
            seen += line.decode()
    return seen


async def test_serve_with_embedded_redis_then_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        SABAK,
        "serve",
        env=env_for(tmp_path, port),
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    try:
        banner = await read_until(proc.stdout, "Sabak is running")
        assert "Organizer admin key" in banner
        redis_pids = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        assert redis_pids, "the embedded Redis should be running"
        url = f"http://127.0.0.1:{port}"
        key = (tmp_path / "var" / "admin.key").read_text().strip()
        async with RestClient(url, key) as rest:
            course = await rest.create_course("Physics")
            student = (await rest.add_students(course["id"], ["Aibek"]))[0]
            lesson = await rest.create_lesson(course["id"], "Waves")
            await rest.start_lesson(lesson["id"])
        client = SabakClient(url, token=token_from_link(student["link"]))
        await client.connect()
        welcome = await client.join(lesson["id"])
        assert welcome["snapshot"]["you"]["name"] == "Aibek"
        await client.chat("hello")
        await client.close()
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
        assert not any(psutil.pid_exists(pid) for pid in redis_pids)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert (tmp_path / "var" / "redis").is_dir()


async def test_unreachable_redis_is_one_clear_line_and_exit_1(tmp_path: Path) -> None:
    env = env_for(
        tmp_path,
        free_port(),
        SABAK_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        SABAK_REDIS_START_TIMEOUT_S="1",
    )
    proc = await asyncio.create_subprocess_exec(
        SABAK,
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 1
    text = err.decode()
    assert "Traceback" not in text
    assert text.strip().splitlines()[-1].startswith("sabak: Redis is not available: cannot reach")


async def test_bad_configuration_names_the_key(tmp_path: Path) -> None:
    env = env_for(tmp_path, free_port(), SABAK_SERVER_PORT="eighty")
    proc = await asyncio.create_subprocess_exec(
        SABAK,
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 2
    assert "server.port" in err.decode() and "SABAK_SERVER_PORT" in err.decode()
