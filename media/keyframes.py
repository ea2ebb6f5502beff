"""Keyframe requests to a slot's publisher: coalesced, at most one every KEYFRAME_INTERVAL_S."""

from __future__ import annotations

import asyncio
import collections
import time

from aiortc import RTCRtpReceiver

from patches.aiortc.ingress import send_pli

KEYFRAME_INTERVAL_S = 0.5


class KeyframeRequester:
    """Asks a slot's publisher for a keyframe, at most once every KEYFRAME_INTERVAL_S."""

    def __init__(self) -> None:
        self.receiver: RTCRtpReceiver | None = None
        self.requests: collections.Counter[str] = collections.Counter()
        self.sent = 0
        self._last = -KEYFRAME_INTERVAL_S
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def request(self, reason: str) -> None:
        self.requests[reason] += 1
        if self._timer is not None:
            return  # one is due already: coalesce
        delay = self._last + KEYFRAME_INTERVAL_S - time.monotonic()
        if delay <= 0:
            self._send()
        else:
            self._timer = asyncio.get_running_loop().call_later(delay, self._send)

    def _send(self) -> None:
        self._timer = None
        if self.receiver is not None:
            self._last = time.monotonic()
            task = asyncio.ensure_future(self._pli(self.receiver))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pli(self, receiver: RTCRtpReceiver) -> None:
        if await send_pli(receiver):
            self.sent += 1
        else:  # no packet yet, so no SSRC: the next frame may ask again at once
            self._last = -KEYFRAME_INTERVAL_S

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
