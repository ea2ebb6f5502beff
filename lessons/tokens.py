"""Signed personal links and resume tokens (HMAC-SHA256), and the organizer's admin key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from core.errors import Refused

Kind = Literal["student", "teacher", "resume"]
_PREFIX = "s1"


@dataclass(frozen=True)
class Claims:
    """What a token says: kind of holder, who (`sub`), where (`scope`), link version, expiry."""

    kind: Kind
    sub: str
    scope: str
    version: int
    exp: int
    name: str = ""
    role: str = ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Signs and verifies tokens with one secret key."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

    def mac(self, purpose: str, text: str) -> str:
        """A MAC of `text` for one purpose (a media link), never equal to a token's."""
        return self._mac(f"{purpose}\n{text}")

    def sign(self, claims: Claims) -> str:
        body = _b64(json.dumps(asdict(claims), separators=(",", ":")).encode())
        return f"{_PREFIX}.{body}.{self._mac(body)}"

    def verify(self, token: str, now_s: float) -> Claims:
        """The claims of a genuine, unexpired token; otherwise Refused (bad-token, ...)."""
        # A token is ASCII: hmac.compare_digest raises TypeError on other strings.
        ok = isinstance(token, str) and len(token) < 4096 and token.isascii()
        parts = token.split(".") if ok else []
        if len(parts) != 3 or parts[0] != _PREFIX:
            raise Refused("bad-token", "This link is not valid.")
        if not hmac.compare_digest(self._mac(parts[1]), parts[2]):
            raise Refused("bad-token", "This link is not valid.")
        try:
            claims = Claims(**json.loads(_unb64(parts[1])))
        except (ValueError, TypeError):
            raise Refused("bad-token", "This link is not valid.") from None
        if claims.exp < now_s:
            raise Refused("token-expired", "This link has expired; ask for a new one.")
        return claims


def load_or_create_secret(path: Path) -> tuple[bytes, bool]:
    """Read a secret file, creating it (mode 0600) on first start; True if it was created."""
    if path.exists():
        return path.read_text().strip().encode(), False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # var/: keys, the Redis files
    value = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(value + "\n")
    return value.encode(), True


def same_secret(given: str, expected: bytes) -> bool:
    # surrogateescape: a header aiohttp could not decode is still compared, never an error
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected)
