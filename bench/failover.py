"""Ack latency of the event log with and without WAIT for a replica, through Sentinel.

    .venv/bin/python bench/failover.py [--events N] [--rounds K]

Starts a primary, its replica and three Sentinels on loopback (bench/sentinels.py), connects
through `redis+sentinel://` as the server does, and appends records the core decided (a
lesson of 30 students: joins, checks, chat) to store.eventlog.EventLog, one command after the
other, each awaiting its ack; with `wait_replicas` 0 (acknowledged once on the primary) and 1
(acknowledged once WAIT says the replica has it), interleaved in K rounds. Prints the p50/p99
ack latency of each and writes the JSON to bench/results/failover-<date>.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repo root, not bench/, goes on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import tempfile
from typing import Any

from bench import common as cm
from bench.eventlog import Classroom, append_at_once, append_awaited, long_log
from bench.sentinels import sentinel_set
from store.eventlog import EventLog
from store.redis_connect import connect
from store.replication import Replication

STUDENTS = 30


async def one_round(url: str, wanted: int, events: int, tag: str) -> dict[str, list[float]]:
    client = connect(url, decode_responses=True, max_connections=16, timeout=5)
    log = EventLog(client, "bench", 100_000, replication=Replication(client, wanted, 1000))
    log.start()
    acks: dict[str, list[float]] = {"one_by_one": [], "burst_of_30": []}
    try:
        steps = long_log(Classroom(f"L-{tag}", STUDENTS), events)
        await append_awaited(log, f"L-{tag}", steps, acks["one_by_one"])
        bursts = long_log(Classroom(f"B-{tag}", STUDENTS), events)
        for at in range(0, len(bursts), STUDENTS):
            await append_at_once(log, f"B-{tag}", bursts[at : at + STUDENTS], acks["burst_of_30"])
    finally:
        await log.close()
        await client.aclose()
    return acks


def figures(acks: list[float]) -> dict[str, float]:
    ms = [a * 1000 for a in acks]
    return {"count": len(ms), "p50_ms": cm.percentile(ms, 50), "p99_ms": cm.percentile(ms, 99)}


async def main(events: int, rounds: int) -> dict[str, Any]:
    gathered: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="sabak-failover-") as tmp:
        async with sentinel_set(Path(tmp)) as redis_set:
            for r in range(rounds):
                for wanted in (0, 1):  # interleaved: the machine's drift hits both alike
                    acks = await one_round(redis_set.url, wanted, events, f"{r}-{wanted}")
                    for path, values in acks.items():
                        gathered.setdefault(f"{path} wait_replicas={wanted}", {}).setdefault(
                            "acks", []
                        ).extend(values)
    rows = {name: figures(v["acks"]) for name, v in gathered.items()}
    table = [[name, f["count"], f"{f['p50_ms']:.2f}", f"{f['p99_ms']:.2f}"]
             for name, f in rows.items()]  # fmt: skip
    print(cm.markdown_table(["appends", "acks", "p50 ms", "p99 ms"], table))
    return {"events": events, "rounds": rounds, "rows": rows, "machine": cm.machine_facts()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = asyncio.run(main(args.events, args.rounds))
    print(cm.write_results("failover", results))
