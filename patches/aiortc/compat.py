"""Every use of aiortc's and aioice's private internals, checked against the pinned version."""

from __future__ import annotations

import logging
import queue
import random
import struct
from collections.abc import Callable, Iterator
from typing import Any

import aioice
import aioice.ice
import aiortc
import aiortc.codecs.vpx
from aiortc import RTCPeerConnection, RTCRtpReceiver, RTCRtpSender, rtcrtpreceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcicetransport import RTCIceTransport
from aiortc.rtcrtpparameters import RTCRtpSendParameters

from patches import internals

log = logging.getLogger(__name__)

AIORTC_VERSION = "1.16.0"
MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
HISTORY = 128  # packets kept for NACK, as aiortc's RTP_HISTORY_SIZE
_RTP_HEADER = struct.Struct("!BBHII")

FrameSink = Callable[[bytes, int], None]


class AiortcInternalsChanged(RuntimeError):
    """The installed aiortc/aioice no longer has the internals the forwarding unit relies on."""


# --- the check ----------------------------------------------------------------------------

# (owner, attribute, code it must contain): instance attributes exist only in __init__'s code.
_SOURCE: internals.Source = (
    (
        RTCRtpReceiver,
        "__init__",
        ("self.__decoder_queue", "self.__decoder_thread", "self.__jitter_buffer"),
    ),
    (
        RTCRtpReceiver,
        "_handle_rtp_packet",
        (
            "self.__jitter_buffer.add(packet)",
            "packet._data = depayload(codec, packet.payload)",
            "self.__decoder_queue.put((codec, encoded_frame))",
        ),
    ),
    (rtcrtpreceiver, "decoder_worker", ("input_q.get()",)),
    (
        RTCRtpSender,
        "__init__",
        (
            "self._ssrc",
            "self._rtx_ssrc",
            "self._stream_id",
            "self.__packet_count",
            "self.__octet_count",
            "self.__ntp_timestamp",
            "self.__rtp_timestamp",
        ),
    ),
    (RTCRtpSender, "_handle_rtcp_packet", ("self._send_keyframe()", "await self._retransmit(seq)")),
    (RTCRtpSender, "_run_rtcp", ("self.__packet_count", "self.__ntp_timestamp")),
    (RTCDtlsTransport, "_setup_srtp", ("self._tx_srtp = Session(tx_policy)",)),
    (RTCIceTransport, "__init__", ("self._connection = gatherer._connection",)),
    (aioice.ice.Connection, "__init__", ("self._nominated", "self._protocols")),
    (aioice.ice.Connection, "gather_candidates", ("get_host_addresses(",)),
    (aioice.ice.CandidatePair, "__init__", ("self.protocol",)),
)
# (owner, attribute, parameter names)
_SIGNATURES: internals.Signatures = (
    (RTCRtpReceiver, "_send_rtcp_pli", ("self", "media_ssrc")),
    (RTCRtpSender, "_retransmit", ("self", "sequence_number")),
    (RTCRtpSender, "_send_keyframe", ("self",)),
    (RTCRtpSender, "send", ("self", "parameters")),
    (JitterFrame, "__init__", ("self", "data", "timestamp")),
    (aioice.ice, "get_host_addresses", ("use_ipv4", "use_ipv6")),
    (aioice.ice.StunProtocol, "datagram_received", ("self", "data", "addr")),
)
_ATTRIBUTES: internals.Attributes = ((aioice.ice.CandidatePair, "remote_addr"),)


def check_internals() -> None:
    """Raise AiortcInternalsChanged naming every internal that moved; call it at start."""
    problems = []
    if aiortc.__version__ != AIORTC_VERSION:
        problems.append(
            f"aiortc is {aiortc.__version__}, the forwarding unit needs exactly {AIORTC_VERSION}"
        )
    problems += internals.problems(_SOURCE, _SIGNATURES, _ATTRIBUTES)
    if problems:
        raise AiortcInternalsChanged(
            "aiortc internals used by patches/aiortc/compat.py changed (aioice "
            f"{aioice.__version__}): " + "; ".join(problems)
        )


# --- ingress: encoded frames before the decoder, audio without the jitter buffer ------------


class _FrameTap:
    """Stands in for the receiver's decoder queue: each reassembled frame goes to the sink.

    aiortc still starts its decoder thread on this object; the thread only blocks in get()
    until the receiver stops it with put(None).
    """

    def __init__(self, sink: FrameSink) -> None:
        self._sink = sink
        self._stop: queue.SimpleQueue[None] = queue.SimpleQueue()

    def put(self, item: tuple[Any, JitterFrame] | None, *args: Any, **kwargs: Any) -> None:
        if item is None:
            self._stop.put(None)
            return
        try:
            self._sink(item[1].data, item[1].timestamp)
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


def tap_encoded_frames(receiver: RTCRtpReceiver, sink: FrameSink, per_packet: bool) -> None:
    """Send the receiver's encoded frames (mapped RTP timestamp) to sink instead of decoding."""
    if receiver._RTCRtpReceiver__decoder_thread is not None:  # type: ignore[attr-defined]
        raise RuntimeError("the receiver already runs; tap it before the connection starts")
    if per_packet:
        receiver._RTCRtpReceiver__jitter_buffer = _PacketPassThrough()  # type: ignore[attr-defined]
    receiver._RTCRtpReceiver__decoder_queue = _FrameTap(sink)  # type: ignore[attr-defined]


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


# --- egress: the sender's hooks and a direct RTP writer ------------------------------------


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call callback on PLI/FIR from the remote: with pre-encoded media aiortc ignores them."""
    sender._send_keyframe = callback  # type: ignore[method-assign]


def on_sender_started(
    sender: RTCRtpSender, callback: Callable[[RTCRtpSendParameters], None]
) -> None:
    """Call callback with the negotiated parameters once the connection starts the sender."""
    original = sender.send

    async def send(parameters: RTCRtpSendParameters) -> None:
        await original(parameters)
        callback(parameters)

    sender.send = send  # type: ignore[method-assign]


def set_stream_id(sender: RTCRtpSender, stream_id: str) -> None:
    """Group senders into one browser MediaStream (msid) so that it syncs audio and video."""
    sender._stream_id = stream_id


def sent_packets(sender: RTCRtpSender) -> int:
    return int(sender._RTCRtpSender__packet_count)  # type: ignore[attr-defined]


class RtpWriter:
    """Sends RTP for a started sender straight to its socket, bypassing its per-packet loop.

    Payloads are packetized once per frame for every subscriber and sent synchronously from
    the publisher's receive path: no task per subscriber, no coroutine per packet. What stays
    per packet is one struct.pack, the SRTP protect (C) and one sendto. NACKs are answered
    over RTX from our own history; aiortc's RTCP loop reports our counters.
    """

    def __init__(self, sender: RTCRtpSender, params: RTCRtpSendParameters) -> None:
        codec, mid = params.codecs[0], params.muxId or ""
        self._sender = sender
        self._pt = codec.payloadType or 0
        self._rtx_pt = next(
            (
                c.payloadType
                for c in params.codecs
                if c.mimeType.lower().endswith("/rtx")
                and c.parameters.get("apt") == codec.payloadType
            ),
            None,
        )
        self._ssrc, self._rtx_ssrc = sender._ssrc, sender._rtx_ssrc
        self._seq, self._rtx_seq = random.getrandbits(15), random.getrandbits(15)
        self._ts_origin = random.getrandbits(32)
        ids = {ext.uri: ext.id for ext in params.headerExtensions}
        # The mid only: abs-send-time would feed the receiver's bandwidth estimate, which
        # we never act on (no per-student adaptation), at a cost on both ends per packet.
        self._ext = extension_block(one_byte_extension(ids.get(MID_URI), mid.encode()))
        self._history: list[tuple[int, bytes] | None] = [None] * HISTORY
        self._dtls = sender.transport
        self._ice = self._dtls.transport._connection
        self.packets = self.octets = self.retransmits = 0
        sender._retransmit = self._retransmit  # type: ignore[method-assign]

    def congested(self, limit: int) -> bool:
        """True when the socket's unsent backlog is over limit bytes (the kernel pushes back)."""
        pair = self._ice._nominated.get(1)
        backlog = getattr(pair.protocol.transport, "get_write_buffer_size", None) if pair else None
        return backlog is not None and backlog() > limit

    def write(self, payloads: list[bytes], timestamp: int, ntp: int, limit: int) -> bool:
        """Send one frame (ntp: when); False, sending nothing, while congested() says so."""
        pair = self._ice._nominated.get(1)
        if pair is None:  # not connected (any more): nothing to do
            return True
        if self.congested(limit):
            return False
        ts = (self._ts_origin + timestamp) & 0xFFFFFFFF
        protect, sendto, addr = (
            self._dtls._tx_srtp.protect,
            pair.protocol.transport.sendto,
            pair.remote_addr,
        )
        last = len(payloads) - 1
        for i, payload in enumerate(payloads):
            plain = rtp_header(i == last, self._pt, self._seq, ts, self._ssrc, self._ext) + payload
            self._history[self._seq % HISTORY] = (self._seq, plain)
            sendto(protect(plain), addr)
            self._seq = (self._seq + 1) & 0xFFFF
            self.octets += len(payload)
        self.packets += len(payloads)
        self._report(ntp, ts)
        return True

    def _report(self, ntp: int, timestamp: int) -> None:
        # aiortc's RTCP loop builds its sender reports (lip sync, RTT) from these.
        state = self._sender.__dict__
        state["_RTCRtpSender__ntp_timestamp"] = ntp
        state["_RTCRtpSender__rtp_timestamp"] = timestamp
        state["_RTCRtpSender__packet_count"] = self.packets
        state["_RTCRtpSender__octet_count"] = self.octets

    async def _retransmit(self, sequence_number: int) -> None:
        kept = self._history[sequence_number % HISTORY]
        pair = self._ice._nominated.get(1)
        if kept is None or kept[0] != sequence_number or self._rtx_pt is None or pair is None:
            return
        plain, head_len = kept[1], 12 + len(self._ext)
        head = bytearray(plain[:head_len])
        struct.pack_into("!BH", head, 1, plain[1] & 0x80 | self._rtx_pt, self._rtx_seq)
        struct.pack_into("!I", head, 8, self._rtx_ssrc)
        rtx = bytes(head) + struct.pack("!H", sequence_number) + plain[head_len:]
        self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
        self.retransmits += 1
        pair.protocol.transport.sendto(self._dtls._tx_srtp.protect(rtx), pair.remote_addr)


def rtp_header(marker: bool, pt: int, seq: int, ts: int, ssrc: int, extensions: bytes) -> bytes:
    """An RTP header (RFC 3550) with no CSRC, followed by an extension block if any."""
    return _RTP_HEADER.pack(0x90 if extensions else 0x80, marker << 7 | pt, seq, ts, ssrc) + (
        extensions
    )


def one_byte_extension(ext_id: int | None, value: bytes) -> bytes:
    """One one-byte-header extension element (RFC 8285), or nothing if not negotiated."""
    if not ext_id or not value:
        return b""
    return bytes([ext_id << 4 | (len(value) - 1)]) + value


def extension_block(elements: bytes) -> bytes:
    """The one-byte-header extension block around some elements, padded to 32 bits."""
    if not elements:
        return b""
    elements += b"\x00" * (-len(elements) % 4)
    return struct.pack("!HH", 0xBEDE, len(elements) // 4) + elements


# --- ICE: host addresses, remote addresses ------------------------------------------------

_original_host_addresses = aioice.ice.get_host_addresses


def pin_host_addresses(addresses: tuple[str, ...]) -> None:
    """Gather host candidates on exactly these addresses (process-wide); () restores aioice.

    aioice never offers 127.0.0.1 on its own, which loopback tests need.
    """
    if not addresses:
        aioice.ice.get_host_addresses = _original_host_addresses
        return
    pinned = list(addresses)

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return [a for a in pinned if (":" in a and use_ipv6) or (":" not in a and use_ipv4)]

    aioice.ice.get_host_addresses = host_addresses


def _protocols(pc: RTCPeerConnection) -> Iterator[Any]:
    seen: set[int] = set()
    for transceiver in pc.getTransceivers():
        ice = transceiver.receiver.transport.transport
        if id(ice) not in seen:
            seen.add(id(ice))
            yield from ice._connection._protocols


def accept_datagrams_from(pc: RTCPeerConnection, ips: frozenset[str]) -> None:
    """Drop datagrams from other source addresses, so they never become candidates.

    Call after the local description is set (the sockets exist then).
    """
    for protocol in _protocols(pc):
        received = protocol.datagram_received

        def filtered(data: bytes, addr: tuple[Any, ...], received: Any = received) -> None:
            if addr[0] in ips:
                received(data, addr)

        protocol.datagram_received = filtered


def set_reading(pc: RTCPeerConnection, reading: bool) -> None:
    """Stop (or resume) reading a connection's sockets, as a phone that stalls (for tests)."""
    for protocol in _protocols(pc):
        transport: Any = protocol.transport  # asyncio's UDP transports can pause; TURN's not
        if hasattr(transport, "pause_reading"):
            transport.resume_reading() if reading else transport.pause_reading()


def pin_vp8_bitrate(bps: int) -> None:
    """Make aiortc's VP8 encoder hold one bitrate whatever REMB says (benchmarks only)."""
    vpx: Any = aiortc.codecs.vpx
    vpx.DEFAULT_BITRATE = vpx.MIN_BITRATE = vpx.MAX_BITRATE = int(bps)
