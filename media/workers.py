"""The server's side of the media workers: their processes, and each lesson pinned to one.

The protocol between the server and a worker, and why there are workers, is in
media/worker.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from media.errors import MediaError
from media.worker import LINE_LIMIT, READY, RoomOptions

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parent.parent
CALL_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
START_TIMEOUT_S = 30.0  # importing aiortc takes about a second on a quiet machine


def worker_count(configured: int) -> int:
    """`[media] workers`: 0 means one per CPU core this process may run on."""
    if configured > 0:
        return configured
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Liveness:
    """How often the server pings a worker, and how long an answer may take (`[media]`)."""

    interval_s: float = 2.0
    timeout_s: float = 10.0


@dataclass(eq=False)
class WorkerProcess:
    """One worker process seen from the server: its pipes and the answers it owes."""

    index: int
    options: RoomOptions
    process: asyncio.subprocess.Process | None = None
    pending: dict[int, asyncio.Future[Any]] = field(default_factory=dict)
    lessons: set[str] = field(default_factory=set)
    next_id: int = 1
    reader: asyncio.Task[None] | None = None
    starting: asyncio.Lock = field(default_factory=asyncio.Lock)
    on_lost: Callable[[list[str]], None] | None = None  # lessons whose media died with it
    on_event: Callable[[dict[str, Any]], None] | None = None  # news it sends unasked
    liveness: Liveness = field(default_factory=Liveness)
    watchdog: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    async def start(self) -> None:
        async with self.starting:
            if self.alive:
                return
            path = os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))
            level = logging.getLevelName(logging.getLogger().getEffectiveLevel())
            env = {**os.environ, "PYTHONPATH": path, "SABAK_MEDIA_LOG_LEVEL": level}
            self.process = process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "media.worker",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                env=env, limit=LINE_LIMIT,
            )  # fmt: skip
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(self.options.to_json().encode() + b"\n")
            try:
                async with asyncio.timeout(START_TIMEOUT_S):
                    first = await process.stdout.readline()
            except TimeoutError:
                first = b""
            if not first or json.loads(first).get("ok") != READY:
                await self._reap(process)
                raise MediaError("media-unavailable", "The media worker did not start.")
            self.reader = asyncio.create_task(self._read(process))
            self.watchdog = asyncio.create_task(self._watch(process))
            log.info("media worker %d started (pid %d)", self.index, process.pid)

    async def call(self, lesson_id: str, op: str, args: dict[str, Any]) -> Any:
        if not self.alive:
            await self.start()
        assert self.process is not None
        return await self._ask(self.process, lesson_id, op, args, CALL_TIMEOUT_S)

    async def _ask(
        self,
        process: asyncio.subprocess.Process,
        lesson_id: str,
        op: str,
        args: dict[str, Any],
        timeout: float,
    ) -> Any:
        assert process.stdin is not None
        rid, self.next_id = self.next_id, self.next_id + 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[rid] = future
        line = json.dumps({"id": rid, "lesson": lesson_id, "op": op, "args": args})
        try:
            process.stdin.write(line.encode() + b"\n")
            async with asyncio.timeout(timeout):
                return await future
        except TimeoutError:
            raise MediaError("media-timeout", "Media forwarding did not answer in time.") from None
        finally:
            self.pending.pop(rid, None)

    async def _read(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        try:
            while line := await process.stdout.readline():
                answer = json.loads(line)
                if "event" in answer:
                    if self.on_event is not None:
                        self.on_event(answer)
                    continue
                future = self.pending.get(answer["id"])
                if future is None or future.done():
                    continue
                if "error" in answer:
                    code, message = answer["error"]
                    future.set_exception(MediaError(code, message))
                else:
                    future.set_result(answer["ok"])
        finally:
            await process.wait()
            if process is self.process:
                self._died(process, expected=False)

    async def _watch(self, process: asyncio.subprocess.Process) -> None:
        """Ping the worker; one that does not answer in time hangs: kill it, as if it died."""
        while process is self.process and process.returncode is None:
            await asyncio.sleep(self.liveness.interval_s)
            try:
                await self._ask(process, "-", "ping", {}, self.liveness.timeout_s)
            except MediaError as error:
                if error.code == "media-timeout" and process.returncode is None:
                    log.error(
                        "media worker %d (pid %d) did not answer a ping within %.1f s: killing it",
                        self.index, process.pid, self.liveness.timeout_s,
                    )  # fmt: skip
                    with contextlib.suppress(ProcessLookupError):
                        process.kill()  # its reader sees the end and reports the lost lessons
                return

    def _died(self, process: asyncio.subprocess.Process, *, expected: bool) -> None:
        lost, self.lessons = sorted(self.lessons), set()
        if not expected:
            log.error(
                "media worker %d (pid %d) ended with code %s; lessons that lose their media: %s",
                self.index, process.pid, process.returncode, ", ".join(lost) or "none",
            )  # fmt: skip
            if lost and self.on_lost is not None:
                self.on_lost(lost)
        for future in self.pending.values():
            if not future.done():
                future.set_exception(
                    MediaError("media-restarting", "Media forwarding restarted; try again.")
                )

    async def stop(self) -> None:
        process, self.process = self.process, None
        if self.watchdog is not None:
            self.watchdog.cancel()
        if process is not None:
            await self._reap(process)
            if self.reader is not None:
                await asyncio.gather(self.reader, return_exceptions=True)
            self._died(process, expected=True)

    @staticmethod
    async def _reap(process: asyncio.subprocess.Process) -> None:
        """Close its stdin (it closes its rooms and exits); kill it if it lingers."""
        if process.stdin is not None and not process.stdin.is_closing():
            process.stdin.close()
        try:
            async with asyncio.timeout(STOP_TIMEOUT_S):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()


class MediaWorkers:
    """The worker processes of this server; a lesson stays on the worker it was pinned to."""

    def __init__(
        self,
        count: int,
        options: RoomOptions,
        on_lost: Callable[[list[str]], None] | None = None,
        liveness: Liveness | None = None,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.workers = [
            WorkerProcess(
                i, options, on_lost=on_lost, liveness=liveness or Liveness(), on_event=on_event
            )
            for i in range(count)
        ]
        self._pins: dict[str, WorkerProcess] = {}

    def pinned(self, lesson_id: str) -> WorkerProcess | None:
        worker = self._pins.get(lesson_id)
        if worker is not None and lesson_id not in worker.lessons:  # that worker died since
            del self._pins[lesson_id]
            return None
        return worker

    def _pin(self, lesson_id: str) -> WorkerProcess:
        worker = self.pinned(lesson_id)
        if worker is None:
            worker = min(self.workers, key=lambda w: (len(w.lessons), w.index))
            self._pins[lesson_id] = worker
            worker.lessons.add(lesson_id)
        return worker

    async def call(self, lesson_id: str, op: str, **args: Any) -> Any:
        worker = self._pin(lesson_id)
        if not worker.alive:
            await worker.start()  # a fresh start forgets its lessons: pin this one again
            worker.lessons.add(lesson_id)
        return await worker.call(lesson_id, op, args)

    async def release(self, lesson_id: str) -> None:
        """The lesson is over: close its room and unpin it."""
        worker = self.pinned(lesson_id)
        if worker is None:
            return
        del self._pins[lesson_id]
        worker.lessons.discard(lesson_id)
        if worker.alive:
            with contextlib.suppress(MediaError):
                await worker.call(lesson_id, "close", {})

    def room(self, lesson_id: str) -> RemoteRoom:
        return RemoteRoom(self, lesson_id)

    async def start(self) -> None:
        await asyncio.gather(*(w.start() for w in self.workers))

    async def close(self) -> None:
        await asyncio.gather(*(w.stop() for w in self.workers))
        self._pins.clear()


class RemoteRoom:
    """A lesson's MediaRoom in its worker, with MediaRoom's calls (all of them awaited)."""

    def __init__(self, workers: MediaWorkers, lesson_id: str) -> None:
        self._call = workers.call
        self.lesson_id = lesson_id

    async def publish(
        self,
        participant_id: str,
        offer_sdp: str,
        allowed: Iterable[str],
        *,
        seat: str,
        track_kinds: dict[str, str] | None = None,
    ) -> str:
        answer = await self._call(
            self.lesson_id, "publish", pid=participant_id, sdp=offer_sdp,
            allowed=sorted(allowed), seat=seat, track_kinds=track_kinds,
        )  # fmt: skip
        return str(answer)

    async def unpublish(self, participant_id: str) -> None:
        await self._call(self.lesson_id, "unpublish", pid=participant_id)

    async def subscribe(self, participant_id: str, mode: str) -> str | None:
        return await self._call(self.lesson_id, "subscribe", pid=participant_id, mode=mode)  # type: ignore[no-any-return]

    async def set_mode(self, participant_id: str, mode: str) -> str | None:
        return await self._call(self.lesson_id, "set_mode", pid=participant_id, mode=mode)  # type: ignore[no-any-return]

    async def subscriber_answer(self, participant_id: str, answer_sdp: str) -> None:
        await self._call(self.lesson_id, "subscriber_answer", pid=participant_id, sdp=answer_sdp)

    async def add_ice_candidate(
        self, participant_id: str, direction: str, candidate: dict[str, Any] | None
    ) -> None:
        await self._call(
            self.lesson_id, "add_ice_candidate",
            pid=participant_id, direction=direction, candidate=candidate,
        )  # fmt: skip

    async def remove(self, participant_id: str) -> None:
        await self._call(self.lesson_id, "remove", pid=participant_id)

    async def receiving(self, participant_ids: Iterable[str]) -> dict[str, Any]:
        return await self._call(self.lesson_id, "receiving", pids=list(participant_ids))  # type: ignore[no-any-return]

    async def stats(self) -> dict[str, Any]:
        return await self._call(self.lesson_id, "stats")  # type: ignore[no-any-return]

    async def record(self, folder: str, segment_s: float, retry_s: float) -> None:
        await self._call(
            self.lesson_id, "record", folder=folder, segment_s=segment_s, retry_s=retry_s
        )

    async def stop_recording(self) -> None:
        await self._call(self.lesson_id, "stop_recording")
