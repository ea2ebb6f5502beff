"""The audit trail: REST refusals audited; unauthenticated noise counted, evicting nothing."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from client.rest import RestClient, RestError, token_from_link
from server.appkeys import REDIS
from store.audit import address_block
from tests.conftest import Classroom, Running
from tests.test_security import refused_connect


async def test_a_flood_of_bogus_connects_is_counted_not_stored(
    server: Running, classroom: Classroom
) -> None:
    teacher_token = token_from_link(classroom.teacher["link"])
    async with server.rest(teacher_token) as rest:
        with pytest.raises(RestError):
            await rest.request("GET", "/api/teachers")  # real evidence: a teacher over-reaching
    await asyncio.sleep(0.3)
    redis = server.app[REDIS]
    before = await redis.xlen("sabak:audit")
    flood = 150
    for i in range(flood):
        code = await refused_connect(server, {"token": f"garbage-{i}"})
        assert code == "bad-token"
    await refused_connect(server, {})  # no credentials at all
    await asyncio.sleep(0.3)
    assert await redis.xlen("sabak:audit") == before  # nothing pushed out of the capped stream
    async with server.rest() as rest:
        entries = await rest.request("GET", "/api/audit?count=1000")
        counts = await rest.request("GET", "/api/audit/counts")
    assert [e["code"] for e in entries] == ["forbidden"]
    by_code = {(c["event"], c["code"], c["network"]): c["count"] for c in counts}
    assert by_code[("connect", "bad-token", "127.0.0.0/24")] == flood
    assert by_code[("connect", "auth-required", "127.0.0.0/24")] == 1


async def test_rest_refusals_are_audited_with_who_and_where(
    server: Running, classroom: Classroom
) -> None:
    async with RestClient(server.url, "not-the-admin-key") as wrong:
        for _ in range(3):
            with pytest.raises(RestError) as info:
                await wrong.request("GET", "/api/courses")
            assert info.value.code == "bad-token"
    async with (
        aiohttp.ClientSession() as nobody,  # no Authorization header at all
        nobody.post(f"{server.url}/api/courses", json={"title": "x"}) as resp,
    ):
        assert resp.status == 401
    teacher = classroom.teacher
    async with server.rest(token_from_link(teacher["link"])) as rest:
        with pytest.raises(RestError) as info:
            await rest.request("POST", "/api/courses", json={"title": "Mine"})
        assert info.value.status == 403
    await asyncio.sleep(0.3)
    async with server.rest() as rest:
        entries = await rest.request("GET", "/api/audit")
        counts = await rest.request("GET", "/api/audit/counts?hours=2")
    assert [(e["code"], e["event"], e["actor"], e["role"]) for e in entries] == [
        ("forbidden", "POST /api/courses", teacher["id"], "teacher")
    ]
    by_code = {(c["event"], c["code"]): c["count"] for c in counts}
    assert by_code[("GET /api/courses", "bad-token")] == 3
    assert by_code[("POST /api/courses", "auth-required")] == 1


def test_addresses_are_kept_only_as_blocks() -> None:
    assert address_block("203.0.113.77") == "203.0.113.0/24"
    assert address_block("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert address_block(None) == "unknown"
    assert address_block("not an address") == "unknown"
