"""Sabak's real-time side: the socket.io namespace, the wire schemas, and WebRTC signaling."""
