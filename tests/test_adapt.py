"""A student's link estimate, ladder and budget (media/estimate, ladder, adapter), no I/O.

A small simulated link drives them the way RTCP does: the server sends the chosen rung's
rate, the link carries `capacity` and loses what is over it (plus its own random loss), and
the receiver reports the fraction lost once a second; the room ticks every 0.5 s.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from media.adapter import Adapter
from media.estimate import LinkEstimate
from media.ladder import FAILED_S, PROBE_S, SOUND_ONLY, Ladder, Rung

AUDIO = 56_000
VIDEO = [Rung("video", 500_000 + AUDIO)]  # the teacher's one quality today
LAYERS = [Rung("low-7fps", 60_000 + AUDIO), Rung("low", 150_000 + AUDIO), Rung("high", 556_000)]


@dataclass
class Link:
    """What the link does to what we send: carries `capacity`, loses `loss` besides."""

    capacity: float
    loss: float = 0.0

    def lost(self, sent_bps: float) -> float:
        over = max(0.0, 1 - self.capacity / sent_bps) if sent_bps else 0.0
        return min(1.0, over + self.loss * (1 - over))


def run(
    adapter: Adapter, link: Link, rungs: list[Rung], start: float, end: float
) -> list[tuple[float, int]]:
    """Tick from start to end; returns (time, rung) at each change."""
    changes, now, last = [], start, adapter.index
    while now < end:
        index = adapter.index
        sent = rungs[index].bps if index >= 0 else AUDIO
        adapter.sent.add(now, int(sent / 8 / 2))  # half a second of it
        if round(now * 2) % 2 == 0:  # a receiver report every second
            adapter.estimate.report(now, link.lost(sent), adapter.sent.bps(now), 0.2)
        if adapter.tick(now, rungs) != last:
            last = adapter.index
            changes.append((now, last))
        now += 0.5
    return changes


def settled(rungs: list[Rung], link: Link) -> Adapter:
    """An adapter that has run 20 s on the link."""
    adapter = Adapter(rungs)
    run(adapter, link, rungs, 0.0, 20.0)
    return adapter


def test_a_link_that_gets_worse_drops_to_sound_only_within_two_seconds() -> None:
    adapter = settled(VIDEO, Link(1_500_000))
    assert adapter.index == 0
    changes = run(adapter, Link(300_000, 0.03), VIDEO, 20.0, 30.0)
    assert changes and changes[0][1] == SOUND_ONLY
    assert changes[0][0] - 20.0 <= 2.0
    assert adapter.ladder.sound_only


def test_with_layers_a_worse_link_steps_down_to_the_layer_it_carries() -> None:
    adapter = settled(LAYERS, Link(1_500_000))
    assert adapter.index == 2
    changes = run(adapter, Link(300_000, 0.03), LAYERS, 20.0, 40.0)
    assert changes[0][0] - 20.0 <= 2.0
    assert adapter.index == 1, changes  # the low layer, not sound only


def test_sound_only_comes_back_to_video_only_after_a_clean_probe() -> None:
    adapter = settled(VIDEO, Link(100_000, 0.05))  # edge
    assert adapter.ladder.sound_only
    assert run(adapter, Link(100_000, 0.05), VIDEO, 20.0, 60.0) == []  # never tried on edge
    changes = run(adapter, Link(750_000, 0.01), VIDEO, 60.0, 90.0)  # 3g
    assert changes[0][1] == 0
    assert PROBE_S <= changes[0][0] - 60.0 <= 20.0
    assert adapter.index == 0  # and it stays


def test_a_better_link_steps_up_one_layer_after_the_probe_and_not_before() -> None:
    ladder = Ladder(LAYERS)
    ladder.choose(0.0, 250_000, 0.0)
    assert ladder.index == 1  # down at once to the low layer
    above = LAYERS[2].bps * 1.2
    assert ladder.choose(1.0, above, 0.0) == 1  # the probe starts
    assert ladder.choose(1.0 + PROBE_S - 0.1, above, 0.0) == 1
    assert ladder.choose(1.0 + PROBE_S, above, 0.0) == 2
    ladder = Ladder(LAYERS)
    ladder.choose(0.0, 120_000, 0.0)
    assert ladder.index == 0
    ladder.choose(1.0, 10_000_000, 0.0)
    assert ladder.choose(1.0 + PROBE_S, 10_000_000, 0.0) == 1  # one rung at a time


def test_a_link_that_gets_better_is_climbed_to_the_top() -> None:
    adapter = settled(LAYERS, Link(250_000))
    assert adapter.index in (0, 1)
    run(adapter, Link(1_500_000), LAYERS, 20.0, 60.0)
    assert adapter.index == 2


def test_a_failed_try_doubles_the_wait_for_the_next() -> None:
    ladder = Ladder(VIDEO)
    ladder.choose(0.0, 10_000, 0.0)  # down to sound only
    assert ladder.index == SOUND_ONLY
    ladder.choose(1.0, 10_000, 0.0)
    assert ladder.choose(1.0 + PROBE_S, 10_000, 0.0) == 0  # tried
    assert ladder.choose(2.0 + PROBE_S, 10_000, 0.3) == SOUND_ONLY  # failed within FAILED_S
    assert ladder.backoff == 2
    t = 3.0 + PROBE_S
    ladder.choose(t, 10_000, 0.0)
    assert ladder.choose(t + PROBE_S, 10_000, 0.0) == SOUND_ONLY  # waits twice as long
    assert ladder.choose(t + 2 * PROBE_S, 10_000, 0.0) == 0
    assert FAILED_S > 2 * PROBE_S


def test_the_students_choice_is_a_ceiling() -> None:
    adapter = Adapter(LAYERS)
    adapter.cap(0.0, 0)
    assert adapter.index == 0
    run(adapter, Link(5_000_000), LAYERS, 0.0, 60.0)
    assert adapter.index == 0
    adapter.cap(60.0, SOUND_ONLY)
    run(adapter, Link(5_000_000), LAYERS, 60.0, 90.0)
    assert adapter.index == SOUND_ONLY
    assert not adapter.ladder.sound_only  # the student's own choice: no notice
    adapter.retry(90.0)  # video again: the best at once
    assert adapter.index == 2


def test_the_estimate_holds_between_two_and_ten_percent_and_cuts_from_what_was_sent() -> None:
    est = LinkEstimate(2_000_000, 32_000, 10_000_000)
    est.report(0.0, 0.05, 500_000, 0.1)
    assert est.bps(0.0) == 2_000_000
    est.report(1.0, 0.2, 500_000, 0.1)  # cut from what we sent, not from the 2 Mbit/s
    assert est.bps(1.0) == pytest.approx(500_000 * 0.9)
    est.report(1.2, 0.2, 500_000, 0.1)  # within RTT + 0.3 s of the last cut: no second one
    assert est.bps(1.2) == pytest.approx(450_000)
    est.report(2.0, 0.8, 450_000, 0.1)  # heavy: what got through
    assert est.bps(2.0) == pytest.approx(90_000)
    est.report(5.0, 0.0, 90_000, 0.1)  # one clean report after lossy ones: not yet
    assert est.bps(5.0) == pytest.approx(90_000)
    for t in range(6, 20):
        est.report(float(t), 0.0, 90_000, 0.1)
    assert est.bps(19.0) > 90_000


def test_nack_bursts_cut_the_estimate_before_the_report_comes() -> None:
    est = LinkEstimate(2_000_000, 32_000, 10_000_000)
    est.nacks(11.0, 5, 100, 600_000)  # 5 %: no cut
    assert est.bps(11.0) == 2_000_000
    est.nacks(11.5, 3, 10, 600_000)  # too few packets to be a fraction
    assert est.bps(11.5) == 2_000_000
    est.nacks(12.0, 30, 100, 600_000)
    assert est.bps(12.0) == pytest.approx(600_000 * (1 - 0.15))


def test_retransmissions_stay_within_the_budget_and_young_enough_to_play() -> None:
    adapter = Adapter(VIDEO)
    adapter.estimate.report(0.0, 0.2, 300_000, 0.1)  # cut to 270 kbit/s
    assert adapter.retransmit_ok(0.0, 1200, sent_at=-0.1)
    assert not adapter.retransmit_ok(0.0, 1200, sent_at=-0.6)  # older than 3 RTT + 0.2 s
    adapter.sent.add(0.0, 90_000)  # 360 kbit/s sent in the window: over 270 * 1.25
    assert not adapter.retransmit_ok(0.1, 1200, sent_at=0.0)
    assert adapter.retransmits_skipped == 2
