"""A lesson's forwarding room: publishers in seats, subscribers with a mode each, no transcoding."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any, get_args

from aiortc import RTCSessionDescription

from media import offer
from media.connections import MAX_PEERS, Connections, Direction, Peer
from media.errors import MediaError
from media.publisher import Publisher
from media.recorder import Recorder, RecordingOptions, Report
from media.slot import SLOTS, Egress, Mode, Seat, Slot
from media.subscriber import Subscriber, check_mode
from media.turns import Turns
from patches.aiortc.ingress import tap_encoded_frames

StateCallback = Callable[[str, str, str], None]  # participant, direction, connection state


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
        self._connections = Connections(
            ice_servers=ice_servers,
            ice_host_addresses=ice_host_addresses,
            ice_accept_remote_ips=ice_accept_remote_ips,
            max_peers=max_peers,
        )
        self.egress: Egress = egress
        self.on_state = on_state
        self._slots = {spec.name: Slot(spec, egress) for spec in SLOTS}
        self._publishers: dict[str, Publisher] = {}
        self._publishing: dict[str, Peer] = {}  # newest publish connection, seated or not
        self._subscribers: dict[str, Subscriber] = {}
        self._turns = Turns()  # one operation at a time per participant and direction
        self.recorder: Recorder | None = None

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
        given_kinds: dict[str, str] | None,
    ) -> str:
        if seat not in get_args(Seat):
            raise MediaError("bad-seat", f"There is no seat {seat!r}.")
        media = offer.media_lines(offer_sdp)
        kinds = offer.track_kinds(media, given_kinds)
        previous = self._publishing.get(participant_id)
        # The teacher's seat holds one connection at most: a full room never silences it.
        peer = self._new_peer(participant_id, "publish", previous, capped=seat != "teacher")
        self._publishing[participant_id] = peer
        publisher = Publisher(participant_id, seat, peer)
        accepted = offer.seat_kinds(seat) & set(allowed)
        taps = []
        for m, kind in zip(media, kinds, strict=True):
            ok = kind in accepted and m.direction in ("sendonly", "sendrecv")
            transceiver = peer.pc.addTransceiver(m.kind, "recvonly" if ok else "inactive")
            offer.prefer_codec(transceiver, m.kind)
            if ok and kind is not None:
                taps.append((self._slots[f"{seat}-{kind}"], transceiver.receiver))
        for slot, receiver in taps:
            tap_encoded_frames(
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
        await self._connections.apply_early(participant_id, "publish", peer)
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
                RTCSessionDescription(self._connections.filter_sdp(offer_sdp), "offer")
            )
            await peer.pc.setLocalDescription(await peer.pc.createAnswer())
        except Exception as exc:  # aiortc raises several types for a bad or unusable offer
            await peer.pc.close()
            raise MediaError("bad-sdp", f"The offer cannot be used: {exc}") from exc
        peer.described.set()
        self._connections.guard(peer.pc)
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
            sub.refresh(slot)

    # --- subscribing -----------------------------------------------------------------------

    async def subscribe(self, participant_id: str, mode: Mode) -> str | None:
        """Start (or restart) a participant's reception; returns the server's offer SDP."""
        async with self._turns.take((participant_id, "subscribe"), supersedes=True):
            return await self._subscribe(participant_id, mode)

    async def _subscribe(self, participant_id: str, mode: Mode) -> str | None:
        check_mode(mode)
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
                RTCSessionDescription(self._connections.filter_sdp(answer_sdp), "answer")
            )
        except Exception as exc:
            raise MediaError("bad-sdp", f"The answer cannot be used: {exc}") from exc
        sub.peer.described.set()
        await self._connections.apply_early(participant_id, "subscribe", sub.peer)

    async def set_mode(self, participant_id: str, mode: Mode) -> str | None:
        """Change what a participant receives, live; an offer SDP when it needs a connection.

        All slots are negotiated once (sendonly), so a change only starts or stops feeding
        frames: no renegotiation. Only leaving "none" (or a dead connection) needs an offer.
        """
        async with self._turns.take((participant_id, "subscribe"), supersedes=True):
            return await self._set_mode(participant_id, mode)

    async def _set_mode(self, participant_id: str, mode: Mode) -> str | None:
        check_mode(mode)
        sub = self._subscribers.get(participant_id)
        if sub is None:
            return await self._subscribe(participant_id, mode)
        sub.mode = mode
        if mode != "none" and (
            sub.peer is None or sub.peer.pc.connectionState in ("failed", "closed")
        ):
            await self._drop_connection(sub)
            return await self._offer(sub)
        sub.refresh()
        return None

    async def _offer(self, sub: Subscriber) -> str:
        peer = sub.peer = self._new_peer(sub.pid, "subscribe")
        sub.feeds = tuple(sub.add_feed(peer.pc, slot) for slot in self._slots.values())
        await peer.pc.setLocalDescription(await peer.pc.createOffer())
        mids = [t.mid for t in peer.pc.getTransceivers()]
        if mids != [s.mid for s in SLOTS]:  # the documented mid -> slot mapping must hold
            raise RuntimeError(f"subscriber mids are {mids}")
        self._connections.guard(peer.pc)
        return str(peer.pc.localDescription.sdp)

    async def _drop_connection(self, sub: Subscriber) -> None:
        sub.stop_feeding()
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
            self._connections.keep_early(participant_id, direction, candidate)
            return
        await self._connections.add_candidate(peer, candidate)

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
            self._connections.forget_early(participant_id, direction)

    async def close(self) -> None:
        """The lesson is over: refuse what waits, then close every connection ever made."""
        await self._turns.close()
        for pid in {*self._publishing, *self._subscribers}:
            await self._remove(pid)
        await self._connections.close()
        await self.stop_recording()
        for slot in self._slots.values():
            slot.keyframes.close()

    # --- recording -------------------------------------------------------------------------

    def record(self, options: RecordingOptions, report: Report) -> None:
        """Write every slot's frames from now on, as they arrive; a second call changes nothing."""
        if self.recorder is None:
            self.recorder = Recorder(options, report)
            self.recorder.attach(self._slots.values())

    async def stop_recording(self) -> None:
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            await recorder.close()

    # --- reports ---------------------------------------------------------------------------

    def receiving(self, participant_id: str) -> dict[str, Any]:
        """What a participant receives: mode, connection, and per slot what was forwarded."""
        sub = self._subscribers.get(participant_id)
        if sub is None:
            return {"mode": "none", "connection": "none", "tracks": {}}
        return sub.report()

    def stats(self) -> dict[str, Any]:
        subs = self._subscribers.values()
        return {
            "egress": self.egress,
            "publishers": {p.pid: p.report() for p in self._publishers.values()},
            "subscribers": len(self._subscribers),
            "peers": len(self._connections.open),
            "connected": sum(
                1 for s in subs if s.peer and s.peer.pc.connectionState == "connected"
            ),
            "modes": dict(collections.Counter(s.mode for s in subs)),
            "slots": {name: slot.report() for name, slot in self._slots.items()},
            "recording": self.recorder.report_dict() if self.recorder else None,
        }

    # --- connections -----------------------------------------------------------------------

    def _new_peer(
        self, pid: str, direction: Direction, replacing: Peer | None = None, capped: bool = True
    ) -> Peer:
        """A tracked connection: `media-full` past max_peers, unless it replaces one."""
        peer = self._connections.new(replacing, capped)
        peer.pc.on("connectionstatechange", partial(self._state_changed, pid, direction, peer))
        return peer

    def _state_changed(self, pid: str, direction: Direction, peer: Peer) -> None:
        if peer.pc.connectionState == "closed":
            self._connections.closed(peer.pc)
        if self._peer(pid, direction) is not peer:
            return  # an old connection, replaced already
        state = peer.pc.connectionState
        sub = self._subscribers.get(pid)
        if direction == "subscribe" and sub is not None and state in ("failed", "closed"):
            sub.stop_feeding()  # a dead connection: set_mode offers anew
        if self.on_state is not None:
            self.on_state(pid, direction, state)

    def _peer(self, pid: str, direction: Direction) -> Peer | None:
        if direction == "publish":
            return self._publishing.get(pid)
        if direction == "subscribe":
            sub = self._subscribers.get(pid)
            return sub.peer if sub else None
        raise MediaError("bad-direction", f"There is no direction {direction!r}.")
