"""The student page's network waterfall on the slow link, from the DevTools protocol.

`bench/slow_link.py --waterfall` prints it for the first run: each request's start, first
byte and end (seconds from the page's own request), its bytes on the wire, and the socket's
WebSocket opening and frames. It shows what waits for what, so a chain can be cut at its root.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import Page


@dataclass
class Row:
    """One request (or the WebSocket) as the browser saw it."""

    url: str
    start: float
    first_byte: float | None = None
    end: float | None = None
    size: int = 0


@dataclass
class Waterfall:
    """Collects Network events of one page; `render()` is the table."""

    rows: dict[str, Row] = field(default_factory=dict)
    frames: list[tuple[float, str, str]] = field(default_factory=list)
    origin: float | None = None

    async def attach(self, page: Page) -> None:
        cdp = await page.context.new_cdp_session(page)
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.webSocketWillSendHandshakeRequest", lambda e: self._ws(e, "ws open"))
        cdp.on("Network.webSocketHandshakeResponseReceived", lambda e: self._ws(e, "ws 101"))
        cdp.on("Network.webSocketFrameSent", lambda e: self._frame(e, "→"))
        cdp.on("Network.webSocketFrameReceived", lambda e: self._frame(e, "←"))
        await cdp.send("Network.enable")

    def _at(self, timestamp: float) -> float:
        if self.origin is None:
            self.origin = timestamp
        return timestamp - self.origin

    def _sent(self, e: dict[str, Any]) -> None:
        self.rows[e["requestId"]] = Row(short(e["request"]["url"]), self._at(e["timestamp"]))

    def _response(self, e: dict[str, Any]) -> None:
        row = self.rows.get(e["requestId"])
        if row is not None:
            row.first_byte = self._at(e["timestamp"])

    def _finished(self, e: dict[str, Any]) -> None:
        row = self.rows.get(e["requestId"])
        if row is not None:
            row.end = self._at(e["timestamp"])
            row.size = int(e.get("encodedDataLength", 0))

    def _ws(self, e: dict[str, Any], what: str) -> None:
        self.frames.append((self._at(e["timestamp"]), what, ""))

    def _frame(self, e: dict[str, Any], way: str) -> None:
        payload = str(e["response"].get("payloadData", ""))
        self.frames.append((self._at(e["timestamp"]), way, payload[:60]))

    def render(self) -> str:
        lines = ["start  1st-byte  end    bytes  url"]
        for row in sorted(self.rows.values(), key=lambda r: r.start):
            first = f"{row.first_byte:6.2f}" if row.first_byte is not None else "     -"
            end = f"{row.end:6.2f}" if row.end is not None else "     -"
            lines.append(f"{row.start:5.2f} {first}  {end} {row.size:6d}  {row.url}")
        lines.append("WebSocket frames:")
        lines += [f"{at:5.2f} {way} {text}" for at, way, text in self.frames]
        return "\n".join(lines)


def short(url: str) -> str:
    """The path only, with the static version left out: the table fits a terminal."""
    path = "/" + url.split("/", 3)[-1] if "://" in url else url
    parts = path.split("/")
    if len(parts) > 3 and parts[1] == "static":
        path = "/".join(["", "static", "…", *parts[3:]])
    return path.split("#")[0][:70]
