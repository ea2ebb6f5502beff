"""Shared fixtures: a real Redis started by the tests, and a real Sabak server on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from client.rest import RestClient, token_from_link
from client.sabak_client import SabakClient
from config import Settings, load_settings
from config.settings import MEMORY_STORE
from server.app import create_app
from server.http_limits import make_runner
from tests.redis_fixture import SharedRedis

SABAK = str(Path(sys.executable).with_name("sabak"))


def clean_env(**sabak: str) -> dict[str, str]:
    """This environment without any SABAK_* setting, plus the given ones."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SABAK_")}
    return env | sabak


async def sabak_serve(env: dict[str, str], timeout: float = 30) -> asyncio.subprocess.Process:
    """`sabak serve` as a user runs it; returns once it says it is running."""
    proc = await asyncio.create_subprocess_exec(
        SABAK, "serve", env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    while b"Sabak is running" not in await asyncio.wait_for(proc.stdout.readline(), timeout):
        pass
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings_for(data_dir: Path, redis_url: str, port: int, **extra: str) -> Settings:
    env = {
        "SABAK_REDIS_URL": redis_url,
        "SABAK_SERVER_PORT": str(port),
        "SABAK_SERVER_DATA_DIR": str(data_dir),
        # WebRTC stays on loopback in tests (DESIGN.md §5)
        "SABAK_MEDIA_ICE_HOST_ADDRESSES": "127.0.0.1",
        "SABAK_MEDIA_ICE_ACCEPT_REMOTE_IPS": "127.0.0.1",
        **extra,
    }
    return load_settings(env=env)


@dataclass
class Running:
    """A live server and what a test needs to talk to it."""

    url: str
    settings: Settings
    app: web.Application
    runner: web.AppRunner

    @property
    def admin_key(self) -> str:
        return (self.settings.data_path / "admin.key").read_text().strip()

    def rest(self, key: str | None = None) -> RestClient:
        return RestClient(self.url, key or self.admin_key)

    def client(self, link_or_token: str, **kwargs: Any) -> SabakClient:
        token = token_from_link(link_or_token) if "#" in link_or_token else link_or_token
        return SabakClient(self.url, token=token, **kwargs)


async def start_server(settings: Settings) -> Running:
    app = create_app(settings)
    runner = make_runner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.server.port).start()
    return Running(settings.public_base_url, settings, app, runner)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        'store(kind): "memory" runs the server on the in-memory store (the test is not about '
        'Redis); "redis" (the default) on a real Redis, for a test that needs what outlives it',
    )


@pytest.fixture(scope="session")
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedRedis]:
    redis = SharedRedis(tmp_path_factory.mktemp("shared-redis"))
    try:
        yield redis
    finally:
        redis.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def shared_chromium() -> AsyncIterator[None]:
    """One Chromium for all browser tests, which run on the session's loop (tests/browser.py)."""
    from tests.browser import shared_chromium  # imported late: tests.browser imports this module

    async with shared_chromium():
        yield


@pytest.fixture
async def redis_url(
    shared_redis: SharedRedis, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """An empty database of the session's Redis (tests that kill Redis start their own), or the
    in-memory store for a test marked `store("memory")`."""
    async with store_url(shared_redis, request) as url:
        yield url


@contextlib.asynccontextmanager
async def store_url(
    shared_redis: SharedRedis, request: pytest.FixtureRequest
) -> AsyncIterator[str]:
    """The store a test's server uses (here and in tests/browser.py's session-loop fixtures)."""
    marker = request.node.get_closest_marker("store")
    if marker is not None and marker.args == ("memory",):
        yield MEMORY_STORE  # no Redis is started: store/memory.py keeps everything
        return
    async with shared_redis.database() as url:
        yield url


@pytest.fixture
async def server(tmp_path: Path, redis_url: str) -> AsyncIterator[Running]:
    running = await start_server(settings_for(tmp_path / "var", redis_url, free_port()))
    try:
        yield running
    finally:
        await running.runner.cleanup()


@dataclass
class Classroom:
    """A course with a teacher and students, and one started lesson."""

    course_id: str
    lesson: dict[str, Any]
    teacher: dict[str, Any]
    students: list[dict[str, Any]]


async def make_classroom(
    running: Running, n_students: int = 3, allow_guests: bool = False, start: bool = True
) -> Classroom:
    async with running.rest() as rest:
        course = await rest.create_course("Algebra 7A")
        students = await rest.add_students(
            course["id"], [f"Student {i}" for i in range(n_students)]
        )
        teacher = await rest.create_teacher("Aigul Teacher", [course["id"]])
        lesson = await rest.create_lesson(course["id"], "Fractions", allow_guests)
        if start:
            lesson = await rest.start_lesson(lesson["id"])
    return Classroom(course["id"], lesson, teacher, students)


@pytest.fixture
async def classroom(server: Running) -> Classroom:
    return await make_classroom(server)
