"""Attendance benchmark (issue 3): one check answered by N students; time to stored, ack latency."""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repo root, not bench/, goes on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from bench import common as cm
from bench.joinstorm import (
    READY_S,
    base_parser,
    bench_main,
    client_errors,
    count_logged,
    cpu_cell,
    lesson_log,
    meter_pids,
    net_cpu,
    other_load,
    quiet_and_idle,
    run_crowd,
)
from bench.signaling import Crowd, CrowdSpec, Options, Run
from bench.wsclient import ProtocolError, WsClient
from client.sabak_client import SabakClient

DRAIN_S = 60.0  # after the last planned answer, how long acks may take before they count as lost
TALLY_WAIT_S = 5.0  # after the last ack, how long the teacher's final tally may take
ACK_TIMEOUT_S = 30.0


@dataclass
class RoundOptions(Options):
    """Signaling's options (server, crowd) plus when students answer."""

    spread: float = 0.0  # answers at evenly spaced moments over this many seconds
    jitter: float = 0.0  # plus a random delay of up to this many seconds each
    window_s: int = 60  # the attendance check's window


@dataclass
class AnswerPlan:
    """What each student does when the teacher's prompt arrives."""

    trigger: str  # the broadcast that shows the prompt: check_started, poll_opened
    event: str  # what the student sends: check_answer, poll_answer
    id_field: str  # check_id, poll_id (taken from the trigger's payload)
    start_at: float = 0.0  # wall time of the teacher's issue
    spread_s: float = 0.0
    jitter_s: float = 0.0
    choices: int = 0  # a poll: student i answers option i % choices; 0: no answer field


# -- the students (worker processes) -----------------------------------------------------


class AnswerCrowd(Crowd):
    """Signaling's crowd, which also answers a prompt; each answer is (shown, sent, acked, code)."""

    def __init__(self, spec: CrowdSpec) -> None:
        super().__init__(spec)
        self.tasks: list[asyncio.Task[tuple[float, float, float, str]]] = []

    def handlers(self) -> dict[str, Any]:
        return super().handlers() | {"arm": self.arm, "answers": self.answers}

    async def arm(self, plan: AnswerPlan) -> int:
        """Every student waits for the plan's trigger (watched from now on) and answers it."""
        self.tasks = []
        for i, client in enumerate(self.clients):
            shown = asyncio.Event()
            client.watch, client.notify = frozenset({plan.trigger}), shown
            slot = (i + 0.5) * plan.spread_s / len(self.clients)
            self.tasks.append(asyncio.create_task(self._answer(client, shown, i, slot, plan)))
        return len(self.tasks)

    async def _answer(
        self, client: WsClient, shown: asyncio.Event, i: int, slot: float, plan: AnswerPlan
    ) -> tuple[float, float, float, str]:
        await shown.wait()
        arrived, _, payload = next(a for a in client.arrivals if a[1] == plan.trigger)
        due = max(arrived, plan.start_at + slot) + random.uniform(0, plan.jitter_s)
        await asyncio.sleep(max(0.0, due - time.time()))
        body = {plan.id_field: payload[plan.id_field]}
        if plan.choices:
            body["answer"] = i % plan.choices
        sent = time.time()
        try:
            ack = await client.call(plan.event, body, timeout=ACK_TIMEOUT_S)
        except (TimeoutError, ProtocolError, ConnectionError, aiohttp.ClientError) as exc:
            return arrived, sent, time.time(), type(exc).__name__
        return arrived, sent, time.time(), ack_code(ack)

    async def answers(self, deadline: float) -> dict[str, Any]:
        """Each student's answer once all are done, or the deadline passes (unanswered)."""
        pending: set[asyncio.Task[Any]] = set(self.tasks)
        if self.tasks:
            _, pending = await asyncio.wait(self.tasks, timeout=max(0.0, deadline - time.time()))
        for task in pending:
            task.cancel()
        done = [t for t in self.tasks if t not in pending]
        answers = [t.result() if t.exception() is None else (0, 0, 0, repr(t.exception()))
                   for t in done]  # fmt: skip
        return {"answers": answers, "unanswered": len(pending),
                "closed_by_server": sum(c.closed_by_server for c in self.clients),
                "client_errors": client_errors(self.clients)}  # fmt: skip


def ack_code(ack: Any) -> str:
    """Empty for a stored answer, "duplicate" for a repeated one, else the refusal's code."""
    if isinstance(ack, dict) and ack.get("ok"):
        return "duplicate" if ack.get("duplicate") else ""
    error = ack.get("error", {}) if isinstance(ack, dict) else {}
    return str(error.get("code", ack))[:80]


def answer_main(pipe: Connection, spec: CrowdSpec) -> None:
    """Entry point of a worker process."""
    asyncio.run(cm.serve_commands(pipe, AnswerCrowd(spec).handlers()))


# -- the teacher and the measurement (the parent process) --------------------------------


def time_arrivals(client: SabakClient, event: str) -> list[tuple[float, Any]]:
    """Record (arrival time, payload) of `event`, on top of the client's own recorder."""
    arrivals: list[tuple[float, Any]] = []
    recorder = client.sio.handlers["/"][event]

    async def record(data: Any = None) -> None:
        arrivals.append((time.time(), data))
        await recorder(data)

    client.sio.on(event, record)
    return arrivals


async def first_full(
    arrivals: list[tuple[float, Any]], n: int, timeout: float
) -> tuple[float, Any] | None:
    """The first tally saying `answered == n` and its arrival; None if none came in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        full = [(t, tally) for t, tally in arrivals if tally.get("answered") == n]
        if full:
            return full[0]
        await asyncio.sleep(0.05)
    return None


Issue = Callable[[SabakClient], Awaitable[dict[str, Any]]]


async def answer_round(run: Run, plan: AnswerPlan, issue: Issue, tally: str) -> dict[str, Any]:
    """Arm the students, issue the prompt, wait for every answer; the raw numbers."""
    assert run.workers is not None
    tallies = time_arrivals(run.teacher, tally)
    idle = await quiet_and_idle(run)
    plan = replace(plan, start_at=time.time() + READY_S)
    await run.workers.ask("arm", plan, 30)
    await asyncio.sleep(max(0.0, plan.start_at - time.time()))
    meter = cm.CpuMeter(meter_pids(run)[1])
    meter.start()
    issued = time.time()
    issue_ack = await issue(run.teacher)
    issue_acked = time.time()
    deadline = issued + plan.spread_s + plan.jitter_s + DRAIN_S
    replies = await run.workers.ask("answers", deadline, deadline - time.time() + 30)
    cpu, window = meter.stop(), time.time() - issued
    full = await first_full(tallies, run.n, TALLY_WAIT_S)
    extra = {"issue_ack": issue_ack, "tallies_received": len(tallies),
             "final_tally_s": None if full is None else full[0] - issued,
             "final_tally": None if full is None else full[1]}  # fmt: skip
    summary = summarize(run.n, issued, issue_acked, replies, cpu, window)
    return summary | net_cpu(cpu, window, idle, run.n) | extra


def summarize(
    n: int, issued: float, issue_acked: float, replies: list[dict[str, Any]],
    cpu: dict[str, float], window: float,
) -> dict[str, Any]:  # fmt: skip
    answers = [a for r in replies for a in r["answers"]]
    stored = [a for a in answers if a[3] == ""]
    acks = [(acked - sent) * 1000 for _, sent, acked, _ in stored]
    shown = [(arrived - issued) * 1000 for arrived, _, _, _ in answers]
    last = max((a[2] for a in stored), default=float("nan"))
    pct = cm.percentile
    return {
        "n": n, "stored": len(stored), "not_stored": n - len(stored),
        "refused_or_failed": [a[3] for a in answers if a[3]][:20],
        "unanswered": sum(r["unanswered"] for r in replies),
        "issue_ack_ms": (issue_acked - issued) * 1000,
        "last_stored_s": last - issued, "last_stored_after_issue_ack_s": last - issue_acked,
        "ack_p50_ms": pct(acks, 50), "ack_p99_ms": pct(acks, 99),
        "ack_max_ms": max(acks, default=float("nan")),
        "shown_p50_ms": pct(shown, 50), "shown_p99_ms": pct(shown, 99),
        "window_s": window, "cpu_s": cpu, "foreign_cpu_s": cm.others_cpu(cpu),
        "server_ms_per_answer": cpu["server"] / max(n, 1) * 1000,
        "server_cores": cpu["server"] / window, "redis_ms": cpu["redis"] * 1000,
        "closed_by_server": sum(r["closed_by_server"] for r in replies),
        "client_errors": [e for r in replies for e in r["client_errors"]][:10],
    }  # fmt: skip


def seconds(value: float | None) -> str:
    return "never" if value is None else f"{value * 1000:.0f} ms"


# -- attendance --------------------------------------------------------------------------


async def check_round(run: Run) -> dict[str, Any]:
    opts = run.opts
    assert isinstance(opts, RoundOptions)
    plan = AnswerPlan("check_started", "check_answer", "check_id", jitter_s=opts.jitter)

    async def issue(teacher: SabakClient) -> dict[str, Any]:
        return await teacher.call("check_start", {"window_s": opts.window_s})

    result = await answer_round(run, plan, issue, "check_tally")
    check_id = result["issue_ack"]["check_id"]
    return result | count_logged(await lesson_log(run), "CheckAnswered", check_id=check_id)


HEADERS = [
    "N", "answers", "issue → last stored", "check_answer ack p50 / p99 (max)",
    "check_started p50 / p99", "teacher's tally = N", "CheckAnswered logged (dups)",
    "server CPU / answer (idle rate)", "server busy", "other load",
]  # fmt: skip


def table(results: list[dict[str, Any]]) -> str:
    return cm.markdown_table(HEADERS, [row(r) for r in results])


def row(r: dict[str, Any]) -> list[str]:
    when = f"within {r['jitter']:g} s" if r["jitter"] else "at once"
    return [str(r["n"]), when, f"{r['last_stored_s'] * 1000:.0f} ms",
            f"{r['ack_p50_ms']:.0f} / {r['ack_p99_ms']:.0f} ({r['ack_max_ms']:.0f}) ms",
            f"{r['shown_p50_ms']:.0f} / {r['shown_p99_ms']:.0f} ms", seconds(r["final_tally_s"]),
            f"{r['logged']} ({r['logged_duplicates']})",
            cpu_cell(r["server_ms_per_answer"], r["idle_server_cpu_ms_per_s"]),
            f"{r['server_cores'] * 100:.0f} %", other_load(r)]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    p = base_parser(__doc__, [1000])
    jitter = "each student answers after a random delay of up to S s; 0: at once"
    p.add_argument("--jitter", type=float, default=0.0, metavar="S", help=jitter)
    p.add_argument("--window-s", type=int, default=60, help="the check's window")
    opts = RoundOptions(**vars(p.parse_args(argv)))

    async def one(n: int, source: Path | None) -> dict[str, Any]:
        result = await run_crowd(n, opts, source, check_round, answer_main, join=True)
        return result | {"jitter": opts.jitter}

    bench_main("attendance", opts, one, table)


if __name__ == "__main__":
    main()
