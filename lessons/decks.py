"""Slide decks: an upload checked, stored by its hash and rendered once; decks no lesson keeps go.

An upload is read in chunks up to `[decks] max_bytes`, hashed as it comes and written to a
private folder; its first bytes must be what its Content-Type says. The same file again
is the same deck (its SHA-256), answered at once. A new one is rendered by a child process
(lessons/deck_jobs.py) and put in place whole (store/decks.py).

Retention: a deck stays while any kept lesson's log names it (an event with a `deck`, the
board's BoardShown); one that no kept lesson names goes `[decks] keep_unshown_days` after
its last upload. So the decks of a lesson go with it (deleted by an organizer, or
`[attendance] retention_days` after it ended), at the next deck sweep (hourly).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
from collections.abc import AsyncIterable, Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from config.settings import DeckSettings
from core.errors import Refused
from core.events import Record
from lessons.deck_jobs import RenderJobs
from store.decks import WIDTHS, DeckInfo, DeckStore
from store.directory import LessonInfo
from store.protocols import Directory, LessonLog

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
KINDS = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpeg"}
EXTENSIONS = {"pdf": "pdf", "png": "png", "jpeg": "jpg"}
WRITE_BATCH = 1 << 20  # bytes gathered before a write to disk (in a thread)


def kind_of(content_type: str) -> str:
    """pdf, png or jpeg from a Content-Type; refused otherwise."""
    kind = KINDS.get(content_type)
    if kind is None:
        raise Refused(
            "deck-bad-type", "A deck is a PDF, PNG or JPEG file (Content-Type application/pdf, "
            "image/png or image/jpeg).",
        )  # fmt: skip
    return kind


def looks_like(kind: str, head: bytes) -> bool:
    """Whether a file's first bytes are those of its kind (a PDF may have junk before %PDF-)."""
    if kind == "pdf":
        return b"%PDF-" in head[:1024]
    if kind == "png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    return head.startswith(b"\xff\xd8\xff")


def decks_named(records: Iterable[Record]) -> set[str]:
    """The decks a lesson's log names (the board's BoardShown carries `deck`)."""
    named = (getattr(record.event, "deck", None) for record in records)
    return {deck for deck in named if isinstance(deck, str)}


def title_from_name(name: str) -> str:
    stem = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    return " ".join("".join(c if c.isprintable() else " " for c in stem).split())[:200]


class Decks:
    """Uploads, deletion and retention of slide decks."""

    def __init__(
        self,
        settings: DeckSettings,
        store: DeckStore,
        directory: Directory,
        eventlog: LessonLog,
        clock: Callable[[], int],
    ) -> None:
        self.settings, self.store, self.clock = settings, store, clock
        self.directory, self.eventlog = directory, eventlog
        self.jobs = RenderJobs(settings)
        self._ended_names: dict[str, set[str]] = {}  # an ended lesson's log no longer grows

    async def upload(
        self, chunks: AsyncIterable[bytes], kind: str, name: str = "", course: str | None = None
    ) -> tuple[DeckInfo, bool]:
        """The deck of this file, and whether it is new (rendered now) or was already there."""
        folder = await self.store.workspace()
        try:
            source = folder / f"original.{EXTENSIONS[kind]}"
            deck, size = await self._receive(chunks, kind, source)
            known = await self.store.info(deck)
            if known is not None:
                return await self.store.uploaded_again(known, self.clock(), course), False
            rendered = await self.jobs.render(source, kind, folder)
            title = title_from_name(name) or rendered.title
            info = DeckInfo(
                deck, rendered.pages, title, rendered.sizes, WIDTHS, kind, size, self.clock(),
                (course,) if course else (),
            )  # fmt: skip
            return await self.store.publish(folder, info), True
        finally:
            await asyncio.to_thread(shutil.rmtree, folder, True)  # gone if published

    async def _receive(
        self, chunks: AsyncIterable[bytes], kind: str, path: Path
    ) -> tuple[str, int]:
        """The file written to `path`: its SHA-256 and size, refused past max_bytes."""
        digest, size, batch, head = hashlib.sha256(), 0, bytearray(), b""
        file = await asyncio.to_thread(path.open, "xb")
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > self.settings.max_bytes:
                    raise too_large(self.settings.max_bytes)
                head = head if len(head) >= 1024 else (head + chunk)[:1024]
                digest.update(chunk)
                batch += chunk
                if len(batch) >= WRITE_BATCH:
                    await asyncio.to_thread(_write, file, bytes(batch))
                    batch.clear()
            await asyncio.to_thread(_write, file, bytes(batch))
        finally:
            await asyncio.to_thread(file.close)
        if size == 0:
            raise Refused("deck-unreadable", "The file is empty.")
        if not looks_like(kind, head):
            raise Refused("deck-bad-type", f"The file is not a {kind.upper()}.")
        return digest.hexdigest(), size

    async def delete(self, deck: str) -> bool:
        return await self.store.delete(deck)

    async def sweep(self, now_ms: int) -> list[str]:
        """Remove the decks no kept lesson names, uploaded long enough ago; their ids."""
        await self.store.sweep_workspaces()
        keep_ms = self.settings.keep_unshown_days * DAY_MS
        candidates = [i for i in await self.store.all() if now_ms - i.uploaded_ms >= keep_ms]
        if not candidates:
            return []  # no log is read on a server without old decks
        shown = await self.shown()
        removed = []
        for info in candidates:
            if info.deck not in shown and await self.store.delete(info.deck):
                removed.append(info.deck)
        if removed:
            log.info("decks shown in no kept lesson, uploaded long ago, removed: %s", removed)
        return removed

    async def shown(self) -> set[str]:
        """Every deck a kept lesson's log names."""
        lessons = await self.directory.all(LessonInfo)
        kept = {info.id for info in lessons}
        self._ended_names = {i: n for i, n in self._ended_names.items() if i in kept}
        shown: set[str] = set()
        for info in lessons:
            names = self._ended_names.get(info.id)
            if names is None:
                names = decks_named(await self.eventlog.read(info.id))
                if info.status == "ended":
                    self._ended_names[info.id] = names
            shown |= names
        return shown


def _write(file: BinaryIO, data: bytes) -> None:
    file.write(data)


def too_large(max_bytes: int) -> Refused:
    return Refused(
        "deck-too-large", f"The file is larger than {max_bytes / 1e6:g} MB, the most allowed."
    )
