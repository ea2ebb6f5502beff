"""A subscriber's sender: keyframe requests, its start, its stream id, its counters and clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiortc.codecs.vpx
from aiortc import RTCRtpSender
from aiortc.clock import current_ntp_time
from aiortc.rtcrtpparameters import RTCRtpSendParameters

# What a started sender negotiated (aiortc does not export the type).
SendParameters = RTCRtpSendParameters


def ntp_time() -> int:
    """Now on the NTP clock of aiortc's sender reports (lip sync between audio and video)."""
    return current_ntp_time()


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call callback on PLI/FIR from the remote: with pre-encoded media aiortc ignores them."""
    sender._send_keyframe = callback  # type: ignore[method-assign]


def on_sender_started(sender: RTCRtpSender, callback: Callable[[SendParameters], None]) -> None:
    """Call callback with the negotiated parameters once the connection starts the sender."""
    original = sender.send

    async def send(parameters: SendParameters) -> None:
        await original(parameters)
        callback(parameters)

    sender.send = send  # type: ignore[method-assign]


def set_stream_id(sender: RTCRtpSender, stream_id: str) -> None:
    """Group senders into one browser MediaStream (msid) so that it syncs audio and video."""
    sender._stream_id = stream_id


def sent_packets(sender: RTCRtpSender) -> int:
    return int(sender._RTCRtpSender__packet_count)  # type: ignore[attr-defined]


def pin_vp8_bitrate(bps: int) -> None:
    """Make aiortc's VP8 encoder hold one bitrate whatever REMB says (benchmarks only)."""
    vpx: Any = aiortc.codecs.vpx
    vpx.DEFAULT_BITRATE = vpx.MIN_BITRATE = vpx.MAX_BITRATE = int(bps)
