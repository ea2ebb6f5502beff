"""The aiortc internals the forwarding unit uses: present in the pinned version, named if gone."""

from __future__ import annotations

import aioice.ice
import aiortc
import pytest
from aiortc import RTCRtpReceiver, RTCRtpSender
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters
from aiortc.rtp import HeaderExtensionsMap, RtpPacket

from patches.aiortc import check, ice, writer


def test_the_pinned_aiortc_has_every_internal_we_use() -> None:
    check.check_internals()


def test_another_aiortc_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aiortc, "__version__", "1.17.0")
    with pytest.raises(check.AiortcInternalsChanged, match=r"aiortc is 1\.17\.0.*1\.16\.0"):
        check.check_internals()


def test_a_missing_method_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(RTCRtpReceiver, "_send_rtcp_pli")
    with pytest.raises(check.AiortcInternalsChanged) as raised:
        check.check_internals()
    assert "RTCRtpReceiver._send_rtcp_pli is missing" in str(raised.value)


def test_every_problem_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    async def handle_rtcp_packet(self: RTCRtpSender, packet: object) -> None:
        """An upgrade that no longer asks the sender for keyframes."""

    monkeypatch.setattr(RTCRtpSender, "_handle_rtcp_packet", handle_rtcp_packet)
    monkeypatch.setattr(aioice.ice, "get_host_addresses", lambda: [])
    monkeypatch.delattr(aioice.ice.CandidatePair, "remote_addr")
    with pytest.raises(check.AiortcInternalsChanged) as raised:
        check.check_internals()
    message = str(raised.value)
    assert "RTCRtpSender._handle_rtcp_packet no longer has `self._send_keyframe()`" in message
    assert "get_host_addresses takes ()" in message
    assert "CandidatePair.remote_addr is missing" in message
    assert "aiortc is" not in message  # the version itself is still the pinned one


def test_our_rtp_packets_are_byte_for_byte_aiortcs() -> None:
    extensions = [
        RTCRtpHeaderExtensionParameters(id=4, uri=writer.MID_URI),
        RTCRtpHeaderExtensionParameters(
            id=10, uri="http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
        ),
    ]
    ids = HeaderExtensionsMap()
    ids.configure(RTCRtpParameters(headerExtensions=extensions))
    packet = RtpPacket(
        payload_type=97,
        marker=1,
        sequence_number=65535,
        timestamp=4242424242,
        ssrc=123456789,
        payload=b"\x90\x80\x81\x02frame",
    )
    packet.extensions.mid = "1"
    packet.extensions.abs_send_time = 0x123456
    elements = writer.one_byte_extension(4, b"1") + writer.one_byte_extension(10, b"\x12\x34\x56")
    ours = (
        writer.rtp_header(True, 97, 65535, 4242424242, 123456789, writer.extension_block(elements))
        + packet.payload
    )
    assert ours == packet.serialize(ids)


def test_no_extensions_means_a_plain_header() -> None:
    packet = RtpPacket(payload_type=111, sequence_number=7, timestamp=960, ssrc=5, payload=b"o")
    ours = writer.rtp_header(False, 111, 7, 960, 5, writer.extension_block(b"")) + b"o"
    assert ours == packet.serialize()


def test_host_addresses_can_be_pinned_and_restored() -> None:
    original = aioice.ice.get_host_addresses
    try:
        ice.pin_host_addresses(("127.0.0.1", "::1"))
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=False) == ["127.0.0.1"]
        assert aioice.ice.get_host_addresses(use_ipv4=True, use_ipv6=True) == ["127.0.0.1", "::1"]
        ice.pin_host_addresses(())
        assert aioice.ice.get_host_addresses is ice._original_host_addresses
    finally:
        aioice.ice.get_host_addresses = original
