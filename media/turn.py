"""TURN credentials per participant, short-lived: coturn's `use-auth-secret` REST scheme.

username = "<unix expiry>:<participant id>", credential = base64(HMAC-SHA1(secret, username)).
coturn checks both with the same secret and refuses the username once its expiry has passed,
so a credential copied out of a page is worth a few hours and one participant, not the relay.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any

from config import MediaSettings


def credentials(secret: str, participant_id: str, ttl_s: int, now_s: float) -> dict[str, str]:
    username = f"{int(now_s) + ttl_s}:{participant_id}"
    mac = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return {"username": username, "credential": base64.b64encode(mac).decode()}


def is_turn(server: dict[str, Any]) -> bool:
    return any(str(u).startswith(("turn:", "turns:")) for u in server["urls"])


def ice_for(
    servers: list[dict[str, Any]], secret: str | None, participant_id: str, ttl_s: int, now_s: float
) -> list[dict[str, Any]]:
    """The ICE servers one admitted participant gets: TURN entries with their own credentials.

    Without a secret the configured entries go as they are (static credentials).
    """
    if not secret:
        return [dict(s) for s in servers]
    mine = credentials(secret, participant_id, ttl_s, now_s)
    return [{**s, **mine} if is_turn(s) else dict(s) for s in servers]


class IceServers:
    """The configured STUN/TURN servers, and the list one admitted participant's page gets."""

    def __init__(self, settings: MediaSettings) -> None:
        self.settings = settings
        self.servers = [
            {"urls": list(s.urls), "username": s.username, "credential": s.credential}
            for s in settings.ice_servers
        ]

    def for_participant(self, participant_id: str) -> list[dict[str, Any]]:
        """Never for a waiting guest: TURN comes on admission."""
        s = self.settings
        return ice_for(self.servers, s.turn_secret, participant_id, s.turn_ttl_s, time.time())
