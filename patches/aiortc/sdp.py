"""SDP as aiortc reads and writes it: an offer's m-lines, a candidate line, our Opus parameters."""

from __future__ import annotations

from dataclasses import dataclass

from aiortc import RTCIceCandidate
from aiortc.codecs import CODECS
from aiortc.sdp import SessionDescription, candidate_from_sdp

# In-band FEC: a lost packet's sound is rebuilt from the next one (weak links lose some);
# DTX: nearly nothing is sent while the speaker is silent (students pay for every byte).
OPUS_PARAMETERS = {"minptime": 10, "useinbandfec": 1, "usedtx": 1}


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


def ask_opus_fec_and_dtx() -> None:
    """Our Opus fmtp (offers to subscribers, answers to publishers) asks for FEC and DTX.

    A browser's Opus encoder follows the fmtp the other side sent: without these, Chromium
    sends neither. aiortc copies its own codec's parameters into what it writes.
    """
    for codec in CODECS["audio"]:
        if codec.mimeType.lower() == "audio/opus":
            codec.parameters.update(OPUS_PARAMETERS)
