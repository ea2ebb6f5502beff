"""A room's peer connections: made under a cap, closed together, guarded by the ICE rules.

The rules for remote addresses (media/ice_policy.py) apply three times: to the candidate
lines of a remote description, to each trickled candidate, and (with an accept list) to every
datagram the connection's sockets receive.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from aiortc import RTCBundlePolicy, RTCConfiguration, RTCIceServer, RTCPeerConnection

from media.errors import MediaError
from media.ice_policy import RemoteAddresses
from patches.aiortc.ice import (
    accept_datagrams_from,
    lengthen_consent_checks,
    pin_host_addresses,
)
from patches.aiortc.sdp import ask_opus_fec_and_dtx, parse_candidate

Direction = Literal["publish", "subscribe"]

DESCRIPTION_WAIT_S = 10.0
PENDING_CANDIDATES = 32
REMOTE_CANDIDATES = 64  # trickled per connection: each is a target of STUN checks
MAX_PEERS = 300  # a room's connections, as `[media] max_peers_per_lesson`
_CANDIDATE_LINE = re.compile(r"a=candidate:\S+ \d+ (\S+) \d+ (\S+) ")


@dataclass(eq=False)
class Peer:
    """One peer connection and whether its remote description is set (for early candidates)."""

    pc: RTCPeerConnection
    described: asyncio.Event
    candidates: int = 0  # trickled so far


class Connections:
    """Every connection a room made and has not yet closed, whoever holds it."""

    def __init__(
        self,
        *,
        ice_servers: Iterable[dict[str, Any]] = (),
        ice_host_addresses: tuple[str, ...] = (),
        ice_accept_remote_ips: Iterable[str] = (),
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
            pin_host_addresses(ice_host_addresses)
        ask_opus_fec_and_dtx()
        lengthen_consent_checks()  # a student's round trip may be well over 0.5 s
        self._remote = RemoteAddresses(ice_accept_remote_ips)
        self.max_peers = max_peers
        self.open: set[RTCPeerConnection] = set()
        # Candidates trickled before their connection exists, by (participant, direction).
        self._early: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def new(self, replacing: Peer | None = None, capped: bool = True) -> Peer:
        """A tracked connection: `media-full` past max_peers, unless it replaces one."""
        held = len(self.open) - (replacing is not None and replacing.pc in self.open)
        if capped and held >= self.max_peers:
            raise MediaError("media-full", "This lesson has all the media connections it may have.")
        pc = RTCPeerConnection(self._config)
        self.open.add(pc)
        return Peer(pc, asyncio.Event())

    def closed(self, pc: RTCPeerConnection) -> None:
        self.open.discard(pc)

    async def close(self) -> None:
        await asyncio.gather(*(pc.close() for pc in list(self.open)))
        self.open.clear()

    # --- candidates ------------------------------------------------------------------------

    def keep_early(self, pid: str, direction: str, candidate: dict[str, Any] | None) -> None:
        """The offer is still on its way: keep a few candidates for the connection."""
        pending = self._early.setdefault((pid, direction), [])
        if len(pending) < PENDING_CANDIDATES:
            pending.append(dict(candidate or {}))

    async def apply_early(self, pid: str, direction: str, peer: Peer) -> None:
        for candidate in self._early.pop((pid, direction), []):
            await self.add_candidate(peer, candidate)

    def forget_early(self, pid: str, direction: str) -> None:
        self._early.pop((pid, direction), None)

    async def add_candidate(self, peer: Peer, candidate: dict[str, Any] | None) -> None:
        """Add a trickled candidate ({candidate, sdpMid, sdpMLineIndex}); empty = the end."""
        line = str((candidate or {}).get("candidate") or "")
        try:
            await asyncio.wait_for(peer.described.wait(), DESCRIPTION_WAIT_S)
        except TimeoutError as exc:
            raise MediaError("no-description", "The candidate came without an offer.") from exc
        if not line:
            await peer.pc.addIceCandidate(None)
            return
        try:
            parsed = parse_candidate(line.split(":", 1)[1] if ":" in line else line)
        except (ValueError, IndexError, AssertionError) as exc:  # aiortc asserts the length
            raise MediaError("bad-candidate", "The ICE candidate cannot be read.") from exc
        if parsed.protocol.lower() != "udp" or not self._remote.allows(parsed.ip):
            return  # aiortc is UDP-only; unaccepted (and mDNS) addresses must not reach aioice
        peer.candidates += 1
        if peer.candidates > REMOTE_CANDIDATES:
            return  # a browser has a handful; more would make the server check them all
        parsed.sdpMid = (candidate or {}).get("sdpMid")
        parsed.sdpMLineIndex = (candidate or {}).get("sdpMLineIndex")
        if parsed.sdpMid is None and parsed.sdpMLineIndex is None:
            parsed.sdpMLineIndex = 0
        await peer.pc.addIceCandidate(parsed)

    # --- addresses -------------------------------------------------------------------------

    def guard(self, pc: RTCPeerConnection) -> None:
        """Call once the local description is set: the sockets exist then."""
        # Per datagram only an explicit list (a set lookup): a triggered check answers a
        # packet that did arrive, and only local processes can send from loopback.
        if self._remote.listed:
            accept_datagrams_from(pc, self._remote.listed)

    def filter_sdp(self, sdp: str) -> str:
        """A remote description without the candidate lines the rules refuse."""
        lines = [line for line in sdp.splitlines() if not self._refused(line)]
        return "\r\n".join(lines) + "\r\n"

    def _refused(self, line: str) -> bool:
        found = _CANDIDATE_LINE.match(line)
        return found is not None and (
            found[1].lower() != "udp" or not self._remote.allows(found[2])
        )


def _ice_server(server: dict[str, Any]) -> RTCIceServer:
    if not server.get("urls"):
        raise ValueError("an ICE server needs urls")
    return RTCIceServer(
        urls=server["urls"], username=server.get("username"), credential=server.get("credential")
    )
