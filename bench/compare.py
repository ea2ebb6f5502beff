"""Peer comparison (issue 8): Sabak against a minimal Node socket.io server, side by side."""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the repo root, not bench/, goes on the path
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import contextlib
import ctypes
import json
import os
import signal
import statistics
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import aiohttp

from bench.common import (
    PR_SET_PDEATHSIG,
    RUNNING,
    SABAK,
    CpuMeter,
    Server,
    Workers,
    free_port,
    git_state,
    machine_facts,
    make_classroom,
    markdown_table,
    others_cpu,
    percentile,
    remove_server_dir,
    rss_bytes,
    serve_commands,
    server_env,
    stop_all_servers,
    stop_server,
    wait_healthy,
    wait_quiet,
)
from bench.signaling import SERVER_ENV, TEXT_PREFIX, Crowd, CrowdSpec
from bench.wsclient import WsClient

NODE_DIR = Path(__file__).resolve().parent / "node"
RESULTS = NODE_DIR / "results"
SERVER_CPU, GEN_CPU = 0, 1  # with --pin: the server (and its Redis) here, the generator there
SETTLE_S = 1.6  # the servers coalesce "count" to one a second: let the last one go out
LADDER = (1.0, 2.0, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, 640.0)  # broadcasts per s
BUSY_CORES = 0.3  # other processes using more than this many cores make a window doubtful


@dataclass
class Options:
    """What to run, from the command line."""

    ns: list[int]
    variants: list[str]
    rounds: int = 1
    messages: int = 20
    rate: float = 5.0
    ladder: list[float] = field(default_factory=lambda: list(LADDER))
    step_s: float = 2.0
    drain_s: float = 2.0
    p99_limit_ms: float = 200.0
    connect_concurrency: int = 50
    deflate: bool = True
    pin: bool = True
    wait_quiet: float = 10.0
    step_quiet: float = 5.0
    quick: bool = False


# -- the servers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Variant:
    """A server to measure: "ours", "ours@TREE" or "node[:all|threshold|off]".

    "ours@TREE" runs `sabak serve` from another source tree (a patched copy to compare).
    """

    name: str

    @property
    def is_node(self) -> bool:
        return self.name.startswith("node")

    @property
    def source(self) -> Path | None:
        tree = self.name.partition("@")[2]
        return Path(tree) if tree else None

    @property
    def node_deflate(self) -> str:
        return self.name.partition(":")[2] or "all"


@dataclass
class Target:
    """A started server with the tokens the generator uses."""

    variant: Variant
    server: Server
    lesson_id: str
    teacher_token: str
    student_tokens: list[str]

    def pids(self) -> dict[str, int | None]:
        return {"server": self.server.pid, "redis": self.server.redis_pid()}


def child_setup(cpu: int | None) -> Any:
    """Before exec: die with the benchmark, and run on `cpu` (threads and children inherit)."""

    def setup() -> None:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    return setup


def spawn(command: list[str], env: dict[str, str], data_dir: Path, cpu: int | None) -> Server:
    """Start a server process logging into `data_dir`; the last-resort cleanup knows it."""
    log_path, port = data_dir / "server.log", env["PORT"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, cwd=data_dir, stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=child_setup(cpu),
        )  # fmt: skip
    server = Server(process, f"http://127.0.0.1:{port}", data_dir / "var", log_path)
    RUNNING.add(server)
    return server


async def start_ours(variant: Variant, n: int, cpu: int | None) -> Target:
    """`sabak serve` (from this tree or variant.source) with a started lesson of n students."""
    data_dir, port = Path(tempfile.mkdtemp(prefix="sabak-compare-")), free_port()
    env = server_env(port, data_dir / "var", SERVER_ENV, variant.source) | {"PORT": str(port)}
    server = spawn([str(SABAK), "serve"], env, data_dir, cpu)
    with _stopped_on_error(server):
        await wait_healthy(server, 30)
        classroom = await asyncio.wait_for(make_classroom(server, n), 60 + n * 0.05)
    return Target(variant, server, classroom.lesson_id, classroom.teacher_token,
                  classroom.student_tokens)  # fmt: skip


async def start_node(variant: Variant, n: int, cpu: int | None) -> Target:
    """bench/node/server.js; it takes any token and has one lesson."""
    ensure_node_modules()
    data_dir, port = Path(tempfile.mkdtemp(prefix="sabak-compare-node-")), free_port()
    env = dict(os.environ) | {"PORT": str(port), "HOST": "127.0.0.1",
                              "DEFLATE": variant.node_deflate}  # fmt: skip
    server = spawn(["node", str(NODE_DIR / "server.js")], env, data_dir, cpu)
    with _stopped_on_error(server):
        await wait_http(server, 30)
    return Target(variant, server, "bench", "teacher", [f"student-{i}" for i in range(n)])


def ensure_node_modules() -> None:
    """Install socket.io from the lock file the first time (node_modules is not committed)."""
    if (NODE_DIR / "node_modules" / "socket.io").exists():
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True,
                   timeout=300, stdout=sys.stderr)  # fmt: skip


async def wait_http(server: Server, timeout: float) -> None:
    async with asyncio.timeout(timeout), aiohttp.ClientSession() as http:
        while True:
            if server.process.poll() is not None:
                raise RuntimeError(f"the server exited early:\n{server.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(server.url + "/healthz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)


@contextlib.contextmanager
def _stopped_on_error(server: Server) -> Any:
    try:
        yield
    except BaseException:
        stop_server(server)
        remove_server_dir(server)
        raise


async def start_target(variant: Variant, n: int, opts: Options) -> Target:
    cpu = SERVER_CPU if opts.pin else None
    if variant.is_node:
        return await start_node(variant, n, cpu)
    return await start_ours(variant, n, cpu)


# -- the load generator (worker process) ---------------------------------------------------


class PeerCrowd(Crowd):
    """bench/signaling.py's students, plus `reset` between the windows of one run."""

    def handlers(self) -> dict[str, Any]:
        return super().handlers() | {"reset": self.reset}

    async def reset(self, _: Any) -> int:
        for client in self.clients:
            client.arrivals.clear()
            client.counts.clear()
        return len(self.clients)


def peer_crowd_main(pipe: Connection, spec: CrowdSpec) -> None:
    """Entry point of the generator process."""
    if spec.cpu is not None:
        os.sched_setaffinity(0, {spec.cpu})
    asyncio.run(serve_commands(pipe, PeerCrowd(spec).handlers()))


# -- one measurement -----------------------------------------------------------------------


@dataclass
class Session:
    """A target with its teacher and students connected; what a window needs."""

    target: Target
    opts: Options
    http: aiohttp.ClientSession
    teacher: WsClient
    workers: Workers
    sent: int = 0  # bench messages so far: every message carries a number unique in the run

    def pids(self) -> dict[str, int | None]:
        workers = {f"worker{i}": pid for i, pid in enumerate(self.workers.pids)}
        return self.target.pids() | workers | {"main": os.getpid()}


async def broadcast(s: Session, count: int, rate: float) -> list[Any]:
    """The teacher sends `count` chat messages at `rate`, each carrying its number and send time."""
    start, sends = time.monotonic(), []
    for k in range(count):
        await asyncio.sleep(max(0.0, start + k / rate - time.monotonic()))
        number, s.sent = s.sent, s.sent + 1
        text = f"{TEXT_PREFIX} {number} {time.time():.6f}"
        data = {"client_id": f"bench-{number}", "text": text, "to": "all"}
        sends.append(asyncio.create_task(s.teacher.call("chat_send", data, timeout=30)))
    try:
        return await asyncio.gather(*sends, return_exceptions=True)
    finally:
        for send in sends:
            send.cancel()


async def window(s: Session, count: int, rate: float) -> dict[str, Any]:
    """Broadcast `count` messages at `rate` and collect what arrived; latency, losses, CPU."""
    await s.workers.ask("reset", None, 30)
    s.teacher.arrivals.clear()
    meter = CpuMeter(s.pids())
    meter.start()
    started = time.monotonic()
    acks = await broadcast(s, count, rate)
    wanted = {"expected": count, "deadline": time.time() + s.opts.drain_s}
    replies = await s.workers.ask("collect", wanted, s.opts.drain_s + 60)
    cpu, wall = meter.stop(), time.monotonic() - started
    return summarize(s, replies, acks, cpu, wall) | {"count": count, "rate": rate}


def summarize(
    s: Session, replies: list[dict[str, Any]], acks: list[Any], cpu: dict[str, float], wall: float
) -> dict[str, Any]:
    latencies = [lat for r in replies for lat in r["latencies_s"]]
    received = sum(r["received"] for r in replies)
    teacher_got = sum(1 for _, name, _ in s.teacher.arrivals if name == "chat")
    delivered = received + teacher_got
    n, count = len(s.target.student_tokens), len(acks)
    server_cpu = cpu["server"] + cpu.get("redis", 0.0)
    gen_cpu = sum(v for k, v in cpu.items() if k.startswith("worker"))
    return {
        "acks_ok": sum(1 for a in acks if isinstance(a, dict) and a.get("ok")),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies, default=float("nan")) * 1000,
        "lost": n * count - received,
        "duplicates": sum(r["duplicates"] for r in replies),
        "delivered": delivered,
        "wall_s": wall,
        "server_cpu_s": server_cpu,
        "redis_cpu_s": cpu.get("redis", 0.0),
        "us_per_delivery": server_cpu / max(delivered, 1) * 1e6,
        "core_rate": count / server_cpu if server_cpu > 0 else float("nan"),
        "server_core_share": server_cpu / wall,
        "gen_core_share": gen_cpu / wall,
        "other_cores": others_cpu(cpu) / wall,
        "closed_by_server": sum(r["closed_by_server"] for r in replies),
    }


def passed(w: dict[str, Any], opts: Options) -> bool:
    complete = w["lost"] == 0 and w["duplicates"] == 0 and w["acks_ok"] == w["count"]
    return bool(complete and w["p99_ms"] < opts.p99_limit_ms)


async def ladder(s: Session) -> dict[str, Any]:
    """Raise the rate until p99 passes the limit or anything is lost; one bisection step."""
    steps: list[dict[str, Any]] = []
    best, failed = 0.0, None
    for rate in s.opts.ladder:
        step = await _step(s, rate)
        steps.append(step)
        if not step["passed"]:
            failed = step
            break
        best = rate
    if failed is not None and best > 0:
        await settle(s)
        middle = round((best * failed["rate"]) ** 0.5, 1)
        step = await _step(s, middle)
        steps.append(step)
        best = middle if step["passed"] else best
    limit = failed or (steps[-1] if steps else {})
    return {"best_rate": best, "steps": steps, "limited_by": _limit_of(limit)}


async def settle(s: Session, max_wait: float = 20.0) -> None:
    """After a failed step: wait until the server has worked off its backlog."""
    deadline = time.monotonic() + max_wait
    while time.monotonic() < deadline:
        meter = CpuMeter(s.target.pids())
        meter.start()
        await asyncio.sleep(0.5)
        if meter.stop()["server"] < 0.15:
            return


async def _step(s: Session, rate: float) -> dict[str, Any]:
    """One rate; a failure while other processes were busy is tried once more when quieter."""
    count = max(8, round(rate * s.opts.step_s))
    for attempt in range(2):
        await wait_quiet(s.pids(), s.opts.step_quiet, cores=BUSY_CORES)
        w = await window(s, count, rate)
        w["passed"], w["attempt"] = passed(w, s.opts), attempt
        if w["passed"] or w["other_cores"] < BUSY_CORES:
            break
        await settle(s)
    await asyncio.sleep(0.3)
    return w


def _limit_of(step: dict[str, Any]) -> str:
    """Which side was the likelier limit in the failing step (busier core), or other load."""
    if not step:
        return "-"
    if step.get("passed"):
        return "ladder top"
    if step["other_cores"] >= BUSY_CORES:
        return "contended"
    return "generator" if step["gen_core_share"] > step["server_core_share"] else "server"


async def open_session(target: Target, opts: Options, http: aiohttp.ClientSession) -> Session:
    teacher = WsClient(http, target.server.url, {"token": target.teacher_token},
                       compress=opts.deflate, watch=frozenset({"chat"}))  # fmt: skip
    await teacher.connect()
    ack = await teacher.call("join", {"lesson_id": target.lesson_id})
    if not (isinstance(ack, dict) and ack.get("ok")):
        raise RuntimeError(f"the teacher could not join: {ack}")
    spec = CrowdSpec(target.server.url, target.lesson_id, target.student_tokens, opts.deflate,
                     opts.connect_concurrency, GEN_CPU if opts.pin else None)  # fmt: skip
    workers = Workers(peer_crowd_main, [spec])
    return Session(target, opts, http, teacher, workers)


async def join_all(s: Session) -> dict[str, Any]:
    """Connect and join every student; time, server CPU per join, memory per student."""
    await s.workers.ask("ping", None, 60)
    await asyncio.sleep(SETTLE_S)
    pids, n = s.target.pids(), len(s.target.student_tokens)
    before = {name: rss_bytes(pid) for name, pid in pids.items()}
    meter = CpuMeter(pids)
    meter.start()
    started = time.time()
    timeout = 30 + n * 0.06
    replies = await s.workers.ask("join", timeout, timeout + 10)
    cpu = meter.stop()
    refused = [r for reply in replies for r in reply["refused"]]
    if refused:
        raise RuntimeError(f"{len(refused)} joins refused, e.g. {refused[0]}")
    join_s = max(r["finished"] for r in replies) - started
    await asyncio.sleep(SETTLE_S)
    after = {name: rss_bytes(pid) for name, pid in pids.items()}
    connects = [c for reply in replies for c, _ in reply["timings"]]
    return {
        "join_all_s": join_s,
        "connect_p50_ms": percentile(connects, 50) * 1000,
        "server_ms_per_join": (cpu["server"] + cpu.get("redis", 0.0)) / n * 1000,
        "rss_per_student_kb": (after["server"] - before["server"]) / n / 1024,
        "redis_rss_per_student_kb": (after["redis"] - before["redis"]) / n / 1024,
        "rss_after_mb": after["server"] / 2**20,
    }


async def measure(variant: Variant, n: int, opts: Options) -> dict[str, Any]:
    """One server, one N: joins, a fixed-rate window, then the rate ladder."""
    target = await start_target(variant, n, opts)
    session: Session | None = None
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
            session = await open_session(target, opts, http)
            joined = await join_all(session)
            waited = await wait_quiet(session.pids(), opts.wait_quiet)
            fixed = await window(session, opts.messages, opts.rate)
            climb = await ladder(session)
            await close_session(session)
    finally:
        if session is not None:
            session.workers.stop()
        problems = await asyncio.to_thread(_stop, target)
    return {"variant": variant.name, "n": n, **joined, "waited_for_quiet_s": waited,
            "fixed": fixed, **climb, "server_log_problems": problems[:20]}  # fmt: skip


async def close_session(s: Session) -> None:
    with contextlib.suppress(Exception):
        await s.workers.ask("close", 20, 30)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(s.teacher.close(), 10)


def _stop(target: Target) -> list[str]:
    stop_server(target.server, 10)
    problems = target.server.log_problems()
    remove_server_dir(target.server)
    return problems


# -- the whole run -------------------------------------------------------------------------


def order(variants: list[Variant], index: int) -> list[Variant]:
    """Alternate which server goes first from one N (and round) to the next."""
    return variants if index % 2 == 0 else variants[::-1]


async def run_all(opts: Options) -> dict[str, Any]:
    main_task = asyncio.current_task()
    assert main_task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    if opts.pin:
        os.sched_setaffinity(0, {GEN_CPU})  # the teacher and this process: the generator's core
    variants, results, index = [Variant(v) for v in opts.variants], [], 0
    for n in opts.ns:
        for _ in range(opts.rounds):
            for variant in order(variants, index):
                started = time.monotonic()
                result = await measure(variant, n, opts)
                results.append(result | {"run_s": time.monotonic() - started})
                _progress(results[-1])
            index += 1
    return {
        "benchmark": "compare",
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "options": asdict(opts),
        "machine": machine_facts() | {"node": _node_version()},
        "git": git_state(),
        "results": results,
    }


def _progress(r: dict[str, Any]) -> None:
    print(f"{r['variant']} N={r['n']}: joined in {r['join_all_s']:.2f} s, p99 "
          f"{r['fixed']['p99_ms']:.0f} ms, {r['fixed']['us_per_delivery']:.1f} µs/delivery, "
          f"best rate {r['best_rate']}/s ({r['limited_by']}), {r['run_s']:.0f} s",
          file=sys.stderr, flush=True)  # fmt: skip


def _node_version() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(["node", "--version"], capture_output=True, text=True, timeout=10)
        return done.stdout.strip()
    return "?"


# -- output --------------------------------------------------------------------------------


def median_of(results: list[dict[str, Any]], variant: str, n: int) -> dict[str, float] | None:
    """The medians over rounds of the figures compared, for one variant and N."""
    rows = [r for r in results if r["variant"] == variant and r["n"] == n]
    if not rows:
        return None
    figures = {
        "join_all_s": [r["join_all_s"] for r in rows],
        "p50_ms": [r["fixed"]["p50_ms"] for r in rows],
        "p99_ms": [r["fixed"]["p99_ms"] for r in rows],
        "best_rate": [r["best_rate"] for r in rows],
        "core_rate": [r["fixed"]["core_rate"] for r in rows],
        "us_per_delivery": [r["fixed"]["us_per_delivery"] for r in rows],
        "rss_per_student_kb": [r["rss_per_student_kb"] for r in rows],
        "server_ms_per_join": [r["server_ms_per_join"] for r in rows],
    }
    return {k: statistics.median(v) for k, v in figures.items()}


RAW_HEADERS = [
    "server", "N", "connect+join all", "server CPU / join", "p50 / p99", "CPU / delivery",
    "highest rate (limit)", "rate per core", "RSS / student", "other load",
]  # fmt: skip


def raw_row(r: dict[str, Any]) -> list[str]:
    f = r["fixed"]
    return [
        r["variant"], str(r["n"]), f"{r['join_all_s'] * 1000:.0f} ms",
        f"{r['server_ms_per_join']:.2f} ms", f"{f['p50_ms']:.1f} / {f['p99_ms']:.1f} ms",
        f"{f['us_per_delivery']:.1f} µs", f"{r['best_rate']:g}/s ({r['limited_by']})",
        f"{f['core_rate']:.0f}/s",
        f"{r['rss_per_student_kb']:.1f} KB", f"{f['other_cores'] * 100:.0f} % of a core",
    ]  # fmt: skip


RATIO_HEADERS = [
    "ours / node", "N", "connect+join all", "p50", "p99", "highest rate", "rate per core",
    "CPU / delivery", "memory / student",
]  # fmt: skip


def ratio_rows(results: list[dict[str, Any]], opts: Options) -> list[list[str]]:
    ours = [v for v in opts.variants if not Variant(v).is_node]
    nodes = [v for v in opts.variants if Variant(v).is_node]
    rows = []
    for mine in ours:
        for peer in nodes:
            for n in opts.ns:
                a, b = median_of(results, mine, n), median_of(results, peer, n)
                if a is not None and b is not None:
                    rows.append([f"{mine} / {peer}", str(n), *_ratios(a, b)])
    return rows


def _ratios(a: dict[str, float], b: dict[str, float]) -> list[str]:
    keys = ["join_all_s", "p50_ms", "p99_ms", "best_rate", "core_rate", "us_per_delivery",
            "rss_per_student_kb"]  # fmt: skip
    return [_ratio(a[k], b[k]) for k in keys]


def _ratio(a: float, b: float) -> str:
    if b <= 0 or a != a or b != b:  # a zero or NaN denominator: no ratio
        return "–"
    return f"{a / b:.2f}×"


def warnings(results: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in results:
        f, who = r["fixed"], f"{r['variant']} N={r['n']}"
        if f["other_cores"] > 0.25:
            out.append(f"{who}: other processes used {f['other_cores']:.2f} cores in the window")
        if f["lost"] or f["duplicates"] or f["closed_by_server"]:
            out.append(f"{who}: lost {f['lost']}, duplicates {f['duplicates']}, "
                       f"dropped {f['closed_by_server']} in the fixed window")  # fmt: skip
        if r["server_log_problems"]:
            out.append(f"{who}: server log: {r['server_log_problems'][0][:150]}")
    return out


def report(data: dict[str, Any], opts: Options) -> str:
    results = data["results"]
    parts = [
        markdown_table(RAW_HEADERS, [raw_row(r) for r in results]),
        markdown_table(RATIO_HEADERS, ratio_rows(results, opts)),
        "\n".join(f"- {w}" for w in warnings(results)),
    ]
    return "\n\n".join(p for p in parts if p)


def parse_args(argv: list[str] | None) -> Options:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ns", type=int, nargs="+", help="students (default 100 500 1000 2000)")
    p.add_argument("--variants", nargs="+", default=["ours", "node"],
                   help='"ours", "ours@TREE" (sabak serve from another source tree), '
                        '"node", "node:threshold", "node:off"')  # fmt: skip
    p.add_argument("--rounds", type=int, default=1, help="times each variant runs per N")
    p.add_argument("--messages", type=int, default=20, help="messages in the fixed window")
    p.add_argument("--rate", type=float, default=5.0, help="rate of the fixed window, per s")
    p.add_argument("--ladder", type=float, nargs="+", help="broadcast rates to climb, per s")
    p.add_argument("--step-s", type=float, default=2.0, help="seconds of sending per rate")
    p.add_argument("--p99-limit-ms", type=float, default=200.0, help="a rate passes under it")
    p.add_argument("--no-deflate", dest="deflate", action="store_false",
                   help="students do not offer permessage-deflate (browsers do)")  # fmt: skip
    p.add_argument("--no-pin", dest="pin", action="store_false",
                   help="do not pin the server to CPU 0 and the generator to CPU 1")  # fmt: skip
    quiet = "before measuring, wait up to S s for other processes to go idle"
    p.add_argument("--wait-quiet", type=float, default=10.0, metavar="S", help=quiet)
    p.add_argument("--quick", action="store_true", help="N = 100 and 500, a shorter ladder")
    args = vars(p.parse_args(argv))
    quick = args["quick"]
    args["ns"] = args["ns"] or ([100, 500] if quick else [100, 500, 1000, 2000])
    args["ladder"] = args["ladder"] or ([2.0, 10.0, 40.0, 160.0] if quick else list(LADDER))
    if quick:
        args["messages"], args["step_s"] = 10, 1.5
    return Options(**args)


def save(data: dict[str, Any]) -> Path:
    """bench/node/results/compare-<date>-<time>.json (bench/results/ belongs to bench/common)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"compare-{time.strftime('%Y-%m-%d-%H%M%S')}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    opts = parse_args(argv)
    try:
        data = asyncio.run(run_all(opts))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("interrupted: everything started was stopped", file=sys.stderr)
        sys.exit(130)
    finally:
        stop_all_servers()
    print(report(data, opts))
    print(f"results: {save(data)}")


if __name__ == "__main__":
    main()
