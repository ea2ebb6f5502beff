"""Fault drills with numbers: Redis killed mid-lesson, the server killed and restarted;
and hostile transport floods (bench/transport_floods.py).

Run: .venv/bin/python bench/faults.py [--students 30]   (loopback only; stops by itself)
     .venv/bin/python bench/faults.py --only STEP         (one of: visibility-flood,
                                 guest-floods, media-flood, transport, drills)
     --source DIR runs the transport floods' server from another tree, --rev REV the media
     flood's from another commit (the "before" figures); --guest-floods and
     --visibility-flood-only are the same as --only with those.
Prints markdown tables: events acknowledged vs stored, duplicates, recovery times; for each
flood what was refused or held, server RSS, and an honest student's chat p99 in another
lesson.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, media_flood, transport_floods
from bench.common import markdown_table, percentile, stop_all_servers
from client.rest import RestClient, token_from_link
from client.sabak_client import CallFailed, SabakClient
from store.redis_launcher import EmbeddedRedis
from tests.conftest import free_port, make_classroom, settings_for, start_server

SABAK = str(Path(sys.executable).with_name("sabak"))


async def chatter(kid: SabakClient, tag: str, until: float, log: dict[str, Any]) -> None:
    """Send a chat message every 1.1 s (within the rate limit); retry a timed-out one."""
    i = 0
    while time.monotonic() < until:
        cid = f"{tag}-{i}"
        while True:
            try:
                await kid.call("chat_send", {"client_id": cid, "text": cid}, timeout=30)
                log["acked"].add(cid)
                break
            except CallFailed as refused:
                log["refused"][refused.code] = log["refused"].get(refused.code, 0) + 1
                break
            except Exception:  # a timeout or a drop: the same id again is safe
                log["retries"] += 1
        i += 1
        await asyncio.sleep(1.1)


async def redis_outage(students: int, outage_s: float) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="sabak-faults-"))
    redis = EmbeddedRedis(tmp / "redis")
    await redis.start()
    server = await start_server(settings_for(tmp / "var", redis.url, free_port()))
    try:
        room = await make_classroom(server, n_students=students)
        kids = [server.client(s["link"]) for s in room.students]
        for kid in kids:
            await kid.connect()
            await kid.join(room.lesson["id"])
        log: dict[str, Any] = {"acked": set(), "refused": {}, "retries": 0}
        until = time.monotonic() + outage_s + 10
        talk = asyncio.gather(*(chatter(k, f"k{n}", until, log) for n, k in enumerate(kids)))
        await asyncio.sleep(3)
        assert redis.pid is not None
        os.kill(redis.pid, signal.SIGKILL)
        await asyncio.sleep(outage_s)
        back = time.monotonic()
        await redis.start()
        drained = await wait_drained(server.url, server.admin_key) - back
        await talk
        async with RestClient(server.url, server.admin_key) as rest:
            stored = [r["data"]["client_id"] for r in await rest.events(room.lesson["id"])
                      if r["type"] == "ChatPosted"]  # fmt: skip
        for kid in kids:
            await kid.close()
        return {
            "fault": f"Redis SIGKILLed for {outage_s:.0f} s, {students} students chatting",
            "acknowledged": len(log["acked"]),
            "stored": len(stored),
            "acked but not stored": len(log["acked"] - set(stored)),
            "duplicates": len(stored) - len(set(stored)),
            "recovery": f"outbox drained {drained:.2f} s after Redis was back",
            "refused": log["refused"], "client retries": log["retries"],
        }  # fmt: skip
    finally:
        await server.runner.cleanup()
        await redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


async def wait_drained(url: str, key: str) -> float:
    async with RestClient(url, key) as rest:
        for _ in range(600):
            health = await rest.request("GET", "/healthz")
            if health["ok"] and health["pending_events"] == 0:
                return time.monotonic()
            await asyncio.sleep(0.05)
    raise TimeoutError("the outbox did not drain")


async def server_restart(students: int, how: signal.Signals) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="sabak-faults-"))
    redis = EmbeddedRedis(tmp / "redis")
    await redis.start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SABAK_")}
    env |= {"SABAK_SERVER_PORT": str(port), "SABAK_SERVER_DATA_DIR": str(tmp / "var"),
            "SABAK_REDIS_URL": redis.url}  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    proc = await serve(env)
    try:
        key = (tmp / "var" / "admin.key").read_text().strip()
        async with RestClient(url, key) as rest:
            course = await rest.create_course("Drill")
            roster = await rest.add_students(course["id"], [f"S{i}" for i in range(students)])
            lesson = await rest.create_lesson(course["id"], "Drill")
            await rest.start_lesson(lesson["id"])
        kids = [SabakClient(url, token=token_from_link(s["link"])) for s in roster]
        acked = set()
        for n, kid in enumerate(kids):
            await kid.connect()
            await kid.join(lesson["id"])
            await kid.chat("before", client_id=f"before-{n}")
            acked.add(f"before-{n}")
        joins = [k.joins for k in kids]
        proc.send_signal(how)
        await proc.wait()
        killed = time.monotonic()
        proc = await serve(env)
        started = time.monotonic() - killed
        await asyncio.gather(*(k.rejoined(j, timeout=60) for k, j in zip(kids, joins, strict=True)))
        resumed = time.monotonic() - killed
        async with RestClient(url, key) as rest:
            log = await rest.events(lesson["id"])
            report = await rest.report(f"/api/lessons/{lesson['id']}/report")
        stored = [r["data"]["client_id"] for r in log if r["type"] == "ChatPosted"]
        outage_rows = sum(1 for r in report["learners"] if r["gaps"]["server"]["count"] == 1)
        for kid in kids:
            await kid.close()
        return {
            "fault": f"server {how.name} mid-lesson, {students} students",
            "acknowledged": len(acked), "stored": len(stored),
            "acked but not stored": len(acked - set(stored)),
            "duplicates": len(stored) - len(set(stored)),
            "recovery": f"serving again {started:.2f} s after the kill, all {students} "
                        f"resumed after {resumed:.2f} s; {outage_rows} report rows show "
                        "the outage as a 'server' gap",
        }  # fmt: skip
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
        await redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


async def serve(env: dict[str, str]) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        SABAK, "serve", env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.stdout is not None
    while b"Sabak is running" not in await asyncio.wait_for(proc.stdout.readline(), 30):
        pass
    return proc


# -- floods (issue 12): one hostile socket, an honest lesson's chat beside it --------------


async def honest_chat(kids: list[SabakClient], until: float, latencies: list[float]) -> None:
    """Each honest student chats every 1.1 s (within the limit); every ack's latency counts."""

    async def one(n: int, kid: SabakClient) -> None:
        i = 0
        while time.monotonic() < until:
            began = time.perf_counter()
            await kid.call("chat_send", {"client_id": f"h{n}-{i}-{began}", "text": "hello"})
            latencies.append(time.perf_counter() - began)
            i += 1
            await asyncio.sleep(1.1)

    await asyncio.gather(*(one(n, k) for n, k in enumerate(kids)))


async def flip_flood(kid: SabakClient, until: float, acks: dict[str, int]) -> None:
    """Visibility flips as fast as one socket gets them acknowledged, 100 in flight."""

    async def flip(visible: bool) -> None:
        try:
            ack = await kid.call("visibility", {"visible": visible}, timeout=30)
            key = "held" if ack.get("held") else "ok"
        except CallFailed as refused:
            key = refused.code
        acks[key] = acks.get(key, 0) + 1

    while time.monotonic() < until:
        await asyncio.gather(*(flip(i % 2 == 1) for i in range(100)))
    await flip(False)  # the flood ends hidden: that must be the stored state


async def visibility_flood(honest: int, flood_s: float, quiet_s: float) -> dict[str, Any]:
    """One student floods `visibility` in lesson B while `honest` students chat in lesson A."""
    tmp = Path(tempfile.mkdtemp(prefix="sabak-faults-"))
    redis = EmbeddedRedis(tmp / "redis")
    await redis.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SABAK_")}
    env |= {"SABAK_SERVER_PORT": str(free_port()), "SABAK_SERVER_DATA_DIR": str(tmp / "var"),
            "SABAK_REDIS_URL": redis.url}  # fmt: skip
    url = f"http://127.0.0.1:{env['SABAK_SERVER_PORT']}"
    proc = await serve(env)
    rss = psutil.Process(proc.pid)
    try:
        key = (tmp / "var" / "admin.key").read_text().strip()
        async with RestClient(url, key) as rest:
            course = await rest.create_course("Flood")
            roster = await rest.add_students(course["id"], [f"S{i}" for i in range(honest + 1)])
            a, b = [await rest.create_lesson(course["id"], t) for t in ("Honest", "Flooded")]
            for lesson in (a, b):
                await rest.start_lesson(lesson["id"])
        kids = [SabakClient(url, token=token_from_link(s["link"])) for s in roster]
        for kid in kids:
            await kid.connect()
        for kid in kids[:-1]:
            await kid.join(a["id"])
        await kids[-1].join(b["id"])
        quiet: list[float] = []
        await honest_chat(kids[:-1], time.monotonic() + quiet_s, quiet)
        rss_before = rss.memory_info().rss
        during: list[float] = []
        acks: dict[str, int] = {}
        until = time.monotonic() + flood_s
        flood = asyncio.gather(flip_flood(kids[-1], until, acks),
                               honest_chat(kids[:-1], until, during))  # fmt: skip
        rss_during = rss_before
        while not flood.done():
            rss_during = max(rss_during, rss.memory_info().rss)
            await asyncio.sleep(0.5)
        await flood
        await asyncio.sleep(6)  # past the visibility interval: the held state is stored
        rss_after = rss.memory_info().rss
        async with RestClient(url, key) as rest:
            log = await rest.events(b["id"])
        flips = [r for r in log if r["type"] == "VisibilityChanged"]
        for kid in kids:
            await kid.close()
        mb = 1024 * 1024
        return {
            "flood": f"visibility flips from one socket for {flood_s:.0f} s; "
                     f"{honest} honest students chat in another lesson",
            "sent": sum(acks.values()), "answers": acks, "stored": len(flips),
            "final state stored": bool(flips) and flips[-1]["data"]["visible"] is False,
            "rss MB before/during/after": f"{rss_before / mb:.0f} / {rss_during / mb:.0f} / "
                                          f"{rss_after / mb:.0f}",
            "chat p99 quiet/during ms": f"{percentile(quiet, 99) * 1000:.1f} / "
                                        f"{percentile(during, 99) * 1000:.1f}",
        }  # fmt: skip
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
        await redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


STEPS = ("visibility-flood", "guest-floods", "media-flood", "transport", "drills")


def table(rows: list[dict[str, Any]]) -> str:
    heads = ["fault", "acknowledged", "stored", "acked but not stored", "duplicates", "recovery"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += ["| " + " | ".join(str(r[h]) for h in heads) + " |" for r in rows]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--outage", type=float, default=10.0)
    parser.add_argument("--only", choices=STEPS, help="run just this step")
    parser.add_argument("--guest-floods", action="store_true", help="= --only guest-floods")
    parser.add_argument("--visibility-flood-only", action="store_true",
                        help="= --only visibility-flood")  # fmt: skip
    parser.add_argument("--flood", type=float, default=20.0, help="visibility flood seconds")
    parser.add_argument("--flood-calls", type=int, default=200, help="overlapping requests")
    parser.add_argument("--flood-s", type=float, default=10.0, help="media flood seconds")
    parser.add_argument("--rev", help="run the media flood on this commit's server instead")
    parser.add_argument("--source", type=Path, help="transport floods: the server from this tree")
    args = parser.parse_args()
    only = args.only
    if args.guest_floods:
        only = "guest-floods"
    if args.visibility_flood_only:
        only = "visibility-flood"
    if only in (None, "visibility-flood"):
        flood = await visibility_flood(10, args.flood, quiet_s=15)
        print(markdown_table(list(flood), [list(flood.values())]))
    if only in (None, "guest-floods"):
        from bench.guest_floods import guest_floods
        from bench.guest_floods import table as flood_table

        print(flood_table(await guest_floods()))
    if only in (None, "media-flood"):
        with common.server_source(args.rev) as (source, _):
            media = await media_flood.run(args.flood_calls, args.flood_s, 10, source)
        print("\n".join(media_flood.lines(media)))
    if only in (None, "transport"):
        await transport(args.source)
    if only in (None, "drills"):
        await drills(args.students, args.outage)


async def transport(source: Path | None) -> None:
    try:
        rows = []
        for name in transport_floods.FLOODS:
            row = await transport_floods.drill(name, source)
            rows.append([row[h] for h in transport_floods.HEADS])
            print(rows[-1], flush=True)
    finally:
        stop_all_servers()
    print(markdown_table(transport_floods.TITLES, rows))


async def drills(students: int, outage: float) -> None:
    rows = [await redis_outage(students, outage)]
    for how in (signal.SIGTERM, signal.SIGKILL):
        rows.append(await server_restart(students, how))
    print(table(rows))
    for row in rows:
        if row.get("refused") or row.get("client retries"):
            print(f"- {row['fault']}: refused {row['refused']}, retries {row['client retries']}")


if __name__ == "__main__":
    asyncio.run(main())
