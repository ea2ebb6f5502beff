"""Short-lived signed links to a lesson's recorded media, bound to the caller and the file.

A page cannot put a bearer token on an <audio> element's requests, so the manifest hands out
links whose query carries who asked (`who`), an expiry (`exp`, seconds) and an HMAC of both
with the lesson and the resource (a file, or an audio range) under the server's secret. A link
copied elsewhere names who copied it and stops working at its expiry, or as soon as that
person's personal link is rotated or they are erased (the route checks `who` again).
"""

from __future__ import annotations

import hmac
from urllib.parse import urlencode

from core.errors import Refused
from lessons.tokens import Signer

PURPOSE = "media"
TTL_S = 2 * 3600  # long enough to listen to a lesson through; replay asks again for more


class MediaLinks:
    """Signs and checks the query of a media link."""

    def __init__(self, signer: Signer, ttl_s: int = TTL_S) -> None:
        self.signer, self.ttl_s = signer, ttl_s

    def query(self, lesson_id: str, resource: str, who: str, now_s: float) -> str:
        exp = int(now_s) + self.ttl_s
        sig = self.signer.mac(PURPOSE, _text(lesson_id, resource, who, exp))
        return urlencode({"who": who, "exp": exp, "sig": sig})

    def verify(self, lesson_id: str, resource: str, query: dict[str, str], now_s: float) -> str:
        """The `who` of a genuine, unexpired link; otherwise Refused (bad-link, link-expired)."""
        who, exp, sig = query.get("who", ""), query.get("exp", ""), query.get("sig", "")
        if not exp.isdigit() or not sig.isascii() or not who.isascii():
            raise Refused("bad-link", "This media link is not valid.")
        expected = self.signer.mac(PURPOSE, _text(lesson_id, resource, who, int(exp)))
        if not hmac.compare_digest(expected, sig):
            raise Refused("bad-link", "This media link is not valid.")
        if int(exp) < now_s:
            raise Refused("link-expired", "This media link has expired; open the replay again.")
        return who


def _text(lesson_id: str, resource: str, who: str, exp: int) -> str:
    return f"{lesson_id}\n{resource}\n{who}\n{exp}"


def audio_resource(from_ms: int | None, to_ms: int | None) -> str:
    """The resource name of an audio range: the range is part of what is signed."""
    return f"audio.ogg:{'' if from_ms is None else from_ms}-{'' if to_ms is None else to_ms}"
