"""aiortc and aioice: what the forwarding unit needs that they do not export, checked at start.

`check` lists every internal the other modules rely on; `ingress` taps a publisher's encoded
frames, `sender` hooks a subscriber's senders, `writer` writes RTP straight to a sender's
socket, `ice` pins and filters addresses, `sdp` parses what aiortc parses but does not export.
"""
