"""aiortc peers that use a live server's media like a browser does: a teacher and a student."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import av
from aiortc import (
    MediaStreamTrack,
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

from client.rest import token_from_link
from client.sabak_client import SabakClient
from media.rtp import is_vp8_keyframe
from patches.aiortc.ice import lengthen_consent_checks, pin_host_addresses
from patches.aiortc.ingress import tap_encoded_frames

LOOPBACK = "127.0.0.1"


class Serves(Protocol):
    """A server a peer can talk to: `tests.conftest.Running`, or just its URL (`At`)."""

    def client(self, link_or_token: str) -> SabakClient: ...


class Rewrites(Protocol):
    """How one connection's descriptions look on the far side (bench/linkroute.py: a relay)."""

    def remote(self, sdp: str) -> str: ...

    def local(self, sdp: str) -> str: ...


class Route(Protocol):
    """A peer's way to the server: straight (DIRECT), or through a link emulator."""

    async def connection(self) -> Rewrites: ...


class _Straight:
    def remote(self, sdp: str) -> str:
        return sdp

    def local(self, sdp: str) -> str:
        return sdp


class _Direct:
    async def connection(self) -> Rewrites:
        return _Straight()


DIRECT: Route = _Direct()


@dataclass
class At:
    """A server known only by its URL, e.g. one `sabak serve` process of several."""

    url: str

    def client(self, link_or_token: str) -> SabakClient:
        return SabakClient(self.url, token=token_from_link(link_or_token))


def new_pc() -> RTCPeerConnection:
    return RTCPeerConnection(
        RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    )


class SmallCopy(VideoStreamTrack):
    """A camera's 320x180 copy, as the teacher's page sends beside it (media/layers.py)."""

    def __init__(self, camera: VideoStreamTrack) -> None:
        super().__init__()
        self._camera = camera

    async def recv(self) -> av.VideoFrame:
        frame = await self._camera.recv()
        assert isinstance(frame, av.VideoFrame)
        small = frame.reformat(width=320, height=180)
        small.pts, small.time_base = frame.pts, frame.time_base
        return small


class AiortcTeacher:
    """A Python teacher publishing aiortc's test camera (and its low copy) and microphone."""

    def __init__(
        self, server: Serves, link: str, route: Route = DIRECT, low_copy: bool = True
    ) -> None:
        self.client = server.client(link)
        self.pc = new_pc()
        self.route = route
        self.low_copy = low_copy

    async def join(self, lesson_id: str) -> None:
        pin_host_addresses((LOOPBACK,))
        lengthen_consent_checks()  # as a browser, which waits for a slow link's answer
        await self.client.connect()
        await self.client.join(lesson_id)
        await self.publish()

    async def publish(self) -> None:
        """Offer the camera and microphone (again, on a new connection if one was there)."""
        if self.pc.getTransceivers():
            await self.pc.close()
            self.pc = new_pc()
        tracks = list(self.tracks())
        if self.low_copy and len(tracks) == 2:  # the mic and camera: add the camera's copy
            tracks.append(SmallCopy(VideoStreamTrack()))
        for track in tracks:
            self.pc.addTrack(track)
        await self.pc.setLocalDescription(await self.pc.createOffer())
        kinds = {str(t.mid): ("mic", "camera", "camera-low")[i]
                 for i, t in enumerate(self.pc.getTransceivers())}  # fmt: skip
        routed = await self.route.connection()
        answer = await self.client.call(
            "media_publish", {"sdp": routed.local(self.pc.localDescription.sdp),
                              "track_kinds": kinds}
        )  # fmt: skip
        answer_sdp = routed.remote(answer["sdp"])
        await self.pc.setRemoteDescription(RTCSessionDescription(answer_sdp, "answer"))

    def tracks(self) -> tuple[MediaStreamTrack, ...]:
        """The microphone, the camera (and its low copy), in this order (a bench's camera
        fills its bitrate)."""
        return AudioStreamTrack(), VideoStreamTrack()

    async def close(self) -> None:
        await self.pc.close()
        await self.client.close()


class AiortcStudent:
    """A Python student: signaling with SabakClient, media with aiortc, decoding with PyAV.

    Frames are taken before aiortc's decoder (as the server does) and decoded here, so that
    a decode error counts instead of vanishing inside aiortc.
    """

    def __init__(self, server: Serves, link: str, route: Route = DIRECT) -> None:
        self.client = server.client(link)
        self.pc = new_pc()
        self.route = route
        self.frames: Counter[str] = Counter()
        self.decoded: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.keyframes: Counter[str] = Counter()
        self._decoders: dict[str, Any] = {}
        # Told of each frame (mid, RTP timestamp, keyframe, decoded): the weak-link harness.
        self.on_frame: Callable[[str, int, bool, bool], None] | None = None

    async def join(self, lesson_id: str, mode: str = "video") -> None:
        pin_host_addresses((LOOPBACK,))  # aioice never offers 127.0.0.1 by itself
        lengthen_consent_checks()  # as a browser, which waits for a slow link's answer
        await self.client.connect()
        await self.client.join(lesson_id)
        await self.subscribe(mode)

    async def subscribe(self, mode: str = "video") -> None:
        """Ask for the lesson's media (again, on a new connection if one was there)."""
        if self.pc.getTransceivers():
            await self.pc.close()
            self.pc = new_pc()
        offer = (await self.client.call("media_subscribe", {"mode": mode}))["sdp"]
        routed = await self.route.connection()
        await self.pc.setRemoteDescription(RTCSessionDescription(routed.remote(offer), "offer"))
        for t in self.pc.getTransceivers():
            self._tap(str(t.mid), t.kind, t.receiver)
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        await self.client.call("media_answer", {"sdp": routed.local(self.pc.localDescription.sdp)})

    def _tap(self, mid: str, kind: str, receiver: RTCRtpReceiver) -> None:
        if kind == "video":
            self._decoders[mid] = av.CodecContext.create("libvpx", "r")
        else:
            codec: Any = av.CodecContext.create("libopus", "r")
            codec.sample_rate, codec.layout, codec.format = 48000, "stereo", "s16"
            self._decoders[mid] = codec

        def sink(data: bytes, timestamp: int) -> None:
            key = kind == "video" and is_vp8_keyframe(data)
            self.frames[mid] += 1
            self.keyframes[mid] += key
            try:
                decoded = len(self._decoders[mid].decode(av.Packet(data)))
            except av.FFmpegError:
                decoded = 0
                self.errors[mid] += 1
            self.decoded[mid] += decoded
            if self.on_frame is not None:
                self.on_frame(mid, timestamp, key, decoded > 0)

        tap_encoded_frames(receiver, sink, per_packet=kind == "audio")

    async def camera_frames(self, more: int, label: str, timeout: float = 15.0) -> None:
        """Wait until `more` frames of the teacher's camera (mid 1) have come in."""
        start = self.frames["1"]
        deadline = time.monotonic() + timeout
        while self.frames["1"] < start + more:
            assert time.monotonic() < deadline, f"timed out waiting for {label}: camera frames"
            await asyncio.sleep(0.1)

    async def close(self) -> None:
        await self.pc.close()
        await self.client.close()
