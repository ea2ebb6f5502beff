"""The store is chosen in one place: `[redis] url = "memory://"` runs without any Redis."""

from __future__ import annotations

import pytest

from config import ConfigError, load_settings
from server.appkeys import EVENTLOG, REDIS
from store.memory import MemoryLog
from tests.conftest import Running, make_classroom


def test_a_cluster_on_the_memory_store_is_refused() -> None:
    env = {"SABAK_SERVER_CLUSTER": "true", "SABAK_REDIS_URL": "memory://"}
    with pytest.raises(ConfigError, match=r"^server\.cluster: several server processes need"):
        load_settings(env=env)


def test_other_urls_are_still_refused() -> None:
    with pytest.raises(ConfigError, match="starting with redis:// or rediss:// or unix://"):
        load_settings(env={"SABAK_REDIS_URL": "memcached://here"})


@pytest.mark.store("memory")
async def test_a_server_on_the_memory_store_runs_a_lesson_without_redis(server: Running) -> None:
    assert REDIS not in server.app and isinstance(server.app[EVENTLOG], MemoryLog)
    room = await make_classroom(server, n_students=1)
    student = server.client(room.students[0]["link"], reconnection=False)
    await student.connect()
    await student.join(room.lesson["id"])
    await student.chat("salam")
    await student.close()
    async with server.rest() as rest:
        events = await rest.events(room.lesson["id"])
    chats = [x["data"]["text"] for x in events if x["type"] == "ChatPosted"]
    assert chats == ["salam"]
