"""Join-storm benchmark (issue 7): N students connect and join over S seconds, or all at once."""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repo root, not bench/, goes on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import os
import signal
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from bench import common as cm
from bench import signaling as sg
from bench.signaling import Crowd, CrowdSpec, Options, Run
from bench.wsclient import WsClient
from client.rest import RestClient

READY_S = 1.0  # from telling the students what to do to the moment it starts
DRAIN_S = 60.0  # after the last arrival, how long joins may take before they count as failed
FOREIGN_WARN = 0.25  # other processes' CPU, in cores, above which a row is flagged


# -- the crowd runner, shared with attendance and polls ----------------------------------


def start_crowd(run: Run, target: cm.WorkerMain, concurrency: int) -> cm.Workers:
    """Worker processes sharing the students, as signaling's start_workers, with our target."""
    procs, cpus = sg.procs_for(run.n, run.opts), os.cpu_count() or 2
    gate = max(1, concurrency // procs)
    tokens = cm.split(run.classroom.student_tokens, procs)
    specs = [
        CrowdSpec(run.server.url, run.classroom.lesson_id, share, run.opts.deflate, gate,
                  (1 + i % (cpus - 1)) if run.opts.pin else None)
        for i, share in enumerate(tokens)
    ]  # fmt: skip
    return cm.Workers(target, specs)


Body = Callable[[Run], Awaitable[dict[str, Any]]]


async def run_crowd(
    n: int, opts: Options, source: Path | None, body: Body, target: cm.WorkerMain, join: bool
) -> dict[str, Any]:
    """A server, a classroom, the teacher, the students' workers (joined if `join`); `body`."""
    run = await sg.open_run(n, opts, source)
    try:
        run.workers = start_crowd(run, target, opts.connect_concurrency)
        await run.workers.ask("ping", None, 60)
        joined = await sg._join_all(run.workers, n) if join else {}
        await asyncio.sleep(sg.SETTLE_S)
        result = joined | await body(run)
    finally:
        problems = await sg.close_run(run)
    return result | {"server_log_problems": problems[:50]}


def meter_pids(run: Run) -> tuple[dict[str, int | None], dict[str, int | None]]:
    """The server's and Redis's pids, and those with every process of ours."""
    assert run.workers is not None
    server = {"server": run.server.pid, "redis": run.server.redis_pid()}
    workers = {f"worker{i}": pid for i, pid in enumerate(run.workers.pids)}
    return server, server | {"main": os.getpid()} | workers


async def quiet_and_idle(run: Run) -> dict[str, float]:
    """Wait for a quiet machine (bounded), then measure the server's idle CPU."""
    server, ours = meter_pids(run)
    waited = await cm.wait_quiet(ours, run.opts.wait_quiet)
    return await sg._idle_cpu(server) | {"waited_for_quiet_s": waited}


def net_cpu(cpu: dict[str, float], window: float, idle: dict[str, float], n: int) -> dict[str, Any]:
    """The server's CPU per student action, less what it spends idle in as long a time."""
    idle_s = idle["idle_server_cpu_ms_per_s"] / 1000 * window
    return idle | {"server_net_ms_per_action": (cpu["server"] - idle_s) / max(n, 1) * 1000}


async def lesson_log(run: Run) -> list[dict[str, Any]]:
    async with RestClient(run.server.url, run.server.admin_key()) as rest:
        return await rest.events(run.classroom.lesson_id)


def count_logged(records: list[dict[str, Any]], kind: str, **where: Any) -> dict[str, int]:
    """Events of a type whose data match `where`: how many, for how many participants."""
    ids = [r["data"]["participant_id"] for r in records if r["type"] == kind
           and all(r["data"].get(k) == v for k, v in where.items())]  # fmt: skip
    distinct = len(set(ids))
    return {"logged": len(ids), "logged_participants": distinct,
            "logged_duplicates": len(ids) - distinct}  # fmt: skip


OneN = Callable[[int, Path | None], Awaitable[dict[str, Any]]]


async def run_bench(name: str, opts: Options, one: OneN) -> dict[str, Any]:
    # SIGTERM unwinds like Ctrl-C: cancelled, every `finally` stops what it started.
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    results = []
    with cm.server_source(opts.server_rev) as (source, measured):
        for n in opts.ns:
            started = time.monotonic()
            results.append(await one(n, source) | {"run_s": time.monotonic() - started})
            print(f"N={n}: done in {results[-1]['run_s']:.1f} s", file=sys.stderr, flush=True)
    return {"benchmark": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "options": asdict(opts), "machine": cm.machine_facts(), "git": measured,
            "results": results}  # fmt: skip


def bench_main(name: str, opts: Options, one: OneN, table: Callable[[list[Any]], str]) -> None:
    """Run, print the table and what makes a row doubtful, write the JSON results."""
    try:
        report = asyncio.run(run_bench(name, opts, one))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted: everything started was stopped", file=sys.stderr)
        sys.exit(130)
    finally:
        cm.stop_all_servers()
    print(table(report["results"]) + "\n")
    for line in warnings(report["results"]):
        print(f"- {line}")
    print(f"results: {cm.write_results(name, report)}")


def warnings(results: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in results:
        if r["foreign_cpu_s"] > FOREIGN_WARN * r["window_s"]:
            busy = r["foreign_cpu_s"] / r["window_s"] * 100
            out.append(f"N={r['n']}: other processes used {busy:.0f} % of a core in the window")
        for problem in r["server_log_problems"][:3]:
            out.append(f"N={r['n']}: server log ({len(r['server_log_problems'])}): {problem[:200]}")
        if r["closed_by_server"] or r["client_errors"]:
            out.append(f"N={r['n']}: clients dropped or failed: {r['client_errors'][:1]}")
    return out


def base_parser(doc: str | None, ns: list[int]) -> argparse.ArgumentParser:
    """The options every crowd benchmark shares (see bench/signaling.py)."""
    p = argparse.ArgumentParser(description=doc)
    add = p.add_argument
    add("--ns", type=int, nargs="+", default=ns, help="students")
    add("--clients-procs", type=int, default=1, help="load-generator processes")
    add("--connect-concurrency", type=int, default=50, help="students connecting at once")
    add("--no-deflate", dest="deflate", action="store_false", help="no permessage-deflate")
    add("--pin", action="store_true", help="server on CPU 0, generator on the rest")
    add("--keep-server-dir", action="store_true", help="keep data dirs and logs")
    add("--wait-quiet", type=float, default=30.0, metavar="S", help="wait ≤ S s for idle")
    add("--server-rev", help="run the server of this git revision, not the working tree")
    return p


def client_errors(clients: list[WsClient]) -> list[str]:
    return [repr(c.error)[:200] for c in clients if c.error][:10]


def cpu_cell(gross_ms: float, idle_ms_per_s: float) -> str:
    """Server CPU per action in the window, and its idle rate (pings: bursty, see the docs)."""
    return f"{gross_ms:.2f} ms ({idle_ms_per_s:.0f} ms/s)"


def other_load(r: dict[str, Any]) -> str:
    return f"{r['foreign_cpu_s'] / r['window_s'] * 100:.0f} %"


# -- the join storm ----------------------------------------------------------------------


@dataclass
class StormOptions(Options):
    """Signaling's options (server, crowd) plus how the arrivals are spread."""

    spread: float = 10.0  # arrivals evenly spaced over this many seconds; 0: all at once


class StormCrowd(Crowd):
    """Signaling's crowd, each student arriving at its own moment; (done, took, refusal) each."""

    def handlers(self) -> dict[str, Any]:
        return super().handlers() | {"storm": self.storm}

    async def storm(self, arg: dict[str, float]) -> dict[str, Any]:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        gate, tokens = asyncio.Semaphore(self.spec.concurrency), self.spec.tokens
        step = arg["spread"] / len(tokens)
        tasks = [asyncio.create_task(self._arrive(token, arg["start_at"] + (i + 0.5) * step, gate))
                 for i, token in enumerate(tokens)]  # fmt: skip
        _, pending = await asyncio.wait(tasks, timeout=max(0.1, arg["deadline"] - time.time()))
        for task in pending:
            task.cancel()
        done = [t for t in tasks if t not in pending]
        outcomes = [t.result() if t.exception() is None else (0, 0, repr(t.exception()))
                    for t in done]  # fmt: skip
        events = sum((c.counts for c in self.clients), Counter())
        return {"outcomes": outcomes, "unfinished": len(pending), "timings": self.timings,
                "events": dict(events),
                "closed_by_server": sum(c.closed_by_server for c in self.clients),
                "client_errors": client_errors(self.clients)}  # fmt: skip

    async def _arrive(
        self, token: str, at: float, gate: asyncio.Semaphore
    ) -> tuple[float, float, str]:
        """At its moment, one student connects and joins (waiting for the gate first)."""
        await asyncio.sleep(max(0.0, at - time.time()))
        began = time.monotonic()
        refusal = await self._join_one(token, gate)
        return time.time(), time.monotonic() - began, refusal


def storm_main(pipe: Connection, spec: CrowdSpec) -> None:
    """Entry point of a worker process."""
    asyncio.run(cm.serve_commands(pipe, StormCrowd(spec).handlers()))


async def storm_round(run: Run) -> dict[str, Any]:
    """Every student arrives, connects and joins; then the log is counted."""
    assert run.workers is not None and isinstance(run.opts, StormOptions)
    idle = await quiet_and_idle(run)
    start_at = time.time() + READY_S
    deadline = start_at + run.opts.spread + DRAIN_S
    plan = {"start_at": start_at, "spread": run.opts.spread, "deadline": deadline}
    asking = asyncio.create_task(run.workers.ask("storm", plan, deadline - time.time() + 30))
    await asyncio.sleep(max(0.0, start_at - time.time()))
    meter = cm.CpuMeter(meter_pids(run)[1])
    meter.start()
    replies = await asking
    cpu, window = meter.stop(), time.time() - start_at
    logged = count_logged(await lesson_log(run), "ParticipantJoined", role="student")
    summary = summarize(run.n, start_at, replies, cpu, window)
    return summary | net_cpu(cpu, window, idle, run.n) | logged


def summarize(
    n: int, start_at: float, replies: list[dict[str, Any]], cpu: dict[str, float], window: float
) -> dict[str, Any]:
    outcomes = [o for r in replies for o in r["outcomes"]]
    took = [o[1] * 1000 for o in outcomes if not o[2]]
    failures = [o[2] for o in outcomes if o[2]]
    timings = [t for r in replies for t in r["timings"]]
    connects, acks = [c * 1000 for c, _ in timings], [j * 1000 for _, j in timings]
    unfinished = sum(r["unfinished"] for r in replies)
    events = sum((Counter(r["events"]) for r in replies), Counter())
    slowest = sorted((o for o in outcomes if not o[2]), key=lambda o: -o[1])[:10]
    pct = cm.percentile
    return {
        "n": n, "joined": len(took), "failures": len(failures) + unfinished,
        "failure_examples": failures[:10], "unfinished": unfinished,
        "last_joined_s": max((o[0] for o in outcomes if not o[2]), default=start_at) - start_at,
        "took_p50_ms": pct(took, 50), "took_p99_ms": pct(took, 99),
        "took_max_ms": max(took, default=float("nan")),
        "slowest_arrived_at_s": [round(done - t - start_at, 2) for done, t, _ in slowest],
        "connect_p50_ms": pct(connects, 50), "connect_p99_ms": pct(connects, 99),
        "join_ack_p50_ms": pct(acks, 50), "join_ack_p99_ms": pct(acks, 99),
        "window_s": window, "cpu_s": cpu, "foreign_cpu_s": cm.others_cpu(cpu),
        "server_ms_per_join": cpu["server"] / max(n, 1) * 1000,
        "redis_ms_per_join": cpu["redis"] / max(n, 1) * 1000,
        "closed_by_server": sum(r["closed_by_server"] for r in replies),
        "client_errors": [e for r in replies for e in r["client_errors"]][:10],
        "events_per_student": {k: v / max(n, 1) for k, v in sorted(events.items())},
    }  # fmt: skip


HEADERS = [
    "N", "arrivals", "connect+join p50 / p99 / max", "connect p50 / p99", "join ack p50 / p99",
    "last joined", "failures", "ParticipantJoined logged (dups, missing)",
    "server CPU / join (idle rate)", "other load",
]  # fmt: skip


def table(results: list[dict[str, Any]]) -> str:
    return cm.markdown_table(HEADERS, [row(r) for r in results])


def row(r: dict[str, Any]) -> list[str]:
    arrivals = f"over {r['spread']:g} s" if r["spread"] else f"at once (≤ {r['gate']} at a time)"
    missing = r["n"] - r["logged_participants"]
    return [str(r["n"]), arrivals,
            f"{r['took_p50_ms']:.0f} / {r['took_p99_ms']:.0f} / {r['took_max_ms']:.0f} ms",
            f"{r['connect_p50_ms']:.0f} / {r['connect_p99_ms']:.0f} ms",
            f"{r['join_ack_p50_ms']:.0f} / {r['join_ack_p99_ms']:.0f} ms",
            f"{r['last_joined_s']:.2f} s", str(r["failures"]),
            f"{r['logged']} ({r['logged_duplicates']}, {missing})",
            cpu_cell(r["server_ms_per_join"], r["idle_server_cpu_ms_per_s"]),
            other_load(r)]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    p = base_parser(__doc__, [1000])
    p.set_defaults(connect_concurrency=200)
    p.add_argument("--spread", type=float, default=10.0, metavar="S",
                   help="arrivals evenly spaced over S s; 0: all at once, at most "
                        "--connect-concurrency (default 200) at a time")  # fmt: skip
    opts = StormOptions(**vars(p.parse_args(argv)))

    async def one(n: int, source: Path | None) -> dict[str, Any]:
        result = await run_crowd(n, opts, source, storm_round, storm_main, join=False)
        return result | {"spread": opts.spread, "gate": opts.connect_concurrency}

    bench_main("joinstorm", opts, one, table)


if __name__ == "__main__":
    main()
