"""A publisher's offer: its audio and video m-lines and the slot kind each one feeds."""

from __future__ import annotations

from aiortc import RTCRtpSender, RTCRtpTransceiver

from media.errors import MediaError
from media.layers import Spatial
from media.slot import SLOTS, Seat
from patches.aiortc.sdp import OfferedMedia, SdpUnreadable, offered_media

MEDIA_OF = {
    "mic": "audio",
    "camera": "video",
    "screen": "video",
    "camera-low": "video",  # the same camera, 320x180: the layer for weak links
    "screen-low": "video",
}


def media_lines(sdp: str) -> list[OfferedMedia]:
    """The offer's audio and video m-lines, in order; `bad-sdp` if there is none."""
    try:
        media = [m for m in offered_media(sdp) if m.kind in ("audio", "video")]
    except SdpUnreadable as exc:
        raise MediaError("bad-sdp", "The session description cannot be read.") from exc
    if not media:
        raise MediaError("bad-sdp", "The offer has no audio or video.")
    return media


def track_kinds(media: list[OfferedMedia], given: dict[str, str] | None) -> list[str | None]:
    """Kind of each offered m-line: from track_kinds by mid, else by order.

    A "-low" kind is a second, smaller copy of a video kind (media/layers.py).
    By order, the first audio m-line is the mic, the first video the camera, the second
    video the screen. An m-line of no kind, or of a kind already taken, is refused.
    """
    if given is None:
        order = {"audio": ["mic"], "video": ["camera", "screen"]}
        return [order[m.kind].pop(0) if order[m.kind] else None for m in media]
    kinds: list[str | None] = []
    for m in media:
        kind = given.get(m.mid)
        ok = kind in MEDIA_OF and MEDIA_OF[kind] == m.kind and kind not in kinds
        kinds.append(kind if ok else None)
    return kinds


def quality(kind: str | None) -> tuple[str | None, Spatial]:
    """The slot kind an m-line feeds and in which quality: "camera-low" -> camera, low."""
    if kind is not None and kind.endswith("-low"):
        return kind.removesuffix("-low"), "low"
    return kind, "high"


def seat_kinds(seat: Seat) -> set[str]:
    return {spec.kind for spec in SLOTS if spec.seat == seat}


def prefer_codec(transceiver: RTCRtpTransceiver, media: str) -> None:
    """VP8 and Opus only: every subscriber must decode what the publisher sends."""
    wanted = ("video/vp8", "video/rtx") if media == "video" else ("audio/opus",)
    codecs = RTCRtpSender.getCapabilities(media).codecs
    transceiver.setCodecPreferences([c for c in codecs if c.mimeType.lower() in wanted])
