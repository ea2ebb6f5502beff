"""A publisher's receiver: encoded frames before the decoder, audio without the jitter buffer."""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpReceiver
from aiortc.jitterbuffer import JitterFrame

log = logging.getLogger(__name__)

FrameSink = Callable[[bytes, int], None]
DescribedSink = Callable[[bytes, int, Any], None]  # data, timestamp, what describe() said


class _FrameTap:
    """Stands in for the receiver's decoder queue: each reassembled frame goes to the sink.

    aiortc still starts its decoder thread on this object; the thread only blocks in get()
    until the receiver stops it with put(None).
    """

    def __init__(self, sink: Callable[[JitterFrame], None]) -> None:
        self._sink = sink
        self._stop: queue.SimpleQueue[None] = queue.SimpleQueue()

    def put(self, item: tuple[Any, JitterFrame] | None, *args: Any, **kwargs: Any) -> None:
        if item is None:
            self._stop.put(None)
            return
        try:
            self._sink(item[1])
        except Exception:  # an escaping error would stop the publisher's whole transport
            log.exception("forwarding an encoded frame failed")

    def get(self, *args: Any, **kwargs: Any) -> None:
        return self._stop.get()


class _PacketPassThrough:
    """Stands in for the audio jitter buffer: one Opus packet is one frame, pass it on now.

    aiortc's audio buffer stalls, then drops a burst on every gap; the browser's own jitter
    buffer downstream conceals a lost packet far better.
    """

    capacity = 1

    def add(self, packet: Any) -> tuple[bool, JitterFrame]:
        return False, JitterFrame(data=packet._data, timestamp=packet.timestamp)


class _Describing:
    """Wraps a jitter buffer: what describe() finds in a frame's packets goes with the frame.

    describe sees every packet's payload before depacketizing strips its descriptor (say,
    VP8's temporal layer) and returns None for a packet that says nothing.
    """

    def __init__(self, inner: Any, describe: Callable[[bytes], Any]) -> None:
        self._inner, self._describe = inner, describe
        self.capacity = inner.capacity
        self._seen: dict[int, Any] = {}  # RTP timestamp -> description

    def add(self, packet: Any) -> tuple[bool, JitterFrame | None]:
        described = self._describe(packet.payload)
        if described is not None:
            if len(self._seen) > 64:  # frames lost whole: forget them
                self._seen.clear()
            self._seen[packet.timestamp] = described
        pli, frame = self._inner.add(packet)
        if frame is not None:
            frame.described = self._seen.pop(frame.timestamp, None)
        return pli, frame

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def tap_encoded_frames(receiver: RTCRtpReceiver, sink: FrameSink, per_packet: bool) -> None:
    """Send the receiver's encoded frames (mapped RTP timestamp) to sink instead of decoding."""
    _check_idle(receiver)
    if per_packet:
        receiver._RTCRtpReceiver__jitter_buffer = _PacketPassThrough()  # type: ignore[attr-defined]
    tap = _FrameTap(lambda frame: sink(frame.data, frame.timestamp))
    receiver._RTCRtpReceiver__decoder_queue = tap  # type: ignore[attr-defined]


def tap_described_frames(
    receiver: RTCRtpReceiver, sink: DescribedSink, describe: Callable[[bytes], Any]
) -> None:
    """As tap_encoded_frames (per frame), with what describe() read in the frame's packets."""
    _check_idle(receiver)
    inner = receiver._RTCRtpReceiver__jitter_buffer  # type: ignore[attr-defined]
    receiver._RTCRtpReceiver__jitter_buffer = _Describing(inner, describe)  # type: ignore[attr-defined]
    tap = _FrameTap(lambda f: sink(f.data, f.timestamp, getattr(f, "described", None)))
    receiver._RTCRtpReceiver__decoder_queue = tap  # type: ignore[attr-defined]


def _check_idle(receiver: RTCRtpReceiver) -> None:
    if receiver._RTCRtpReceiver__decoder_thread is not None:  # type: ignore[attr-defined]
        raise RuntimeError("the receiver already runs; tap it before the connection starts")


def remote_ssrc(receiver: RTCRtpReceiver) -> int | None:
    sources = receiver.getSynchronizationSources()
    return sources[0].source if sources else None


async def send_pli(receiver: RTCRtpReceiver) -> bool:
    """Ask the remote sender for a keyframe; False while its SSRC is not yet known."""
    ssrc = remote_ssrc(receiver)
    if ssrc is None:
        return False
    await receiver._send_rtcp_pli(ssrc)
    return True
