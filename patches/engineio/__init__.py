"""python-engineio (and socket.io's and aiohttp's side of it): what Sabak needs that it lacks.

`check` lists every internal the other modules rely on; `websocket` is our WebSocket
transport, `delivery` writes one frame to many sockets, `drops` drops clients' transports,
`guard` wraps socket.io's handlers with the session `gate` and the `inbound` checks.
"""
