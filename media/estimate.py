"""What a subscriber's link carries, estimated from the RTCP it sends us (pure: time is given).

A loss-based controller in the manner of libwebrtc's and Galène's: while the receiver reports
under 2 % loss the estimate grows by 8 % a second, between 2 and 10 % it holds, above 10 % it
is cut in proportion to the loss (above 30 %, to what got through), at most once per RTT
(+ 0.3 s). It grows only while the smoothed loss is clean too. A cut starts from what we
really sent (the estimate may have grown far past it on a quiet link), so one bad report
brings it under the rate that hurt. A burst of NACKs is loss too, and arrives a report
interval sooner. A REMB from the receiver is kept and reported but does not cap the
estimate: aiortc's receivers (our test peers) report about half of what reaches them on an
idle loopback, and after sound only any receiver's figure says "sound" for a long while;
acting on it made a good link drop its video. (To revisit with Chromium's figures.)
"""

from __future__ import annotations

import collections
import math

GROW_BELOW, CUT_ABOVE, HEAVY_LOSS = 0.02, 0.10, 0.30
GROW_FACTOR, GROW_STEP_BPS, GROW_EVERY_S = 1.08, 1000, 1.0
CUT_GAP_S = 0.3  # plus the RTT between two cuts: the next report must see the first one
REPORT_STALE_S = 10.0  # no report for this long: nothing to grow on
NACK_MIN_PACKETS = 20  # fewer sent: a NACK or two is no fraction
RATE_WINDOW_S = 2.0
RATE_MIN_SPAN_S = 0.5
LOSS_SMOOTHING = 0.25  # of each report's fraction in the average
AFTER_SILENCE_S = 1.5  # what is reported or NACKed this soon after says nothing of capacity


class Rate:
    """Bytes over the last `window_s` seconds (or since the first, if sooner), as bits/s."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._bytes = 0
        self._first: float | None = None

    def add(self, now: float, nbytes: int) -> None:
        if self._first is None:
            self._first = now
        self._samples.append((now, nbytes))
        self._bytes += nbytes
        self._expire(now)

    def bps(self, now: float) -> float:
        self._expire(now)
        since = self.window_s if self._first is None else now - self._first
        return self._bytes * 8 / min(self.window_s, max(RATE_MIN_SPAN_S, since))

    def _expire(self, now: float) -> None:
        while self._samples and self._samples[0][0] <= now - self.window_s:
            self._bytes -= self._samples.popleft()[1]


class LinkEstimate:
    """A subscriber link's estimated capacity in bits/s, from loss, NACKs and REMB."""

    def __init__(self, start_bps: float, floor_bps: float, ceiling_bps: float) -> None:
        self.floor_bps, self.ceiling_bps = floor_bps, ceiling_bps
        self.loss_bps = start_bps
        self.loss = 0.0  # the latest fraction lost reported
        self.loss_avg = 0.0  # smoothed over reports: a random lossy link is not clean by luck
        self.rtt: float | None = None
        self.remb_bps: float | None = None
        self.cuts = 0
        self._reported_at = self._grown_at = self._cut_at = -math.inf
        self._deaf_until = -math.inf

    def report(self, now: float, fraction_lost: float, sent_bps: float, rtt: float | None) -> None:
        """A receiver report block about one of our streams (fraction_lost 0..1)."""
        if rtt is not None:
            self.rtt = max(0.0, rtt)  # aiortc's figure goes negative when clocks jitter
        deaf = now < self._deaf_until  # just back from an outage: its losses say nothing
        self.loss, self._reported_at = 0.0 if deaf else fraction_lost, now
        self.loss_avg += LOSS_SMOOTHING * (self.loss - self.loss_avg)
        if self.loss > CUT_ABOVE:
            self._cut(now, self.loss, sent_bps)
        else:
            self.update(now)

    def nacks(self, now: float, nacked: int, sent: int, sent_bps: float) -> None:
        """Packets NACKed and sent since the last call: a burst is loss before the report."""
        if now < self._deaf_until:
            return
        if sent >= NACK_MIN_PACKETS and nacked / sent > CUT_ABOVE:
            self._cut(now, min(1.0, nacked / sent), sent_bps)

    def outage_over(self, now: float) -> None:
        """The receiver speaks again after an outage: what it lost then was not for want of
        capacity, so the next AFTER_SILENCE_S of reports and NACKs do not cut."""
        self._deaf_until = now + AFTER_SILENCE_S

    def remb(self, bps: float) -> None:
        self.remb_bps = bps

    def update(self, now: float) -> None:
        """Grow while the latest report says the link is clean (called on a timer too)."""
        loss = max(self.loss, self.loss_avg)  # a 3 % link is not clean for one lucky report
        clean = loss < GROW_BELOW and now - self._reported_at < REPORT_STALE_S
        if clean and now - self._grown_at >= GROW_EVERY_S:
            self._grown_at = now
            grown = self.loss_bps * GROW_FACTOR + GROW_STEP_BPS
            self.loss_bps = min(self.ceiling_bps, grown)

    def reset(self, now: float, bps: float) -> None:
        """Start again from bps (video tried again)."""
        self.loss_bps, self.loss = min(self.ceiling_bps, bps), 0.0
        self.loss_avg = 0.0
        self._grown_at = now

    def bps(self, now: float) -> float:
        return self.loss_bps

    def _cut(self, now: float, loss: float, sent_bps: float) -> None:
        if now - self._cut_at < CUT_GAP_S + (self.rtt or 0.0):
            return
        base = min(self.loss_bps, sent_bps) if sent_bps > 0 else self.loss_bps
        # A heavy loss is a link far under what we send: what got through is its measure.
        kept = 1 - loss if loss > HEAVY_LOSS else 1 - 0.5 * loss
        self.loss_bps = max(self.floor_bps, base * kept)
        self._cut_at = self._grown_at = now
        self.cuts += 1
