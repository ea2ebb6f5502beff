"""RTP written straight to a started sender's socket, with its RTX history and counters."""

from __future__ import annotations

import random
import struct
import time
from collections.abc import Callable

from aiortc import RTCRtpSender

from patches.aiortc.sender import SendParameters

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
ABS_SEND_TIME_URI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
HISTORY = 128  # packets kept for NACK, as aiortc's RTP_HISTORY_SIZE
_RTP_HEADER = struct.Struct("!BBHII")


class RtpWriter:
    """Sends RTP for a started sender straight to its socket, bypassing its per-packet loop.

    Payloads are packetized once per frame for every subscriber and sent synchronously from
    the publisher's receive path: no task per subscriber, no coroutine per packet. What stays
    per packet is one struct.pack, the SRTP protect (C) and one sendto. NACKs are answered
    over RTX from our own history, each only if `may_resend(bytes, sent_at)` says the
    student's budget has room for it and it is young enough to play; aiortc's RTCP loop
    reports our counters. Every byte sent is told to `on_sent` (the student's budget).
    """

    def __init__(
        self,
        sender: RTCRtpSender,
        params: SendParameters,
        on_sent: Callable[[int], None] = lambda n: None,
        may_resend: Callable[[int, float], bool] = lambda n, at: True,
    ) -> None:
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
        self._mid = one_byte_extension(ids.get(MID_URI), mid.encode())
        # abs-send-time lets the browser estimate the link from delays and send REMB, which
        # caps the student's estimate (media/estimate.py) before packets are lost.
        self._ast_id = ids.get(ABS_SEND_TIME_URI)
        self._ext = self._extensions(0.0)
        self._history: list[tuple[int, bytes, float] | None] = [None] * HISTORY
        self.on_sent, self.may_resend = on_sent, may_resend
        self._dtls = sender.transport
        self._ice = self._dtls.transport._connection
        self.packets = self.octets = self.retransmits = self.retransmits_skipped = 0
        self.bytes_sent = 0  # on the wire, retransmissions included (SRTP, no UDP/IP)
        sender._retransmit = self._retransmit  # type: ignore[method-assign]

    def congested(self, limit: int) -> bool:
        """True when the socket's unsent backlog is over limit bytes (the kernel pushes back)."""
        pair = self._ice._nominated.get(1)
        backlog = getattr(pair.protocol.transport, "get_write_buffer_size", None) if pair else None
        return backlog is not None and backlog() > limit

    def write(
        self,
        payloads: list[bytes],
        timestamp: int,
        ntp: int,
        limit: int,
        heads: tuple[bytes, bytes] = (b"", b""),
    ) -> bool:
        """Send one frame (ntp: when); False, sending nothing, while congested() says so.

        heads: what goes before the first payload and before each other one (a descriptor
        written for this receiver, such as VP8's with its own picture ids).
        """
        pair = self._ice._nominated.get(1)
        if pair is None:  # not connected (any more): nothing to do
            return True
        if self.congested(limit):
            return False
        ts = (self._ts_origin + timestamp) & 0xFFFFFFFF
        now = time.monotonic()
        ext = self._ext = self._extensions(now) if self._ast_id else self._ext
        protect, sendto, addr = (
            self._dtls._tx_srtp.protect,
            pair.protocol.transport.sendto,
            pair.remote_addr,
        )
        last, sent = len(payloads) - 1, 0
        first, rest = heads
        for i, payload in enumerate(payloads):
            head = rest if i else first
            plain = rtp_header(i == last, self._pt, self._seq, ts, self._ssrc, ext) + head + payload
            self._history[self._seq % HISTORY] = (self._seq, plain, now)
            packet = protect(plain)
            sendto(packet, addr)
            self._seq = (self._seq + 1) & 0xFFFF
            self.octets += len(head) + len(payload)
            sent += len(packet)
        self.bytes_sent += sent
        self.packets += len(payloads)
        self.on_sent(sent)
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
        plain, sent_at = kept[1], kept[2]
        if not self.may_resend(len(plain) + 2, sent_at):
            self.retransmits_skipped += 1
            return
        head_len = 12 + len(self._ext)  # the same extensions on every packet
        head = bytearray(plain[:head_len])
        struct.pack_into("!BH", head, 1, plain[1] & 0x80 | self._rtx_pt, self._rtx_seq)
        struct.pack_into("!I", head, 8, self._rtx_ssrc)
        rtx = bytes(head) + struct.pack("!H", sequence_number) + plain[head_len:]
        self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
        self.retransmits += 1
        packet = self._dtls._tx_srtp.protect(rtx)
        self.bytes_sent += len(packet)
        pair.protocol.transport.sendto(packet, pair.remote_addr)
        self.on_sent(len(packet))

    def _extensions(self, now: float) -> bytes:
        """The header extensions of packets sent at `now` (monotonic seconds)."""
        ast = b""
        if self._ast_id:  # 6.18 fixed point seconds, 24 bits
            ast = one_byte_extension(self._ast_id, (int(now * (1 << 18)) & 0xFFFFFF).to_bytes(3))
        return extension_block(self._mid + ast)


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
