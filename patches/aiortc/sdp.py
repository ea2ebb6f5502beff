"""SDP as aiortc parses it (its parser is not exported): an offer's m-lines, a candidate line."""

from __future__ import annotations

from dataclasses import dataclass

from aiortc import RTCIceCandidate
from aiortc.sdp import SessionDescription, candidate_from_sdp


class SdpUnreadable(ValueError):
    """The parser refused the description (it raises whatever a malformed line provokes)."""


@dataclass(frozen=True)
class OfferedMedia:
    """One m-line of an offer: its kind (audio, video…), direction and mid."""

    kind: str
    direction: str | None
    mid: str


def offered_media(sdp: str) -> list[OfferedMedia]:
    """Every m-line of a session description, in order; SdpUnreadable if it cannot be read."""
    try:
        media = SessionDescription.parse(sdp).media
    except Exception as exc:
        raise SdpUnreadable(str(exc)) from exc
    return [OfferedMedia(m.kind, m.direction, str(m.rtp.muxId)) for m in media]


def parse_candidate(sdp: str) -> RTCIceCandidate:
    """An `a=candidate` value (without its `candidate:` prefix) as aiortc's candidate.

    ValueError, IndexError or AssertionError (aiortc asserts the length) if unreadable.
    """
    return candidate_from_sdp(sdp)
