"""The deck store: slide decks on disk, content-addressed by the SHA-256 of their file.

`<root>/<sha256>/` holds `original.<pdf|png|jpg>`, the page images `<n>-<width>.<webp|jpg>`
(n from 1) and `meta.json`. A deck folder appears whole or not at all: it is built under
`<root>/.tmp/` and renamed into place, so a reader (another server process sharing the
directory) never sees half a deck, and two processes rendering the same file keep one.
Disk work runs in a thread: the event loop never waits for the disk.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

DECK_ID = re.compile(r"[0-9a-f]{64}")
WIDTHS = (720, 1440)  # phones, laptops: every page is rendered at both
FORMATS = {"webp": "webp", "jpeg": "jpg"}  # format name -> file extension
TMP = ".tmp"
TMP_MAX_AGE_S = 86_400  # a folder left by a crash mid-upload is swept after a day


@dataclass(frozen=True)
class DeckInfo:
    """A stored deck: what a lesson needs to show it, and what retention needs to keep it."""

    deck: str
    pages: int
    title: str
    sizes: tuple[tuple[float, float], ...]  # each page's width, height (points or pixels)
    widths: tuple[int, ...]
    kind: str  # pdf, png or jpeg
    bytes: int
    uploaded_ms: int  # the last upload of this file: retention counts from it
    courses: tuple[str, ...] = ()  # the courses it was uploaded for (?course=)

    def public(self) -> dict[str, Any]:
        """The REST view of it."""
        return {
            "deck": self.deck,
            "pages": self.pages,
            "title": self.title,
            "sizes": [list(s) for s in self.sizes],
            "widths": list(self.widths),
            "kind": self.kind,
            "bytes": self.bytes,
            "uploaded_ms": self.uploaded_ms,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DeckInfo:
        return cls(
            **{
                **data,
                "sizes": tuple((float(w), float(h)) for w, h in data["sizes"]),
                "widths": tuple(data["widths"]),
                "courses": tuple(data.get("courses", ())),
            }
        )


def is_deck_id(text: str) -> bool:
    return DECK_ID.fullmatch(text) is not None


class DeckStore:
    """The decks under one directory (shared by every server process of a cluster)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    async def info(self, deck: str) -> DeckInfo | None:
        """The deck's metadata, or None when there is no such deck (or `deck` is no deck id)."""
        if not is_deck_id(deck):
            return None
        return await asyncio.to_thread(self._read_meta, deck)

    def _read_meta(self, deck: str) -> DeckInfo | None:
        try:
            return DeckInfo.from_dict(json.loads((self.root / deck / "meta.json").read_text()))
        except FileNotFoundError:
            return None

    async def all(self) -> list[DeckInfo]:
        names = await asyncio.to_thread(self._names)
        found = [await self.info(name) for name in names]
        return [info for info in found if info is not None]

    def _names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if is_deck_id(p.name))

    def page_path(self, deck: str, page: int, width: int, fmt: str) -> Path:
        """Where one page image is (it may not exist: the caller checks)."""
        assert is_deck_id(deck) and fmt in FORMATS and width in WIDTHS
        return self.root / deck / f"{page}-{width}.{FORMATS[fmt]}"

    async def workspace(self) -> Path:
        """A new private folder under the store's temporary area, for one upload."""
        return await asyncio.to_thread(self._workspace)

    def _workspace(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)  # slides may name children
        folder = self.root / TMP / secrets.token_hex(8)
        folder.mkdir(parents=True, mode=0o700)
        return folder

    async def publish(self, folder: Path, info: DeckInfo) -> DeckInfo:
        """Put a rendered folder in place as `info.deck`; the one already there wins a race."""
        return await asyncio.to_thread(self._publish, folder, info)

    def _publish(self, folder: Path, info: DeckInfo) -> DeckInfo:
        _write_json(folder / "meta.json", _as_json(info))
        try:
            os.rename(folder, self.root / info.deck)
        except OSError:  # another process published the same file first: keep theirs
            shutil.rmtree(folder, ignore_errors=True)
            return self._read_meta(info.deck) or info
        return info

    async def uploaded_again(self, info: DeckInfo, now_ms: int, course: str | None) -> DeckInfo:
        """The same file uploaded again: retention counts from now; the course is noted."""
        courses = (
            info.courses if course is None or course in info.courses else (*info.courses, course)
        )
        again = replace(info, uploaded_ms=now_ms, courses=courses)
        await asyncio.to_thread(_write_json, self.root / info.deck / "meta.json", _as_json(again))
        return again

    async def delete(self, deck: str) -> bool:
        """Remove a deck folder; False if there was none."""
        if not is_deck_id(deck):
            return False
        return await asyncio.to_thread(self._delete, deck)

    def _delete(self, deck: str) -> bool:
        folder = self.root / deck
        if not folder.is_dir():
            return False
        # Renamed away first, so that no reader sees a deck with half its pages gone.
        gone = self.root / TMP / f"gone-{deck}-{secrets.token_hex(4)}"
        gone.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            os.rename(folder, gone)
        except FileNotFoundError:
            return False  # another process deleted it meanwhile
        shutil.rmtree(gone, ignore_errors=True)
        return True

    async def sweep_workspaces(self) -> None:
        """Remove what uploads interrupted by a crash left in the temporary area."""
        await asyncio.to_thread(self._sweep_workspaces, time.time())

    def _sweep_workspaces(self, now_s: float) -> None:
        tmp = self.root / TMP
        if not tmp.is_dir():
            return
        for folder in tmp.iterdir():
            try:
                if now_s - folder.stat().st_mtime > TMP_MAX_AGE_S:
                    shutil.rmtree(folder, ignore_errors=True)
            except FileNotFoundError:
                continue


def _as_json(info: DeckInfo) -> dict[str, Any]:
    return asdict(info)


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Written whole and renamed over: a reader sees the old or the new file, never half."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    partial.write_text(json.dumps(data, ensure_ascii=False))
    os.replace(partial, path)
