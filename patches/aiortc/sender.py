"""A subscriber's sender: keyframe requests, feedback, its start, stream id, counters and clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiortc.codecs.vpx
from aiortc import RTCRtpSender
from aiortc.clock import current_ntp_time
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import (
    RTCP_PSFB_APP,
    RTCP_RTPFB_NACK,
    AnyRtcpPacket,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpRtpfbPacket,
    RtcpSrPacket,
    unpack_remb_fci,
)

# What a started sender negotiated (aiortc does not export the type).
SendParameters = RTCRtpSendParameters


def ntp_time() -> int:
    """Now on the NTP clock of aiortc's sender reports (lip sync between audio and video)."""
    return current_ntp_time()


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call callback on PLI/FIR from the remote: with pre-encoded media aiortc ignores them."""
    sender._send_keyframe = callback  # type: ignore[method-assign]


@dataclass(frozen=True)
class Feedback:
    """What the receiver said about one sender in one RTCP packet (only what it carried)."""

    fraction_lost: float | None = None  # a receiver report block: 0..1 since the last one
    rtt: float | None = None  # aiortc's smoothed RTT once a report echoed our sender report
    nacked: tuple[int, ...] = ()  # sequence numbers asked for again
    remb_bps: int | None = None  # the receiver's estimated maximum bitrate


def on_feedback(sender: RTCRtpSender, callback: Callable[[Feedback], None]) -> None:
    """Call callback with each receiver report, NACK and REMB about this sender.

    After aiortc's own handling, so that the RTT already counts the report that came.
    """
    original = sender._handle_rtcp_packet

    async def handle(packet: AnyRtcpPacket) -> None:
        await original(packet)
        feedback = _feedback(sender, packet)
        if feedback is not None:
            callback(feedback)

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]


def _feedback(sender: RTCRtpSender, packet: AnyRtcpPacket) -> Feedback | None:
    ssrc = sender._ssrc
    if isinstance(packet, (RtcpRrPacket, RtcpSrPacket)):
        block = next((r for r in packet.reports if r.ssrc == ssrc), None)
        if block is None:
            return None
        rtt = sender._RTCRtpSender__rtt  # type: ignore[attr-defined]
        return Feedback(fraction_lost=block.fraction_lost / 256, rtt=rtt)
    if isinstance(packet, RtcpRtpfbPacket) and packet.fmt == RTCP_RTPFB_NACK:
        return Feedback(nacked=tuple(packet.lost))
    if isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
        try:
            bitrate, ssrcs = unpack_remb_fci(packet.fci)
        except ValueError:
            return None
        return Feedback(remb_bps=bitrate) if ssrc in ssrcs else None
    return None


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
