"""RTP written straight to a started sender's socket, with its RTX history and counters."""

from __future__ import annotations

import random
import struct

from aiortc import RTCRtpSender

from patches.aiortc.sender import SendParameters

MID_URI = "urn:ietf:params:rtp-hdrext:sdes:mid"
HISTORY = 128  # packets kept for NACK, as aiortc's RTP_HISTORY_SIZE
_RTP_HEADER = struct.Struct("!BBHII")


class RtpWriter:
    """Sends RTP for a started sender straight to its socket, bypassing its per-packet loop.

    Payloads are packetized once per frame for every subscriber and sent synchronously from
    the publisher's receive path: no task per subscriber, no coroutine per packet. What stays
    per packet is one struct.pack, the SRTP protect (C) and one sendto. NACKs are answered
    over RTX from our own history; aiortc's RTCP loop reports our counters.
    """

    def __init__(self, sender: RTCRtpSender, params: SendParameters) -> None:
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
        protect, sendto, addr = (
            self._dtls._tx_srtp.protect,
            pair.protocol.transport.sendto,
            pair.remote_addr,
        )
        last = len(payloads) - 1
        first, rest = heads
        for i, payload in enumerate(payloads):
            head = rest if i else first
            plain = (
                rtp_header(i == last, self._pt, self._seq, ts, self._ssrc, self._ext) + head
            ) + payload
            self._history[self._seq % HISTORY] = (self._seq, plain)
            packet = protect(plain)
            sendto(packet, addr)
            self._seq = (self._seq + 1) & 0xFFFF
            self.octets += len(head) + len(payload)
            self.bytes_sent += len(packet)
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
        packet = self._dtls._tx_srtp.protect(rtx)
        self.bytes_sent += len(packet)
        pair.protocol.transport.sendto(packet, pair.remote_addr)


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
