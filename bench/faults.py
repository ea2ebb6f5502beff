"""Fault drills with numbers: Redis killed mid-lesson, the server killed and restarted;
and hostile transport floods (bench/transport_floods.py).

Run: .venv/bin/python bench/faults.py [--students 30] [--only faults|transport]
     [--source DIR]   (loopback only; stops by itself)
Prints markdown tables: events acknowledged vs stored, duplicates, recovery times; for each
flood what was refused, server RSS, and an honest student's chat p99 in another lesson.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import transport_floods
from bench.common import markdown_table, stop_all_servers
from client.rest import RestClient, token_from_link
from client.sabak_client import CallFailed, SabakClient
from server.redis_launcher import EmbeddedRedis
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


def table(rows: list[dict[str, Any]]) -> str:
    heads = ["fault", "acknowledged", "stored", "acked but not stored", "duplicates", "recovery"]
    lines = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    lines += ["| " + " | ".join(str(r[h]) for h in heads) + " |" for r in rows]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--outage", type=float, default=10.0)
    parser.add_argument("--only", choices=("faults", "transport"), help="run one group")
    parser.add_argument("--source", type=Path, help="floods: run the server from this tree")
    args = parser.parse_args()
    if args.only != "transport":
        await fault_drills(args.students, args.outage)
    if args.only != "faults":
        try:
            rows = []
            for name in transport_floods.FLOODS:
                row = await transport_floods.drill(name, args.source)
                rows.append([row[h] for h in transport_floods.HEADS])
                print(rows[-1], flush=True)
        finally:
            stop_all_servers()
        print(markdown_table(transport_floods.TITLES, rows))


async def fault_drills(students: int, outage: float) -> None:
    rows = [await redis_outage(students, outage)]
    for how in (signal.SIGTERM, signal.SIGKILL):
        rows.append(await server_restart(students, how))
    print(table(rows))
    for row in rows:
        if row.get("refused") or row.get("client retries"):
            print(f"- {row['fault']}: refused {row['refused']}, retries {row['client retries']}")


if __name__ == "__main__":
    asyncio.run(main())
