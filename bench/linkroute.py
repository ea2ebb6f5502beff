"""Routing a peer connection through a link emulator, by rewriting ICE candidates.

The server's media worker listens on 127.0.0.1:PORT. A peer sent through a `Link` sees the
server's candidate as the relay's peer side (127.0.0.1:RPORT) instead, and the server sees
the peer's candidate as the relay's server side (127.0.0.2:SPORT): every STUN check and every
RTP packet crosses the relay, both ways. The server under test accepts remote addresses from
127.0.0.2 only (`SERVER_ENV`), so a candidate that escaped the rewriting (a browser's own
127.0.0.1) fails the connection instead of quietly bypassing the emulated link.

- aiortc peers (tests/media_peers.py): `LinkRoute(link)` is their `route`; each new peer
  connection gets its own relay, and both descriptions are rewritten.
- Chromium: `route_page(page, link)`. An init script wraps setRemoteDescription and
  addIceCandidate; for each server address it asks the test (an exposed function) for a relay
  and puts the relay's port in its place. The browser's own candidates reach the server as
  they are and are refused there; the server learns the relay's address from the checks that
  arrive through it (a peer-reflexive candidate).
"""

from __future__ import annotations

import re

from playwright.async_api import BrowserContext, Page

from bench.linkemu import PEER_IP, RELAY_IP, Address, Link, Relay

SERVER_ENV = {
    "SABAK_MEDIA_ICE_HOST_ADDRESSES": PEER_IP,
    "SABAK_MEDIA_ICE_ACCEPT_REMOTE_IPS": RELAY_IP,
}
_CANDIDATE = re.compile(r"^((?:a=)?candidate:\S+ \d+ udp \d+ )(\S+) (\d+)( typ .*)$", re.I)


def rewrite_candidates(sdp: str, to: Address) -> tuple[str, Address | None]:
    """Point the first UDP candidate's address at `to` and drop the other candidates.

    Returns the rewritten description and the address the first candidate had (None: none).
    """
    first: Address | None = None
    lines = []
    for line in sdp.splitlines():
        found = _CANDIDATE.match(line)
        if found is None:
            lines.append(line)
            continue
        here = (found[2], int(found[3]))
        first = first or here
        if here == first:  # bundle: the same candidate under every m-line
            lines.append(f"{found[1]}{to[0]} {to[1]}{found[4]}")
    return "\r\n".join(lines) + "\r\n", first


class Routed:
    """One peer connection's relay and the two rewritings through it."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    def remote(self, sdp: str) -> str:
        """The server's description, as the peer should see it: the server is the relay."""
        rewritten, server = rewrite_candidates(sdp, (PEER_IP, self.relay.peer_port))
        if server is not None and self.relay.server is None:
            self.relay.server = server
        return rewritten

    def local(self, sdp: str) -> str:
        """The peer's description, as the server should see it: the peer is the relay."""
        rewritten, peer = rewrite_candidates(sdp, (RELAY_IP, self.relay.server_port))
        if peer is not None:
            self.relay.expect_peer(peer)
        return rewritten


class LinkRoute:
    """An aiortc peer's way to the server over one link: a relay per connection."""

    def __init__(self, link: Link) -> None:
        self.link = link

    async def connection(self) -> Routed:
        return Routed(await self.link.relay())


# Runs in the page before its own scripts: the server's candidates become relays'.
INIT_SCRIPT = """
(() => {
  const line = /^((?:a=)?candidate:\\S+ \\d+ udp \\d+ )(\\S+) (\\d+)( typ .*)$/i;
  async function rewrite(text) {
    const out = [];
    for (const l of text.split('\\r\\n')) {
      const m = l.match(line);
      if (!m) { out.push(l); continue; }
      const port = await window.sabakLinkRelay(m[2], Number(m[3]));
      out.push(`${m[1]}PEER_IP ${port}${m[4]}`);
    }
    return out.join('\\r\\n');
  }
  const proto = RTCPeerConnection.prototype;
  const setRemote = proto.setRemoteDescription;
  proto.setRemoteDescription = async function (desc) {
    if (desc && desc.sdp) desc = { type: desc.type, sdp: await rewrite(desc.sdp) };
    return setRemote.call(this, desc);
  };
  const addCandidate = proto.addIceCandidate;
  proto.addIceCandidate = async function (c) {
    if (c && c.candidate) {
      const plain = typeof c.toJSON === 'function' ? c.toJSON() : c;
      c = { ...plain, candidate: await rewrite(c.candidate) };
    }
    return addCandidate.call(this, c);
  };
})();
""".replace("PEER_IP", PEER_IP)


async def route_page(target: Page | BrowserContext, link: Link) -> None:
    """Send the media of a page (or of every page of a context) through `link`.

    Call before the page is opened: one relay per server address the page is given.
    """
    relays: dict[Address, Relay] = {}

    async def relay_for(host: str, port: int) -> int:
        if (host, port) not in relays:
            relays[(host, port)] = await link.relay((host, port))
        return relays[(host, port)].peer_port

    await target.expose_function("sabakLinkRelay", relay_for)
    await target.add_init_script(INIT_SCRIPT)
