"""Signaling benchmark (issue 2): join time, chat broadcast latency, server CPU and memory."""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repo root, not bench/, goes on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import contextlib
import os
import signal
import time
from collections import Counter
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from bench.common import (
    Classroom,
    CpuMeter,
    Server,
    Workers,
    machine_facts,
    make_classroom,
    markdown_table,
    others_cpu,
    percentile,
    remove_server_dir,
    rss_bytes,
    serve_commands,
    server_source,
    split,
    start_server,
    stop_all_servers,
    stop_server,
    wait_quiet,
    write_results,
)
from bench.wsclient import ProtocolError, WsClient
from client.sabak_client import SabakClient

# The teacher must be able to send at the benchmark's rate: lift the per-author chat limit.
SERVER_ENV = {
    "SABAK_LESSON_CHAT_RATE_MESSAGES": "1000",
    "SABAK_LESSON_CHAT_RATE_WINDOW_S": "0.1",
    "SABAK_SERVER_LOG_LEVEL": "info",
}
SETTLE_S = 1.6  # the server coalesces "count" broadcasts to one a second: let the last go out
IDLE_S = 2.0  # the idle CPU baseline with everyone connected
FOREIGN_WARN = 0.25  # other processes' CPU, in cores, above which a row is flagged
DRAIN_S = 30.0  # after the last send, how long deliveries may take before they count as lost
TEXT_PREFIX = "bench"


@dataclass
class Options:
    """What to run, from the command line."""

    ns: list[int]
    messages: int = 20
    rate: float = 5.0
    clients_procs: int = 1  # a second process measured no better on 2 cores (see report)
    connect_concurrency: int = 50
    deflate: bool = True
    pin: bool = False
    keep_server_dir: bool = False
    server_rev: str | None = None  # None: the working tree
    wait_quiet: float = 30.0


# -- the load generator (runs in worker processes) ---------------------------------------


@dataclass
class CrowdSpec:
    """One worker's share of the students."""

    url: str
    lesson_id: str
    tokens: list[str]
    deflate: bool
    concurrency: int
    cpu: int | None


class Crowd:
    """Many WsClient students in one process: join them, then record the chat they receive."""

    def __init__(self, spec: CrowdSpec) -> None:
        self.spec = spec
        self.clients: list[WsClient] = []
        self.session: aiohttp.ClientSession | None = None
        self.arrived = asyncio.Event()
        self.timings: list[tuple[float, float]] = []  # (connect, join ack) seconds per student

    def handlers(self) -> dict[str, Any]:
        return {"ping": self.ping, "join": self.join, "collect": self.collect, "close": self.close}

    async def ping(self, _: Any) -> int:
        return os.getpid()

    async def join(self, timeout: float) -> dict[str, Any]:
        """Connect and join every student; the finish time is this process's last join."""
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        gate = asyncio.Semaphore(self.spec.concurrency)
        async with asyncio.timeout(timeout):
            refusals = await asyncio.gather(*(self._join_one(t, gate) for t in self.spec.tokens))
        refused = [r for r in refusals if r]
        return {"finished": time.time(), "refused": refused, "timings": self.timings}

    async def _join_one(self, token: str, gate: asyncio.Semaphore) -> str:
        assert self.session is not None
        client = WsClient(
            self.session, self.spec.url, {"token": token},
            compress=self.spec.deflate, watch=frozenset({"chat"}), notify=self.arrived,
        )  # fmt: skip
        async with gate:
            started = time.monotonic()
            try:
                await client.connect()
                connected = time.monotonic()
                ack = await client.call("join", {"lesson_id": self.spec.lesson_id})
            except (OSError, TimeoutError, aiohttp.ClientError, ProtocolError) as exc:
                waited = time.monotonic() - started
                with contextlib.suppress(Exception):
                    await client.close()
                return f"{type(exc).__name__} after {waited:.1f} s: {exc}"[:200]
            self.timings.append((connected - started, time.monotonic() - connected))
        self.clients.append(client)
        ok = isinstance(ack, dict) and ack.get("ok") and ack.get("waiting") is False
        return "" if ok else str(ack)[:200]

    async def collect(self, arg: dict[str, float]) -> dict[str, Any]:
        """Wait until every student has `expected` bench messages or the deadline passes."""
        expected = int(arg["expected"])
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, arg["deadline"] - time.time())):
                while sum(len(c.arrivals) for c in self.clients) < expected * len(self.clients):
                    self.arrived.clear()
                    await self.arrived.wait()
        return self._report()

    def _report(self) -> dict[str, Any]:
        latencies, received, duplicates = [], 0, 0
        for client in self.clients:
            seen: set[str] = set()
            for arrived, _, payload in client.arrivals:
                number, sent = _parse_text(payload.get("text", ""))
                if number is None:
                    continue
                duplicates += number in seen
                seen.add(number)
                latencies.append(arrived - sent)
            received += len(seen)
        counts = sum((c.counts for c in self.clients), Counter())
        return {
            "latencies_s": latencies,
            "received": received,
            "duplicates": duplicates,
            "events": dict(counts),
            "closed_by_server": sum(c.closed_by_server for c in self.clients),
            "client_errors": [repr(c.error)[:200] for c in self.clients if c.error][:10],
        }

    async def close(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await asyncio.gather(*(c.close() for c in self.clients), return_exceptions=True)
        if self.session is not None:
            await self.session.close()
        return True


def _parse_text(text: str) -> tuple[str | None, float]:
    parts = text.split()
    if len(parts) != 3 or parts[0] != TEXT_PREFIX:
        return None, 0.0
    return parts[1], float(parts[2])


def crowd_main(pipe: Connection, spec: CrowdSpec) -> None:
    """Entry point of a worker process."""
    if spec.cpu is not None:
        os.sched_setaffinity(0, {spec.cpu})
    asyncio.run(serve_commands(pipe, Crowd(spec).handlers()))


# -- the teacher and the measurement (the parent process) --------------------------------


@dataclass
class Run:
    """Everything one N needs while it runs; `close_run` stops it all."""

    n: int
    opts: Options
    server: Server
    classroom: Classroom
    teacher: SabakClient
    workers: Workers | None = None


async def broadcast(teacher: SabakClient, messages: int, rate: float) -> list[Any]:
    """The teacher sends `messages` chat messages at a fixed rate, each carrying its send time."""
    start, sends = time.monotonic(), []
    for k in range(messages):
        await asyncio.sleep(max(0.0, start + k / rate - time.monotonic()))
        text = f"{TEXT_PREFIX} {k} {time.time():.6f}"
        sends.append(asyncio.create_task(teacher.chat(text, client_id=f"bench-{k}")))
    try:
        return await asyncio.gather(*sends)
    finally:
        for send in sends:
            send.cancel()


def procs_for(n: int, opts: Options) -> int:
    return max(1, min(opts.clients_procs, n))


def pin_server(server: Server) -> None:
    """Server and its Redis on CPU 0, the load generator on the others (DESIGN §6's set-up)."""
    for pid in (server.pid, server.redis_pid()):
        if pid is not None:
            os.sched_setaffinity(pid, {0})
    os.sched_setaffinity(0, set(range(1, os.cpu_count() or 2)))


async def open_run(n: int, opts: Options, source: Path | None = None) -> Run:
    server = await start_server(SERVER_ENV, source)
    try:
        if opts.pin:
            pin_server(server)
        classroom = await asyncio.wait_for(make_classroom(server, n), 60 + n * 0.05)
        teacher = SabakClient(server.url, token=classroom.teacher_token, reconnection=False)
        await teacher.connect()
        await teacher.join(classroom.lesson_id)
    except BaseException:
        stop_server(server)
        remove_server_dir(server)
        raise
    return Run(n, opts, server, classroom, teacher)


def start_workers(run: Run) -> Workers:
    procs, cpus = procs_for(run.n, run.opts), os.cpu_count() or 2
    gate = max(1, run.opts.connect_concurrency // procs)
    specs = [
        CrowdSpec(
            run.server.url, run.classroom.lesson_id, tokens, run.opts.deflate,
            gate, (1 + i % (cpus - 1)) if run.opts.pin else None,
        )
        for i, tokens in enumerate(split(run.classroom.student_tokens, procs))
    ]  # fmt: skip
    return Workers(crowd_main, specs)


async def measure(run: Run) -> dict[str, Any]:
    """Join everyone, idle a moment, then broadcast; the numbers of one N."""
    run.workers = workers = start_workers(run)
    await workers.ask("ping", None, 60)  # the workers have started and imported everything
    await asyncio.sleep(SETTLE_S)
    pids = {"server": run.server.pid, "redis": run.server.redis_pid()}
    before = {name: rss_bytes(pid) for name, pid in pids.items()}
    join_meter = CpuMeter(pids | _worker_pids(workers))
    join_meter.start()
    join = await _join_all(workers, run.n)
    join["join_cpu_s"] = join_meter.stop()
    join["server_ms_per_join"] = join["join_cpu_s"]["server"] / run.n * 1000
    await asyncio.sleep(SETTLE_S)
    after = {name: rss_bytes(pid) for name, pid in pids.items()}
    idle = await _idle_cpu(pids)
    ours = pids | {"main": os.getpid()} | _worker_pids(workers)
    idle["waited_for_quiet_s"] = await wait_quiet(ours, run.opts.wait_quiet)
    meter = CpuMeter(ours)
    meter.start()
    started = time.monotonic()
    acks = await broadcast(run.teacher, run.opts.messages, run.opts.rate)
    wanted = {"expected": run.opts.messages, "deadline": time.time() + DRAIN_S}
    replies = await workers.ask("collect", wanted, DRAIN_S + 30)
    window = time.monotonic() - started
    memory = _memory(before, after, run.n)
    return _summarize(run, replies, acks, meter.stop(), window) | join | idle | memory


def _memory(before: dict[str, int], after: dict[str, int], n: int) -> dict[str, float]:
    return {
        "rss_before_bytes": before["server"],
        "rss_after_bytes": after["server"],
        "rss_per_student_bytes": (after["server"] - before["server"]) / n,
        "redis_rss_per_student_bytes": (after["redis"] - before["redis"]) / n,
    }


def _worker_pids(workers: Workers) -> dict[str, int | None]:
    return {f"worker{i}": pid for i, pid in enumerate(workers.pids)}


async def _idle_cpu(pids: dict[str, int | None]) -> dict[str, float]:
    """The server's CPU with everyone connected and nothing happening (pings, timers)."""
    meter = CpuMeter(pids)
    meter.start()
    await asyncio.sleep(IDLE_S)
    used = meter.stop()
    return {"idle_server_cpu_ms_per_s": used["server"] / IDLE_S * 1000}


async def _join_all(workers: Workers, n: int) -> dict[str, Any]:
    timeout = 30 + n * 0.06
    started = time.time()
    replies = await workers.ask("join", timeout, timeout + 10)
    refused = [r for reply in replies for r in reply["refused"]]
    if refused:
        raise RuntimeError(f"{len(refused)} joins refused, e.g. {refused[0]}")
    connects = [c for reply in replies for c, _ in reply["timings"]]
    joins = [j for reply in replies for _, j in reply["timings"]]
    return {
        "join_all_s": max(r["finished"] for r in replies) - started,
        "connect_p50_ms": percentile(connects, 50) * 1000,
        "connect_p99_ms": percentile(connects, 99) * 1000,
        "join_ack_p50_ms": percentile(joins, 50) * 1000,
        "join_ack_p99_ms": percentile(joins, 99) * 1000,
    }


def _summarize(
    run: Run, replies: list[dict[str, Any]], acks: list[Any], cpu: dict[str, float], window: float
) -> dict[str, Any]:
    latencies = [lat for r in replies for lat in r["latencies_s"]]
    received = sum(r["received"] for r in replies)
    teacher_got = sum(1 for p in run.teacher.inbox["chat"] if p["text"].startswith(TEXT_PREFIX))
    delivered = received + teacher_got
    events = sum((Counter(r["events"]) for r in replies), Counter())
    return {
        "n": run.n,
        "procs": procs_for(run.n, run.opts),
        "messages": run.opts.messages,
        "rate_per_s": run.opts.rate,
        "acks_ok": sum(1 for a in acks if a.get("ok")),
        "latency_p50_ms": percentile(latencies, 50) * 1000,
        "latency_p99_ms": percentile(latencies, 99) * 1000,
        "latency_max_ms": max(latencies, default=float("nan")) * 1000,
        "lost": run.n * run.opts.messages - received,
        "duplicates": sum(r["duplicates"] for r in replies),
        "teacher_received": teacher_got,
        "delivered": delivered,
        "window_s": window,
        "cpu_s": cpu,
        "foreign_cpu_s": others_cpu(cpu),
        "server_us_per_delivery": cpu["server"] / max(delivered, 1) * 1e6,
        "redis_us_per_delivery": cpu["redis"] / max(delivered, 1) * 1e6,
        "events_per_student": {k: v / run.n for k, v in sorted(events.items())},
        "closed_by_server": sum(r["closed_by_server"] for r in replies),
        "client_errors": [e for r in replies for e in r["client_errors"]][:10],
    }


async def close_run(run: Run) -> list[str]:
    """Stop everything this N started; returns the server's log problems."""
    with contextlib.suppress(Exception):
        await asyncio.wait_for(run.teacher.close(), 10)
    if run.workers is not None:
        with contextlib.suppress(Exception):
            await run.workers.ask("close", 20, 30)
        run.workers.stop()
    await asyncio.to_thread(stop_server, run.server, 10)
    problems = run.server.log_problems()
    if not run.opts.keep_server_dir:
        remove_server_dir(run.server)
    return problems


async def run_one(n: int, opts: Options, source: Path | None) -> dict[str, Any]:
    run = await open_run(n, opts, source)
    try:
        result = await measure(run)
    finally:
        problems = await close_run(run)
    return result | {"server_log_problems": problems[:50]}


# -- output ------------------------------------------------------------------------------


HEADERS = [
    "N", "gen procs", "connect+join all", "broadcast p50 / p99 (max)", "lost",
    "server CPU / delivery", "redis CPU / delivery", "server RSS / student",
]  # fmt: skip


JOIN_HEADERS = [
    "N", "connect p50 / p99", "join ack p50 / p99", "server CPU / join",
    "\"count\" msgs / student", "idle server CPU", "other load in window",
]  # fmt: skip


def join_row(r: dict[str, Any]) -> list[str]:
    return [
        str(r["n"]),
        f"{r['connect_p50_ms']:.0f} / {r['connect_p99_ms']:.0f} ms",
        f"{r['join_ack_p50_ms']:.0f} / {r['join_ack_p99_ms']:.0f} ms",
        f"{r['server_ms_per_join']:.2f} ms",
        f"{r['events_per_student'].get('count', 0):.1f}",
        f"{r['idle_server_cpu_ms_per_s']:.0f} ms/s",
        f"{r['foreign_cpu_s'] / r['window_s'] * 100:.0f} % of a core",
    ]


def table_row(r: dict[str, Any]) -> list[str]:
    return [
        str(r["n"]),
        str(r["procs"]),
        f"{r['join_all_s'] * 1000:.0f} ms",
        f"{r['latency_p50_ms']:.1f} / {r['latency_p99_ms']:.1f} ({r['latency_max_ms']:.0f}) ms",
        str(r["lost"]),
        f"{r['server_us_per_delivery']:.1f} µs",
        f"{r['redis_us_per_delivery']:.2f} µs",
        f"{r['rss_per_student_bytes'] / 1024:.1f} KB",
    ]


def parse_args(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ns", type=int, nargs="+", default=[100, 500, 1000], help="students")
    p.add_argument("--messages", type=int, default=20, help="chat messages the teacher sends")
    p.add_argument("--rate", type=float, default=5.0, help="teacher's messages per second")
    p.add_argument("--clients-procs", type=int, default=1, help="load-generator processes")
    p.add_argument("--connect-concurrency", type=int, default=50,
                   help="students connecting at once, over all processes")  # fmt: skip
    p.add_argument("--no-deflate", dest="deflate", action="store_false",
                   help="students do not offer permessage-deflate (browsers do)")  # fmt: skip
    p.add_argument("--pin", action="store_true", help="server on CPU 0, generator on the rest")
    p.add_argument("--keep-server-dir", action="store_true", help="keep data dirs and logs")
    quiet = "before each broadcast, wait up to S s for the machine to go idle"
    p.add_argument("--wait-quiet", type=float, default=30.0, metavar="S", help=quiet)
    p.add_argument("--server-rev", help="run the server of this git revision, not the working tree")
    return Options(**vars(p.parse_args(argv)))


async def run_all(opts: Options) -> dict[str, Any]:
    # SIGTERM unwinds like Ctrl-C: cancelled, every `finally` stops what it started.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    results = []
    with server_source(opts.server_rev) as (source, measured):
        for n in opts.ns:
            started = time.monotonic()
            result = await run_one(n, opts, source)
            results.append(result | {"run_s": time.monotonic() - started})
            print(f"N={n}: done in {results[-1]['run_s']:.1f} s", file=sys.stderr, flush=True)
    return {
        "benchmark": "signaling",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "options": asdict(opts),
        "machine": machine_facts(),
        "git": measured,
        "results": results,
    }


def main(argv: list[str] | None = None) -> None:
    opts = parse_args(argv)
    try:
        report = asyncio.run(run_all(opts))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted: everything started was stopped", file=sys.stderr)
        sys.exit(130)
    finally:
        stop_all_servers()
    results = report["results"]
    print(markdown_table(HEADERS, [table_row(r) for r in results]))
    print()
    print(markdown_table(JOIN_HEADERS, [join_row(r) for r in results]))
    print()
    for line in warnings(results):
        print(f"- {line}")
    print(f"results: {write_results('signaling', report)}")


def warnings(results: list[dict[str, Any]]) -> list[str]:
    """What makes a row doubtful: other load on the machine, server log problems, losses."""
    out = []
    for r in results:
        if r["foreign_cpu_s"] > FOREIGN_WARN * r["window_s"]:
            out.append(f"N={r['n']}: other processes were busy during the broadcast window")
        if r["server_log_problems"]:
            first = r["server_log_problems"][0][:160]
            out.append(f"N={r['n']}: {len(r['server_log_problems'])} server log problems: {first}")
        if r["closed_by_server"] or r["client_errors"]:
            out.append(f"N={r['n']}: clients dropped or failed: {r['client_errors'][:1]}")
        if r["lost"] or r["duplicates"] or r["acks_ok"] != r["messages"]:
            out.append(f"N={r['n']}: lost {r['lost']}, duplicates {r['duplicates']}")
    return out


if __name__ == "__main__":
    main()
