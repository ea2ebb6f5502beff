"""The start-up check: every aiortc/aioice internal the other modules of this package use."""

from __future__ import annotations

import aioice
import aioice.ice
import aiortc
import aiortc.clock
import aiortc.codecs
import aiortc.rtcpeerconnection
import aiortc.rtcrtpparameters
import aiortc.sdp
from aiortc import RTCRtpReceiver, RTCRtpSender, rtcrtpreceiver
from aiortc.jitterbuffer import JitterFrame
from aiortc.rtcdtlstransport import RTCDtlsTransport
from aiortc.rtcicetransport import RTCIceTransport

from patches import internals

AIORTC_VERSION = "1.16.0"


class AiortcInternalsChanged(internals.InternalsChanged):
    """The installed aiortc/aioice no longer has the internals the forwarding unit relies on."""


# (owner, attribute, code it must contain): instance attributes exist only in __init__'s code.
_SOURCE: internals.Source = (
    (
        RTCRtpReceiver,
        "__init__",
        ("self.__decoder_queue", "self.__decoder_thread", "self.__jitter_buffer"),
    ),
    (
        RTCRtpReceiver,
        "_handle_rtp_packet",
        (
            "self.__jitter_buffer.add(packet)",
            "packet._data = depayload(codec, packet.payload)",
            "self.__decoder_queue.put((codec, encoded_frame))",
        ),
    ),
    (rtcrtpreceiver, "decoder_worker", ("input_q.get()",)),
    (
        RTCRtpSender,
        "__init__",
        (
            "self._ssrc",
            "self._rtx_ssrc",
            "self._stream_id",
            "self.__packet_count",
            "self.__octet_count",
            "self.__ntp_timestamp",
            "self.__rtp_timestamp",
            "self.__rtt",
        ),
    ),
    (
        RTCRtpSender,
        "_handle_rtcp_packet",
        ("self._send_keyframe()", "await self._retransmit(seq)", "self.__rtt = "),
    ),
    (RTCRtpSender, "_run_rtcp", ("self.__packet_count", "self.__ntp_timestamp")),
    (RTCDtlsTransport, "_setup_srtp", ("self._tx_srtp = Session(tx_policy)",)),
    (RTCIceTransport, "__init__", ("self._connection = gatherer._connection",)),
    (aioice.ice.Connection, "__init__", ("self._nominated", "self._protocols")),
    (aioice.ice.Connection, "gather_candidates", ("get_host_addresses(",)),
    (aioice.ice.CandidatePair, "__init__", ("self.protocol",)),
    # ice.lengthen_consent_checks: a consent check is the one request sent without retries
    (aioice.ice.Connection, "query_consent", ("retransmissions=0",)),
    # sdp.offered_media: each m-line's kind, direction and mid (a=mid, in its RTP parameters)
    (aiortc.sdp.MediaDescription, "__init__", ("self.kind", "self.direction", "self.rtp")),
    (aiortc.sdp.SessionDescription, "parse", ("current_media.rtp.muxId = value",)),
    # sdp.ask_opus_fec_and_dtx: our codec's parameters are what aiortc writes in an answer
    (aiortc.rtcpeerconnection, "find_common_codecs", ("codec = copy.deepcopy(codec)",)),
)
# (owner, attribute, parameter names)
_SIGNATURES: internals.Signatures = (
    (RTCRtpReceiver, "_send_rtcp_pli", ("self", "media_ssrc")),
    (RTCRtpSender, "_retransmit", ("self", "sequence_number")),
    (RTCRtpSender, "_send_keyframe", ("self",)),
    (RTCRtpSender, "_handle_rtcp_packet", ("self", "packet")),
    (RTCRtpSender, "send", ("self", "parameters")),
    (JitterFrame, "__init__", ("self", "data", "timestamp")),
    (aioice.ice, "get_host_addresses", ("use_ipv4", "use_ipv6")),
    (aioice.ice.StunProtocol, "datagram_received", ("self", "data", "addr")),
    (
        aioice.ice.StunProtocol,
        "request",
        ("self", "request", "addr", "integrity_key", "retransmissions"),
    ),
    (aiortc.sdp.SessionDescription, "parse", ("sdp",)),
    (aiortc.sdp, "candidate_from_sdp", ("sdp",)),
    (aiortc.clock, "current_ntp_time", ()),
)
_ATTRIBUTES: internals.Attributes = (
    (aioice.ice.CandidatePair, "remote_addr"),
    (aiortc.rtcrtpparameters, "RTCRtpSendParameters"),
    (aiortc.codecs, "CODECS"),
)


def check_internals() -> None:
    """Raise AiortcInternalsChanged naming every internal that moved; call it at start."""
    problems = []
    if aiortc.__version__ != AIORTC_VERSION:
        problems.append(
            f"aiortc is {aiortc.__version__}, the forwarding unit needs exactly {AIORTC_VERSION}"
        )
    problems += internals.problems(_SOURCE, _SIGNATURES, _ATTRIBUTES)
    if problems:
        raise AiortcInternalsChanged(
            "aiortc internals used by patches/aiortc changed (aioice "
            f"{aioice.__version__}): " + "; ".join(problems)
        )
