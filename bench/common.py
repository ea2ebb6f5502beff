"""Benchmark harness: a real `sabak serve` subprocess, its classroom, workers and measurements."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import datetime
import io
import json
import math
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from client.rest import RestClient, token_from_link

REPO = Path(__file__).resolve().parent.parent
SABAK = REPO / ".venv" / "bin" / "sabak"
if not SABAK.exists():  # a git worktree shares another checkout's venv: the running one's
    SABAK = Path(sys.executable).with_name("sabak")
RESULTS = Path(__file__).resolve().parent / "results"


# -- the server --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(eq=False)
class Server:
    """A `sabak serve` child process with its own data dir and embedded Redis."""

    process: subprocess.Popen[bytes]
    url: str
    data_dir: Path
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def admin_key(self) -> str:
        return (self.data_dir / "admin.key").read_text().strip()

    def redis_pid(self) -> int | None:
        """The embedded redis-server, a child of the server process."""
        with contextlib.suppress(psutil.Error):
            for child in psutil.Process(self.pid).children():
                if "redis-server" in " ".join(child.cmdline()):
                    return int(child.pid)
        return None

    def log_tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def log_problems(self) -> list[str]:
        """Log lines at WARNING or worse, and traceback lines."""
        marks = (" WARNING ", " ERROR ", " CRITICAL ", "Traceback")
        lines = self.log_path.read_text(errors="replace").splitlines()
        return [line for line in lines if any(m in line for m in marks)]


def server_env(
    port: int, data_dir: Path, extra: dict[str, str], source: Path | None
) -> dict[str, str]:
    """The caller's environment without its SABAK_* settings, plus ours.

    `source`: a source tree to run the server from instead of the editable install's
    (PYTHONPATH wins over the editable finder), e.g. an export of a commit to compare.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("SABAK_")}
    if source is not None:
        env["PYTHONPATH"] = str(source.resolve())
    env.update(
        SABAK_SERVER_HOST="127.0.0.1",
        SABAK_SERVER_PORT=str(port),
        SABAK_SERVER_DATA_DIR=str(data_dir),
        SABAK_REDIS_URL="",
    )
    env.update(extra)
    return env


async def start_server(
    extra_env: dict[str, str], source: Path | None = None, timeout: float = 30
) -> Server:
    """Start `sabak serve` on a free port and a fresh temp dir; wait for /healthz."""
    server = launch_server(extra_env, source)
    RUNNING.add(server)
    try:
        await wait_healthy(server, timeout)
    except BaseException:
        stop_server(server)
        remove_server_dir(server)
        raise
    return server


def launch_server(extra_env: dict[str, str], source: Path | None) -> Server:
    data_dir = Path(tempfile.mkdtemp(prefix="sabak-bench-"))
    port, log_path = free_port(), data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(SABAK), "serve"],
            env=server_env(port, data_dir / "var", extra_env, source),
            cwd=data_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C on the benchmark reaches us, we stop it
            preexec_fn=_die_with_parent,
        )
    return Server(process, f"http://127.0.0.1:{port}", data_dir / "var", log_path)


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it if the benchmark dies, even by SIGKILL (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


PR_SET_PDEATHSIG = 1


async def wait_healthy(server: Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"sabak serve exited early:\n{server.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(server.url + "/healthz") as resp:
                    if resp.status == 200 and (server.data_dir / "admin.key").exists():
                        return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"sabak serve did not answer /healthz within {timeout} s")


def stop_server(server: Server, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL after `grace`; then stop the Redis if the server left it behind."""
    RUNNING.discard(server)
    redis_pid = server.redis_pid()
    stop_pid(server.process, grace)
    if redis_pid is not None:
        with contextlib.suppress(psutil.Error):
            stop_psutil(psutil.Process(redis_pid), grace)


def remove_server_dir(server: Server) -> None:
    shutil.rmtree(server.data_dir.parent, ignore_errors=True)


RUNNING: set[Server] = set()  # started and not yet stopped: the last resort stops them


def stop_all_servers() -> None:
    """Stop every server still running (call in the benchmark's outermost `finally`)."""
    for server in list(RUNNING):
        stop_server(server)
        remove_server_dir(server)


def stop_pid(process: subprocess.Popen[bytes], grace: float) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace)


def stop_psutil(process: psutil.Process, grace: float) -> None:
    if not process.is_running():
        return
    process.terminate()
    try:
        process.wait(grace)
    except psutil.TimeoutExpired:
        process.kill()
        process.wait(grace)


# -- the classroom -----------------------------------------------------------------------


@dataclass
class Classroom:
    """A started lesson with its teacher's and students' tokens."""

    lesson_id: str
    teacher_token: str
    student_tokens: list[str]


async def make_classroom(server: Server, n_students: int, batch: int = 100) -> Classroom:
    """Create a course, a roster of n students, a teacher and a started lesson over REST."""
    async with RestClient(server.url, server.admin_key()) as rest:
        course = await rest.create_course("Bench course")
        students: list[dict[str, Any]] = []
        for start in range(0, n_students, batch):
            names = [f"Student {i}" for i in range(start, min(n_students, start + batch))]
            students += await rest.add_students(course["id"], names)
        teacher = await rest.create_teacher("Bench Teacher", [course["id"]])
        lesson = await rest.create_lesson(course["id"], "Bench lesson")
        await rest.start_lesson(lesson["id"])
    tokens = [token_from_link(s["link"]) for s in students]
    return Classroom(lesson["id"], token_from_link(teacher["link"]), tokens)


# -- measurements ------------------------------------------------------------------------


def cpu_seconds(pid: int | None) -> float:
    """CPU time of one process, all its threads, not its children; 0 if it is gone.

    /proc/<pid>/schedstat counts nanoseconds; psutil's user+system only 10 ms clock ticks,
    too coarse for a Redis that works a few milliseconds per run.
    """
    if pid is None:
        return 0.0
    with contextlib.suppress(OSError, ValueError):
        return _schedstat_seconds(pid)
    with contextlib.suppress(psutil.Error):
        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)
    return 0.0


def _schedstat_seconds(pid: int) -> float:
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        total += int((task / "schedstat").read_text().split()[0])
    return total / 1e9


def rss_bytes(pid: int | None) -> int:
    if pid is None:
        return 0
    with contextlib.suppress(psutil.Error):
        return int(psutil.Process(pid).memory_info().rss)
    return 0


def busy_cpu_seconds() -> float:
    """CPU seconds all cores spent running anything, since boot (guest time is in user)."""
    t = psutil.cpu_times()
    return float(t.user + t.nice + t.system + getattr(t, "irq", 0) + getattr(t, "softirq", 0))


class CpuMeter:
    """CPU seconds used by a set of processes between `start()` and `stop()`."""

    def __init__(self, pids: Mapping[str, int | None]) -> None:
        self.pids = pids
        self._start: dict[str, float] = {}
        self.used: dict[str, float] = {}

    def start(self) -> None:
        self._start = self._read()

    def stop(self) -> dict[str, float]:
        """CPU seconds per process; "machine": all cores' busy time; "steal": the hypervisor's."""
        now = self._read()
        self.used = {name: now[name] - self._start[name] for name in now}
        return self.used

    def _read(self) -> dict[str, float]:
        now = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        return now | {"machine": busy_cpu_seconds(), "steal": psutil.cpu_times().steal}


def others_cpu(used: Mapping[str, float]) -> float:
    """CPU seconds of processes not in a CpuMeter's result (its "machine" minus its pids)."""
    return used["machine"] - sum(v for k, v in used.items() if k not in ("machine", "steal"))


async def wait_quiet(pids: Mapping[str, int | None], max_wait: float, cores: float = 0.1) -> float:
    """Wait until other processes use under `cores` of CPU for a second, or max_wait passes.

    On a shared machine a benchmark window is only worth its numbers when nobody else runs;
    returns the seconds waited.
    """
    started = time.monotonic()
    while time.monotonic() - started < max_wait:
        meter = CpuMeter(pids)
        meter.start()
        await asyncio.sleep(1.0)
        if others_cpu(meter.stop()) < cores:
            break
    return time.monotonic() - started


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def write_results(name: str, data: dict[str, Any]) -> Path:
    """bench/results/<name>-<date>.json; a second run the same day gets a time suffix."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}-{datetime.date.today().isoformat()}.json"
    if path.exists():
        path = path.with_stem(path.stem + datetime.datetime.now().strftime("-%H%M%S"))
    path.write_text(json.dumps(data, indent=2) + "\n")
    return path


def machine_facts() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = psutil.virtual_memory().total
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory_bytes": memory}


def git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


def git_state() -> dict[str, Any]:
    """The commit measured, and the files changed on top of it (other people's work too)."""
    return {"commit": git("rev-parse", "HEAD"), "changed": git("status", "--short").splitlines()}


@contextlib.contextmanager
def server_source(rev: str | None) -> Iterator[tuple[Path | None, dict[str, Any]]]:
    """The source tree to run the server from, and what it is.

    None: the working tree (through the editable install). A revision: `git archive` of it in
    a temp dir, removed afterwards; a run measures a commit while others edit the tree.
    """
    if rev is None:
        yield None, git_state()
        return
    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    archive = subprocess.run(["git", "archive", commit], cwd=REPO, capture_output=True,
                             check=True, timeout=60).stdout  # fmt: skip
    tree = Path(tempfile.mkdtemp(prefix="sabak-src-"))
    try:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tree, filter="data")
        yield tree, {"commit": commit, "revision": rev, "changed": []}
    finally:
        shutil.rmtree(tree, ignore_errors=True)


# -- load-generator worker processes -----------------------------------------------------


WorkerMain = Callable[[Connection, Any], None]


class Workers:
    """Load-generator processes, each told what to do by (command, argument) over a pipe.

    Each worker answers every command with exactly one reply; `ask` sends one command to all
    and gathers the replies within a timeout. Processes are spawned (not forked) so that no
    event loop or socket of the parent leaks into them.
    """

    def __init__(self, target: WorkerMain, args: Sequence[Any]) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.pipes: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        for arg in args:
            parent, child = ctx.Pipe()
            process = ctx.Process(target=target, args=(child, arg), daemon=True)
            process.start()
            child.close()
            self.pipes.append(parent)
            self.processes.append(process)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.processes if p.pid is not None]

    async def ask(self, command: str, arg: Any, timeout: float) -> list[Any]:
        for pipe in self.pipes:
            pipe.send((command, arg))
        return await asyncio.gather(*(self._reply(pipe, timeout) for pipe in self.pipes))

    async def _reply(self, pipe: Connection, timeout: float) -> Any:
        ready = await asyncio.to_thread(pipe.poll, timeout)
        if not ready:
            raise TimeoutError(f"a worker did not answer within {timeout} s")
        reply = pipe.recv()
        if isinstance(reply, BaseException):
            raise RuntimeError("a worker failed") from reply
        return reply

    def stop(self, grace: float = 5) -> None:
        """Ask each worker to exit; terminate, then kill, any that does not, by its pid."""
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("exit", None))
        for process in self.processes:
            process.join(grace)
            if process.is_alive():
                process.terminate()
                process.join(grace)
            if process.is_alive():
                process.kill()
                process.join(grace)
        for pipe in self.pipes:
            pipe.close()


Handler = Callable[[Any], Any]


async def serve_commands(pipe: Connection, handlers: dict[str, Handler]) -> None:
    """The worker side: run each command's coroutine handler, reply with its result or error."""
    while True:
        try:
            command, arg = await asyncio.to_thread(pipe.recv)
        except EOFError:
            return
        if command == "exit":
            return
        try:
            reply = await handlers[command](arg)
        except Exception as exc:  # sent back to the parent, which raises it there
            reply = RuntimeError(f"{command}: {type(exc).__name__}: {exc}")
        pipe.send(reply)


def split(items: Sequence[Any], parts: int) -> Iterator[list[Any]]:
    """items dealt into `parts` nearly equal consecutive slices."""
    size, extra = divmod(len(items), parts)
    start = 0
    for i in range(parts):
        end = start + size + (1 if i < extra else 0)
        yield list(items[start:end])
        start = end
