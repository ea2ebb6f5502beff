"""Render jobs: one renderer child process per upload, one at a time, killed at its time limit.

The server only awaits the child (asyncio's subprocess): rendering never blocks the event
loop. One job runs at a time per server process, the child at the lowest CPU priority
(lessons/deck_render.py), so a deck being rendered never slows a live lesson; a few uploads
may wait their turn, more are refused (`deck-render-busy`) rather than queued for ever.
The child gets a bare environment: none of the server's settings or secrets.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from config.settings import DeckSettings
from core.errors import Refused

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MAX_WAITING = 4
PAGE_FILE_MB = 64  # no page image is near this: a larger write is a runaway renderer
OUTPUT_MAX = 1 << 20  # bytes of the child's report read at most


@dataclass(frozen=True)
class Rendered:
    """What the renderer reports of a file it rendered."""

    pages: int
    sizes: tuple[tuple[float, float], ...]
    title: str


class RenderJobs:
    """Runs renderer children for one server process, one at a time."""

    def __init__(self, settings: DeckSettings) -> None:
        self.settings = settings
        self._turn = asyncio.Lock()
        self._waiting = 0

    async def render(self, source: Path, kind: str, out: Path) -> Rendered:
        """Render `source` (pdf, png or jpeg) into the folder `out`; Refused if it cannot be."""
        if self._waiting >= MAX_WAITING:
            raise Refused(
                "deck-render-busy", "The server is rendering other decks; try again in a minute."
            )
        self._waiting += 1
        try:
            await self._turn.acquire()
        finally:
            self._waiting -= 1
        try:
            return await self._run(self._job(source, kind, out))
        finally:
            self._turn.release()

    def _job(self, source: Path, kind: str, out: Path) -> dict[str, Any]:
        s = self.settings
        return {
            "source": str(source), "kind": kind, "out": str(out), "max_pages": s.max_pages,
            "max_pixels": s.max_pixels, "memory_mb": s.render_memory_mb,
            "cpu_s": s.render_timeout_s, "file_mb": PAGE_FILE_MB,
        }  # fmt: skip

    async def _run(self, job: dict[str, Any]) -> Rendered:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "lessons.deck_render", json.dumps(job),
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, cwd=PROJECT_ROOT,
            env={"PYTHONPATH": str(PROJECT_ROOT)},  # this code tree, none of the server's env
        )  # fmt: skip
        try:
            out, err = await asyncio.wait_for(child.communicate(), self.settings.render_timeout_s)
        except TimeoutError:
            child.kill()
            await child.wait()
            raise _timeout(self.settings.render_timeout_s) from None
        finally:
            if child.returncode is None:  # cancelled (the client went away): no orphan
                child.kill()
                await child.wait()
        return _result(child.returncode or 0, out[:OUTPUT_MAX], err, self.settings)


def _result(code: int, out: bytes, err: bytes, settings: DeckSettings) -> Rendered:
    if code in (-signal.SIGXCPU, -signal.SIGKILL):
        raise _timeout(settings.render_timeout_s)
    try:
        report = json.loads(out.splitlines()[-1]) if code == 0 and out.strip() else {}
    except (ValueError, IndexError):
        report = {}
    if "refused" in report:
        raise Refused(report["refused"]["code"], report["refused"]["message"])
    if "ok" not in report:
        log.warning(
            "deck renderer failed (exit %s): %s", code, err[-2000:].decode(errors="replace")
        )
        raise Refused(
            "deck-render-failed",
            "The file could not be rendered within the renderer's memory "
            f"({settings.render_memory_mb} MB): it may be damaged or built to exhaust it.",
        )
    ok = report["ok"]
    sizes = tuple((float(w), float(h)) for w, h in ok["sizes"])
    return Rendered(int(ok["pages"]), sizes, str(ok["title"]))


def _timeout(seconds: float) -> Refused:
    return Refused(
        "deck-render-timeout", f"Rendering the file took longer than {seconds:g} seconds."
    )
