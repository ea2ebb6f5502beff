"""The forwarding unit: one MediaRoom per lesson fans encoded media out, never transcoding."""

from __future__ import annotations

import asyncio
import collections
import fractions
import random
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal, get_args

import av
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.clock import current_ntp_time
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.sdp import SessionDescription, candidate_from_sdp

from media.errors import MediaError as MediaError  # re-exported: callers know it here
from media.ice_policy import RemoteAddresses
from media.turns import Turns
from patches.aiortc import compat

Kind = Literal["mic", "camera", "screen"]
Mode = Literal["none", "audio", "video"]
Seat = Literal["teacher", "floor"]
Egress = Literal["direct", "sender"]
Direction = Literal["publish", "subscribe"]
StateCallback = Callable[[str, str, str], None]  # participant, direction, connection state

KEYFRAME_INTERVAL_S = 0.5
SENDER_QUEUE_FRAMES = {"audio": 25, "video": 30}  # about 0.5 s / 1 s of media
BACKLOG_BYTES = 256 * 1024
DESCRIPTION_WAIT_S = 10.0
PENDING_CANDIDATES = 32
REMOTE_CANDIDATES = 64  # trickled per connection: each is a target of STUN checks
MAX_PEERS = 300  # a room's connections, as `[media] max_peers_per_lesson`
VP8_CHUNK = 1296  # 1300-byte payloads, as aiortc, minus our 4-byte descriptor
_MASK = 0xFFFFFFFF


@dataclass(frozen=True)
class SlotSpec:
    """A fixed position in every subscriber's connection; mid is its m-line in our offer."""

    name: str
    mid: str
    seat: Seat
    kind: Kind
    stream: str  # browser MediaStream id: a seat's mic and camera share one, for lip sync

    @property
    def media(self) -> str:
        return "audio" if self.kind == "mic" else "video"


SLOTS = (
    SlotSpec("teacher-mic", "0", "teacher", "mic", "teacher"),
    SlotSpec("teacher-camera", "1", "teacher", "camera", "teacher"),
    SlotSpec("teacher-screen", "2", "teacher", "screen", "teacher-screen"),
    SlotSpec("floor-mic", "3", "floor", "mic", "floor"),
    SlotSpec("floor-camera", "4", "floor", "camera", "floor"),
)
MODE_KINDS: dict[str, frozenset[str]] = {
    "none": frozenset(),
    "audio": frozenset({"mic"}),
    "video": frozenset({"mic", "camera", "screen"}),
}
CLOCK_RATES = {"audio": 48000, "video": 90000}


@dataclass(slots=True)
class Frame:
    """One encoded frame on its slot's timeline, prepared once for every subscriber."""

    timestamp: int
    keyframe: bool
    payloads: list[bytes]  # RTP payloads (direct egress)
    packet: av.Packet[Any] | None  # for aiortc's own packetizer (sender egress)
    ntp: int


def is_vp8_keyframe(data: bytes) -> bool:
    # RFC 6386 9.1: frame tag bit 0 clear marks a key frame, followed by its start code.
    return len(data) >= 6 and not data[0] & 1 and data[3:6] == b"\x9d\x01\x2a"


def vp8_payloads(frame: bytes, picture_id: int) -> list[bytes]:
    """RFC 7741 payloads: descriptor with a 15-bit picture id, start bit on the first."""
    pid = bytes([0x80 | picture_id >> 8, picture_id & 0xFF])
    first, rest = b"\x90\x80" + pid, b"\x80\x80" + pid
    return [
        (rest if i else first) + frame[i : i + VP8_CHUNK] for i in range(0, len(frame), VP8_CHUNK)
    ]


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
        if await compat.send_pli(receiver):
            self.sent += 1
        else:  # no packet yet, so no SSRC: the next frame may ask again at once
            self._last = -KEYFRAME_INTERVAL_S

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class Slot:
    """One forwarded track position: its current source, its timeline and its live feeds."""

    def __init__(self, spec: SlotSpec, egress: Egress) -> None:
        self.spec, self.egress = spec, egress
        self.owner: str | None = None
        self.receiver: RTCRtpReceiver | None = None
        self.keyframes = KeyframeRequester()
        self.feeds: set[Feed] = set()  # started and wanted
        self.frames_in = self.keyframes_in = self.bytes_in = 0
        self._clock = CLOCK_RATES[spec.media]
        self._time_base = fractions.Fraction(1, self._clock)
        self._offset: int | None = None
        self._last_ts: int | None = None
        self._last_wall = 0.0
        self._picture_id = random.getrandbits(15)

    def sink_for(self, receiver: RTCRtpReceiver) -> compat.FrameSink:
        """Where the receiver's frames go; ignored unless it is the slot's current source."""

        def sink(data: bytes, timestamp: int) -> None:
            if self.receiver is receiver:
                self._on_frame(data, timestamp)

        return sink

    def attach(self, owner: str, receiver: RTCRtpReceiver) -> None:
        self.owner, self.receiver, self._offset = owner, receiver, None
        self.keyframes.receiver = receiver
        for feed in self.feeds:  # they are mid-stream: restart them at the new keyframe
            feed.await_keyframe()

    def detach(self) -> None:
        self.owner = self.receiver = self.keyframes.receiver = None

    def _on_frame(self, data: bytes, timestamp: int) -> None:
        if not data:  # padding only (bandwidth probes): nothing to forward
            return
        keyframe = self.spec.media == "audio" or is_vp8_keyframe(data)
        self.frames_in += 1
        self.bytes_in += len(data)
        self.keyframes_in += keyframe and self.spec.media == "video"
        frame = self._frame(data, self._timeline(timestamp), keyframe)
        waiting = False
        for feed in self.feeds:
            waiting |= feed.push(frame)
        if waiting and not keyframe:  # a lost request, or a source with no SSRC yet
            self.keyframes.request("waiting")

    def _timeline(self, timestamp: int) -> int:
        # A new source continues the old timeline as if it had paused, so that a republish
        # never sends subscribers' jitter buffers backwards in time.
        now = time.monotonic()
        if self._offset is None:
            start = (
                0
                if self._last_ts is None
                else self._last_ts + max(1, int((now - self._last_wall) * self._clock))
            )
            self._offset = (start - timestamp) & _MASK
        self._last_ts, self._last_wall = (timestamp + self._offset) & _MASK, now
        return self._last_ts

    def _frame(self, data: bytes, timestamp: int, keyframe: bool) -> Frame:
        if self.egress == "sender":
            packet = av.Packet(data)
            packet.pts = packet.dts = timestamp
            packet.time_base = self._time_base
            return Frame(timestamp, keyframe, [], packet, 0)
        if self.spec.media == "audio":
            return Frame(timestamp, keyframe, [data], None, current_ntp_time())
        self._picture_id = (self._picture_id + 1) & 0x7FFF
        payloads = vp8_payloads(data, self._picture_id)
        return Frame(timestamp, keyframe, payloads, None, current_ntp_time())


class FeedTrack(MediaStreamTrack):
    """What aiortc's sender reads: frames queued by the sender egress, otherwise nothing."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind
        self.queue: collections.deque[av.Packet[Any]] = collections.deque()
        self.alive = True  # False from a flush until the sender comes back for more
        self._reading = False
        self._ready = asyncio.Event()

    def put(self, packet: av.Packet[Any]) -> None:
        self.queue.append(packet)
        self._ready.set()

    def flush(self) -> int:
        dropped = len(self.queue)
        self.queue.clear()
        self.alive = self._reading
        return dropped

    async def recv(self) -> av.Packet[Any]:
        self.alive = self._reading = True
        try:
            while not self.queue:
                if self.readyState != "live":
                    raise MediaStreamError
                self._ready.clear()
                await self._ready.wait()
        finally:
            self._reading = False
        return self.queue.popleft()

    def stop(self) -> None:
        super().stop()
        self._ready.set()


class Feed:
    """One slot as one subscriber gets it: starts at a keyframe, bounded, counted."""

    def __init__(self, slot: Slot, sender: RTCRtpSender, track: FeedTrack) -> None:
        self.slot, self.sender, self.track = slot, sender, track
        self.writer: compat.RtpWriter | None = None
        self.started = self.wanted = self.congested = False
        self.waiting_key = slot.spec.media == "video"
        self.frames = self.keyframes_waited = self.overflows = self.dropped = 0

    @property
    def active(self) -> bool:
        return self in self.slot.feeds

    def start(self, params: RTCRtpSendParameters) -> None:
        if self.slot.egress == "direct":
            self.writer = compat.RtpWriter(self.sender, params)
        self.started = True
        self.want(self.wanted)

    def want(self, wanted: bool) -> None:
        self.wanted = wanted
        if self.started and wanted and not self.active:
            self.slot.feeds.add(self)
            self.await_keyframe()
        elif not (self.started and wanted) and self.active:
            self.slot.feeds.discard(self)
            self.dropped += self.track.flush()

    def await_keyframe(self) -> None:
        if self.slot.spec.media == "video":
            self.waiting_key = True
            self.keyframes_waited += 1
            self.slot.keyframes.request("join")

    def push(self, frame: Frame) -> bool:
        """Forward a frame; True if this feed could use a keyframe now."""
        if self.waiting_key and not frame.keyframe:
            self.dropped += 1
            return not self._congested()  # asking while congested would only waste one
        if not self._send(frame):
            self._overflow()
            return False
        self.waiting_key = self.congested = False
        self.frames += 1
        return False

    def _send(self, frame: Frame) -> bool:
        if self.writer is not None:
            return self.writer.write(frame.payloads, frame.timestamp, frame.ntp, BACKLOG_BYTES)
        if frame.packet is None or self._congested():
            return False
        self.track.put(frame.packet)
        return True

    def _overflow(self) -> None:
        """Flush what is queued and restart at a keyframe once the subscriber keeps up."""
        self.overflows += not self.congested
        self.congested = True
        self.dropped += 1 + self.track.flush()
        self.waiting_key = self.slot.spec.media == "video"

    def _congested(self) -> bool:
        if self.writer is not None:
            return self.writer.congested(BACKLOG_BYTES)
        track = self.track
        return not track.alive or len(track.queue) >= SENDER_QUEUE_FRAMES[self.slot.spec.media]

    def report(self) -> dict[str, Any]:
        packets = self.writer.packets if self.writer else compat.sent_packets(self.sender)
        return {
            "mid": self.slot.spec.mid,
            "active": self.active,
            "source": self.slot.owner if self.active else None,
            "frames": self.frames,
            "packets": packets,
            "retransmits": self.writer.retransmits if self.writer else None,
            "keyframes_waited": self.keyframes_waited,
            "waiting_keyframe": self.active and self.waiting_key,
            "overflows": self.overflows,
            "dropped": self.dropped,
            "queued": len(self.track.queue),
        }


@dataclass(eq=False)
class Peer:
    """One peer connection and whether its remote description is set (for early candidates)."""

    pc: RTCPeerConnection
    described: asyncio.Event
    candidates: int = 0  # trickled so far


@dataclass(eq=False)
class Subscriber:
    """A participant's reception: its mode, its connection and one feed per slot."""

    pid: str
    mode: str
    peer: Peer | None = None
    feeds: tuple[Feed, ...] = ()


@dataclass(eq=False)
class Publisher:
    """A participant's published connection, its seat and the slots its tracks feed."""

    pid: str
    seat: Seat
    peer: Peer
    slots: tuple[tuple[Slot, RTCRtpReceiver], ...] = ()


class MediaRoom:
    """The media of one lesson: publishers in seats, subscribers with a mode each.

    Every call takes and returns plain strings and dicts, so that the room can live in a
    worker process behind a message queue. Errors are MediaError with a stable code.
    """

    def __init__(
        self,
        *,
        ice_servers: Iterable[dict[str, Any]] = (),
        ice_host_addresses: tuple[str, ...] = (),
        ice_accept_remote_ips: Iterable[str] = (),
        egress: Egress = "direct",
        on_state: StateCallback | None = None,
        max_peers: int = MAX_PEERS,
    ) -> None:
        # An empty list, not None: aiortc would otherwise add Google's public STUN server.
        # Max-bundle: with aiortc's default (balanced) a second video m-line keeps a
        # transport of its own that never starts, so the screen share would stay dark.
        self._config = RTCConfiguration(
            iceServers=[_ice_server(s) for s in ice_servers],
            bundlePolicy=RTCBundlePolicy.MAX_BUNDLE,
        )
        if ice_host_addresses:
            compat.pin_host_addresses(ice_host_addresses)
        self._remote = RemoteAddresses(ice_accept_remote_ips)
        self.max_peers = max_peers
        self.egress: Egress = egress
        self.on_state = on_state
        self._slots = {spec.name: Slot(spec, egress) for spec in SLOTS}
        self._publishers: dict[str, Publisher] = {}
        self._publishing: dict[str, Peer] = {}  # newest publish connection, seated or not
        self._subscribers: dict[str, Subscriber] = {}
        self._pending: dict[tuple[str, str], list[dict[str, Any]]] = {}
        # Every connection made and not yet closed, whoever holds it (closed with the room),
        # and one operation at a time per participant and direction.
        self._peers: set[RTCPeerConnection] = set()
        self._turns = Turns()

    # --- publishing ------------------------------------------------------------------------

    async def publish(
        self,
        participant_id: str,
        offer_sdp: str,
        allowed: Iterable[str],
        *,
        seat: Seat,
        track_kinds: dict[str, str] | None = None,
    ) -> str:
        """Answer a publisher's offer (VP8/Opus); replaces its old connection and the seat's."""
        async with self._turns.take((participant_id, "publish"), supersedes=True):
            return await self._publish(participant_id, offer_sdp, allowed, seat, track_kinds)

    async def _publish(
        self,
        participant_id: str,
        offer_sdp: str,
        allowed: Iterable[str],
        seat: Seat,
        track_kinds: dict[str, str] | None,
    ) -> str:
        if seat not in get_args(Seat):
            raise MediaError("bad-seat", f"There is no seat {seat!r}.")
        media = [m for m in _parse_sdp(offer_sdp).media if m.kind in ("audio", "video")]
        if not media:
            raise MediaError("bad-sdp", "The offer has no audio or video.")
        kinds = _track_kinds(media, track_kinds)
        previous = self._publishing.get(participant_id)
        # The teacher's seat holds one connection at most: a full room never silences it.
        peer = self._new_peer(participant_id, "publish", previous, capped=seat != "teacher")
        self._publishing[participant_id] = peer
        publisher = Publisher(participant_id, seat, peer)
        accepted = _seat_kinds(seat) & set(allowed)
        taps = []
        for m, kind in zip(media, kinds, strict=True):
            ok = kind in accepted and m.direction in ("sendonly", "sendrecv")
            transceiver = peer.pc.addTransceiver(m.kind, "recvonly" if ok else "inactive")
            _prefer_codec(transceiver, m.kind)
            if ok and kind is not None:
                taps.append((self._slots[f"{seat}-{kind}"], transceiver.receiver))
        for slot, receiver in taps:
            compat.tap_encoded_frames(
                receiver, slot.sink_for(receiver), per_packet=slot.spec.media == "audio"
            )
        publisher.slots = tuple(taps)
        try:
            answer = await self._answer(peer, offer_sdp)
        except MediaError:
            self._restore_publishing(participant_id, peer, previous)
            raise
        if self._publishing.get(participant_id) is not peer:  # a newer offer overtook this
            await peer.pc.close()
            raise MediaError("superseded", "A newer offer replaced this one.")
        await self._seat(publisher)
        if previous is not None:  # seated or not, the new connection replaces it
            await previous.pc.close()
        await self._apply_pending(participant_id, "publish", peer)
        return answer

    def _restore_publishing(self, pid: str, failed: Peer, previous: Peer | None) -> None:
        if self._publishing.get(pid) is failed:
            if previous is None:
                del self._publishing[pid]
            else:
                self._publishing[pid] = previous

    async def unpublish(self, participant_id: str) -> None:
        """Stop forwarding what a participant publishes (the teacher takes the floor back)."""
        async with self._turns.take((participant_id, "publish"), supersedes=True, final=True):
            await self._unpublish(participant_id)

    async def _unpublish(self, participant_id: str) -> None:
        publisher = self._publishers.pop(participant_id, None)
        peers = {self._publishing.pop(participant_id, None)}
        if publisher is not None:
            self._unseat(publisher)
            peers.add(publisher.peer)
        await asyncio.gather(*(peer.pc.close() for peer in peers if peer is not None))

    async def _answer(self, peer: Peer, offer_sdp: str) -> str:
        try:
            await peer.pc.setRemoteDescription(
                RTCSessionDescription(self._filter_sdp(offer_sdp), "offer")
            )
            await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        except Exception as exc:  # aiortc raises several types for a bad or unusable offer
            await peer.pc.close()
            raise MediaError("bad-sdp", f"The offer cannot be used: {exc}") from exc
        peer.described.set()
        self._guard(peer.pc)
        return str(peer.pc.localDescription.sdp)

    async def _seat(self, publisher: Publisher) -> None:
        """Put the publisher in its seat, evicting the seat's and its own old connections."""
        old = [
            p
            for p in self._publishers.values()
            if p.seat == publisher.seat or p.pid == publisher.pid
        ]
        for p in old:
            self._publishers.pop(p.pid, None)
            if p.pid != publisher.pid:
                self._publishing.pop(p.pid, None)
            self._unseat(p)
        self._publishers[publisher.pid] = publisher
        for slot, receiver in publisher.slots:
            slot.attach(publisher.pid, receiver)
            self._refresh(slot)
        await asyncio.gather(*(p.peer.pc.close() for p in old))

    def _unseat(self, publisher: Publisher) -> None:
        for slot, receiver in publisher.slots:
            if slot.receiver is receiver:
                slot.detach()
                self._refresh(slot)

    def _refresh(self, slot: Slot) -> None:
        """Recompute who gets the slot: its owner never hears or sees themself."""
        for sub in self._subscribers.values():
            for feed in sub.feeds:
                if feed.slot is slot:
                    feed.want(_wants(sub, slot))

    # --- subscribing -----------------------------------------------------------------------

    async def subscribe(self, participant_id: str, mode: Mode) -> str | None:
        """Start (or restart) a participant's reception; returns the server's offer SDP."""
        async with self._turns.take((participant_id, "subscribe"), supersedes=True):
            return await self._subscribe(participant_id, mode)

    async def _subscribe(self, participant_id: str, mode: Mode) -> str | None:
        _check_mode(mode)
        old = self._subscribers.pop(participant_id, None)
        sub = Subscriber(participant_id, mode)
        self._subscribers[participant_id] = sub
        if old is not None:
            await self._drop_connection(old)
        return await self._offer(sub) if mode != "none" else None

    async def subscriber_answer(self, participant_id: str, answer_sdp: str) -> None:
        async with self._turns.take((participant_id, "subscribe"), supersedes=False):
            await self._subscriber_answer(participant_id, answer_sdp)

    async def _subscriber_answer(self, participant_id: str, answer_sdp: str) -> None:
        sub = self._subscribers.get(participant_id)
        if sub is None or sub.peer is None or sub.peer.pc.signalingState != "have-local-offer":
            raise MediaError("no-offer", "There is no offer waiting for this answer.")
        try:
            await sub.peer.pc.setRemoteDescription(
                RTCSessionDescription(self._filter_sdp(answer_sdp), "answer")
            )
        except Exception as exc:
            raise MediaError("bad-sdp", f"The answer cannot be used: {exc}") from exc
        sub.peer.described.set()
        await self._apply_pending(participant_id, "subscribe", sub.peer)

    async def set_mode(self, participant_id: str, mode: Mode) -> str | None:
        """Change what a participant receives, live; an offer SDP when it needs a connection.

        All slots are negotiated once (sendonly), so a change only starts or stops feeding
        frames: no renegotiation. Only leaving "none" (or a dead connection) needs an offer.
        """
        async with self._turns.take((participant_id, "subscribe"), supersedes=True):
            return await self._set_mode(participant_id, mode)

    async def _set_mode(self, participant_id: str, mode: Mode) -> str | None:
        _check_mode(mode)
        sub = self._subscribers.get(participant_id)
        if sub is None:
            return await self._subscribe(participant_id, mode)
        sub.mode = mode
        if mode != "none" and (
            sub.peer is None or sub.peer.pc.connectionState in ("failed", "closed")
        ):
            await self._drop_connection(sub)
            return await self._offer(sub)
        for feed in sub.feeds:
            feed.want(_wants(sub, feed.slot))
        return None

    async def _offer(self, sub: Subscriber) -> str:
        peer = sub.peer = self._new_peer(sub.pid, "subscribe")
        sub.feeds = tuple(self._add_feed(sub, peer.pc, slot) for slot in self._slots.values())
        await peer.pc.setLocalDescription(await peer.pc.createOffer())
        mids = [t.mid for t in peer.pc.getTransceivers()]
        if mids != [s.mid for s in SLOTS]:  # the documented mid -> slot mapping must hold
            raise RuntimeError(f"subscriber mids are {mids}")
        self._guard(peer.pc)
        return str(peer.pc.localDescription.sdp)

    def _add_feed(self, sub: Subscriber, pc: RTCPeerConnection, slot: Slot) -> Feed:
        track = FeedTrack(slot.spec.media)
        transceiver = pc.addTransceiver(track, "sendonly")
        _prefer_codec(transceiver, slot.spec.media)
        feed = Feed(slot, transceiver.sender, track)
        feed.wanted = _wants(sub, slot)
        compat.set_stream_id(transceiver.sender, slot.spec.stream)
        compat.on_keyframe_request(transceiver.sender, partial(slot.keyframes.request, "pli"))
        compat.on_sender_started(transceiver.sender, feed.start)
        return feed

    async def _drop_connection(self, sub: Subscriber) -> None:
        for feed in sub.feeds:
            feed.want(False)
        if sub.peer is not None:
            await sub.peer.pc.close()
        sub.peer, sub.feeds = None, ()

    # --- candidates, leaving ---------------------------------------------------------------

    async def add_ice_candidate(
        self, participant_id: str, direction: Direction, candidate: dict[str, Any] | None
    ) -> None:
        """Add a trickled candidate ({candidate, sdpMid, sdpMLineIndex}); empty = the end."""
        peer = self._peer(participant_id, direction)
        if peer is None:  # the offer is still on its way: keep a few for the connection
            pending = self._pending.setdefault((participant_id, direction), [])
            if len(pending) < PENDING_CANDIDATES:
                pending.append(dict(candidate or {}))
            return
        await self._add_candidate(peer, candidate)

    async def _add_candidate(self, peer: Peer, candidate: dict[str, Any] | None) -> None:
        line = str((candidate or {}).get("candidate") or "")
        try:
            await asyncio.wait_for(peer.described.wait(), DESCRIPTION_WAIT_S)
        except TimeoutError as exc:
            raise MediaError("no-description", "The candidate came without an offer.") from exc
        if not line:
            await peer.pc.addIceCandidate(None)
            return
        try:
            parsed = candidate_from_sdp(line.split(":", 1)[1] if ":" in line else line)
        except (ValueError, IndexError, AssertionError) as exc:  # aiortc asserts the length
            raise MediaError("bad-candidate", "The ICE candidate cannot be read.") from exc
        if parsed.protocol.lower() != "udp" or not self._accepts(parsed.ip):
            return  # aiortc is UDP-only; unaccepted (and mDNS) addresses must not reach aioice
        peer.candidates += 1
        if peer.candidates > REMOTE_CANDIDATES:
            return  # a browser has a handful; more would make the server check them all
        parsed.sdpMid = (candidate or {}).get("sdpMid")
        parsed.sdpMLineIndex = (candidate or {}).get("sdpMLineIndex")
        if parsed.sdpMid is None and parsed.sdpMLineIndex is None:
            parsed.sdpMLineIndex = 0
        await peer.pc.addIceCandidate(parsed)

    async def _apply_pending(self, pid: str, direction: str, peer: Peer) -> None:
        for candidate in self._pending.pop((pid, direction), []):
            await self._add_candidate(peer, candidate)

    async def remove(self, participant_id: str) -> None:
        """The participant left: close both of its connections."""
        async with (
            self._turns.take((participant_id, "publish"), supersedes=True, final=True),
            self._turns.take((participant_id, "subscribe"), supersedes=True, final=True),
        ):
            await self._remove(participant_id)

    async def _remove(self, participant_id: str) -> None:
        await self._unpublish(participant_id)
        sub = self._subscribers.pop(participant_id, None)
        if sub is not None:
            await self._drop_connection(sub)
        for direction in get_args(Direction):
            self._pending.pop((participant_id, direction), None)

    async def close(self) -> None:
        """The lesson is over: refuse what waits, then close every connection ever made."""
        await self._turns.close()
        for pid in {*self._publishing, *self._subscribers}:
            await self._remove(pid)
        await asyncio.gather(*(pc.close() for pc in list(self._peers)))
        self._peers.clear()
        for slot in self._slots.values():
            slot.keyframes.close()

    # --- reports ---------------------------------------------------------------------------

    def receiving(self, participant_id: str) -> dict[str, Any]:
        """What a participant receives: mode, connection, and per slot what was forwarded."""
        sub = self._subscribers.get(participant_id)
        if sub is None:
            return {"mode": "none", "connection": "none", "tracks": {}}
        return {
            "mode": sub.mode,
            "connection": sub.peer.pc.connectionState if sub.peer else "none",
            "tracks": {f.slot.spec.name: f.report() for f in sub.feeds},
        }

    def stats(self) -> dict[str, Any]:
        subs = self._subscribers.values()
        return {
            "egress": self.egress,
            "publishers": {
                p.pid: {
                    "seat": p.seat,
                    "connection": p.peer.pc.connectionState,
                    "tracks": [s.spec.name for s, _ in p.slots],
                }
                for p in self._publishers.values()
            },
            "subscribers": len(self._subscribers),
            "peers": len(self._peers),
            "connected": sum(
                1 for s in subs if s.peer and s.peer.pc.connectionState == "connected"
            ),
            "modes": dict(collections.Counter(s.mode for s in subs)),
            "slots": {name: _slot_report(slot) for name, slot in self._slots.items()},
        }

    # --- connections -----------------------------------------------------------------------

    def _new_peer(
        self, pid: str, direction: Direction, replacing: Peer | None = None, capped: bool = True
    ) -> Peer:
        """A tracked connection: `media-full` past max_peers, unless it replaces one."""
        held = len(self._peers) - (replacing is not None and replacing.pc in self._peers)
        if capped and held >= self.max_peers:
            raise MediaError("media-full", "This lesson has all the media connections it may have.")
        pc = RTCPeerConnection(self._config)
        self._peers.add(pc)
        peer = Peer(pc, asyncio.Event())
        pc.on("connectionstatechange", partial(self._state_changed, pid, direction, peer))
        return peer

    def _state_changed(self, pid: str, direction: Direction, peer: Peer) -> None:
        if peer.pc.connectionState == "closed":
            self._peers.discard(peer.pc)
        if self._peer(pid, direction) is not peer:
            return  # an old connection, replaced already
        state = peer.pc.connectionState
        sub = self._subscribers.get(pid)
        if direction == "subscribe" and sub is not None and state in ("failed", "closed"):
            for feed in sub.feeds:  # stop feeding a dead connection; set_mode offers anew
                feed.want(False)
        if self.on_state is not None:
            self.on_state(pid, direction, state)

    def _peer(self, pid: str, direction: Direction) -> Peer | None:
        if direction == "publish":
            return self._publishing.get(pid)
        if direction == "subscribe":
            sub = self._subscribers.get(pid)
            return sub.peer if sub else None
        raise MediaError("bad-direction", f"There is no direction {direction!r}.")

    def _guard(self, pc: RTCPeerConnection) -> None:
        # Per datagram only an explicit list (a set lookup): a triggered check answers a
        # packet that did arrive, and only local processes can send from loopback.
        if self._remote.listed:
            compat.accept_datagrams_from(pc, self._remote.listed)

    def _accepts(self, ip: str) -> bool:
        return self._remote.allows(ip)

    def _filter_sdp(self, sdp: str) -> str:
        lines = [line for line in sdp.splitlines() if not self._refused(line)]
        return "\r\n".join(lines) + "\r\n"

    def _refused(self, line: str) -> bool:
        found = _CANDIDATE_LINE.match(line)
        return found is not None and (found[1].lower() != "udp" or not self._accepts(found[2]))


_CANDIDATE_LINE = re.compile(r"a=candidate:\S+ \d+ (\S+) \d+ (\S+) ")


def _ice_server(server: dict[str, Any]) -> RTCIceServer:
    if not server.get("urls"):
        raise ValueError("an ICE server needs urls")
    return RTCIceServer(
        urls=server["urls"], username=server.get("username"), credential=server.get("credential")
    )


def _parse_sdp(sdp: str) -> SessionDescription:
    try:
        return SessionDescription.parse(sdp)
    except Exception as exc:  # the parser raises whatever a malformed line provokes
        raise MediaError("bad-sdp", "The session description cannot be read.") from exc


def _track_kinds(media: list[Any], given: dict[str, str] | None) -> list[str | None]:
    """Kind of each offered m-line: from track_kinds by mid, else by order.

    By order, the first audio m-line is the mic, the first video the camera, the second
    video the screen. An m-line of no kind, or of a kind already taken, is refused.
    """
    if given is None:
        order = {"audio": ["mic"], "video": ["camera", "screen"]}
        return [order[m.kind].pop(0) if order[m.kind] else None for m in media]
    media_of = {"mic": "audio", "camera": "video", "screen": "video"}
    kinds: list[str | None] = []
    for m in media:
        kind = given.get(str(m.rtp.muxId))
        ok = kind in media_of and media_of[kind] == m.kind and kind not in kinds
        kinds.append(kind if ok else None)
    return kinds


def _seat_kinds(seat: Seat) -> set[str]:
    return {spec.kind for spec in SLOTS if spec.seat == seat}


def _wants(sub: Subscriber, slot: Slot) -> bool:
    alive = sub.peer is not None and sub.peer.pc.connectionState not in ("failed", "closed")
    return alive and slot.spec.kind in MODE_KINDS[sub.mode] and slot.owner != sub.pid


def _check_mode(mode: str) -> None:
    if mode not in MODE_KINDS:
        raise MediaError("bad-mode", f"There is no reception mode {mode!r}.")


def _prefer_codec(transceiver: RTCRtpTransceiver, media: str) -> None:
    """VP8 and Opus only: every subscriber must decode what the publisher sends."""
    wanted = ("video/vp8", "video/rtx") if media == "video" else ("audio/opus",)
    codecs = RTCRtpSender.getCapabilities(media).codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() in wanted])


def _slot_report(slot: Slot) -> dict[str, Any]:
    return {
        "source": slot.owner,
        "feeds": len(slot.feeds),
        "frames_in": slot.frames_in,
        "keyframes_in": slot.keyframes_in,
        "bytes_in": slot.bytes_in,
        "keyframe_requests": dict(slot.keyframes.requests),
        "plis_sent": slot.keyframes.sent,
        "retransmits": sum(f.writer.retransmits for f in slot.feeds if f.writer),
    }
