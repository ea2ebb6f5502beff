"""A subscriber's adaptation: its link estimate, its rung and its budget (pure: time is given).

Everything we send a student counts against one budget, the link estimate: the media and
the retransmissions. Media comes first and the sound before the video: a retransmission
goes out only while what was sent in the last window leaves room for it, and only while the
packet is young enough to play. (The keyframes asked for on a student's behalf have a budget
of their own per student: media/keyframes.py.)
"""

from __future__ import annotations

from collections.abc import Sequence

from media.estimate import LinkEstimate, Rate
from media.ladder import HEADROOM, SOUND_ONLY, Ladder, Rung

FLOOR_BPS = 32_000  # the sound: the estimate never goes under it
CEILING_BPS = 10_000_000
START_BPS = 2_000_000
RETRANSMIT_MAX_AGE_S = 1.0  # even on a slow link, older packets come too late to play
RTT_UNKNOWN_S = 0.3  # before the first report that measures it
# A few % of losses answered must fit on a link the estimate says is just full: the packet
# lost is what the receiver's jitter buffer waits for.
RETRANSMIT_HEADROOM = 1.25


class Adapter:
    """One subscriber's estimate, place on the ladder and budget."""

    def __init__(self, rungs: Sequence[Rung] = ()) -> None:
        self.estimate = LinkEstimate(START_BPS, FLOOR_BPS, CEILING_BPS)
        self.ladder = Ladder(rungs)
        self.sent = Rate()
        self.retransmits_skipped = 0

    @property
    def index(self) -> int:
        return self.ladder.index

    def tick(self, now: float, rungs: Sequence[Rung]) -> int:
        """Choose the rung for now from fresh costs; SOUND_ONLY if no video fits."""
        self.ladder.set_rungs(rungs)
        before = self.ladder.index
        self.estimate.update(now)
        estimate = self.estimate
        index = self.ladder.choose(now, estimate.bps(now), max(estimate.loss, estimate.loss_avg))
        if before == SOUND_ONLY and index >= 0:
            # A try from sound only: give it the rate it needs, and let the reports judge.
            self.estimate.reset(now, self.ladder.rungs[index].bps * HEADROOM)
        return index

    def retry(self, now: float) -> None:
        """The student asked for video again."""
        self.ladder.retry(now)
        if self.ladder.index >= 0:
            self.estimate.reset(now, self.ladder.rungs[self.ladder.index].bps * HEADROOM)

    def cap(self, now: float, ceiling: int) -> None:
        self.ladder.cap(now, ceiling)

    def retransmit_ok(self, now: float, nbytes: int, sent_at: float) -> bool:
        """Resend a packet? Not one too old to play, nor past the budget."""
        rtt = self.estimate.rtt if self.estimate.rtt is not None else RTT_UNKNOWN_S
        too_old = now - sent_at > min(RETRANSMIT_MAX_AGE_S, 0.2 + 3 * rtt)
        room = self.estimate.bps(now) * RETRANSMIT_HEADROOM
        full = self.sent.bps(now) + nbytes * 8 / self.sent.window_s > room
        if too_old or full:
            self.retransmits_skipped += 1
            return False
        return True

    def report(self) -> dict[str, object]:
        return {
            "estimate_bps": round(self.estimate.loss_bps),
            "remb_bps": self.estimate.remb_bps,
            "loss": self.estimate.loss,
            "loss_avg": round(self.estimate.loss_avg, 4),
            "rtt": self.estimate.rtt,
            "rung": self.ladder.index,
            "sound_only": self.ladder.sound_only,
            "downs": self.ladder.downs,
            "ups": self.ladder.ups,
            "cuts": self.estimate.cuts,
            "retransmits_skipped": self.retransmits_skipped,
        }
