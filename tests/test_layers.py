"""Layer choice per feed (media/layers.py), the keyframe budget, the low copies' kinds; pure."""

from __future__ import annotations

import pytest

from media import offer
from media.keyframes import EXTRA_PER_MINUTE, KeyframeBudget
from media.layers import BitrateMeter, Layer, Selector
from patches.aiortc.sdp import OfferedMedia


def test_a_layer_is_a_known_spatial_quality_and_a_tid_up_to_two() -> None:
    assert Layer() == Layer("high", 2)
    for bad in (("medium", 2), ("low", 3), ("high", -1)):
        with pytest.raises(ValueError):
            Layer(*bad)  # type: ignore[arg-type]


def test_a_spatial_switch_waits_for_a_keyframe_of_the_target() -> None:
    sel = Selector()
    sel.target = Layer("low")
    assert sel.accepts("high", False, None, False, goal="low")  # keep the picture meanwhile
    assert not sel.accepts("low", False, None, False, goal="low")  # undecodable here
    assert sel.accepts("low", True, None, False, goal="low")  # the switch
    assert sel.current == Layer("low")
    assert not sel.accepts("high", True, None, False, goal="low")  # the other's keyframes too


def test_a_waiting_feed_starts_on_its_goal_or_the_low_quality_never_bigger() -> None:
    assert Selector.may_start("high", goal="high")
    assert Selector.may_start("low", goal="high")  # the first picture, small, then up
    assert Selector.may_start("low", goal="low")
    assert not Selector.may_start("high", goal="low")  # more than the link was given


def test_a_quality_the_publisher_does_not_send_is_not_waited_for() -> None:
    sel = Selector()
    sel.target = Layer("low", 2)
    assert sel.accepts("high", False, None, False, goal="high")
    assert sel.current.spatial == "high"


def test_temporal_down_is_at_once_and_up_only_at_a_layer_sync_or_keyframe() -> None:
    sel = Selector()
    sel.target = Layer("high", 0)
    pattern = [(0, False), (2, True), (1, True), (2, False)]
    assert [sel.accepts("high", False, t, y, "high") for t, y in pattern] == [
        True,
        False,
        False,
        False,
    ]
    sel.target = Layer("high", 2)
    assert not sel.accepts("high", False, 2, False, "high")  # TID 2 without sync: not yet
    assert sel.accepts("high", False, 1, True, "high")  # TID 1 syncs: up to 1
    assert sel.current == Layer("high", 1)
    assert not sel.accepts("high", False, 2, False, "high")
    assert sel.accepts("high", False, 2, True, "high")  # TID 2 syncs: all frames
    assert sel.current == Layer("high", 2)
    sel.target = Layer("high", 0)
    sel.accepts("high", False, 0, False, "high")
    sel.target = Layer("high", 2)
    assert sel.accepts("high", True, 0, False, "high")  # a keyframe restores it all
    assert sel.current == Layer("high", 2)


def test_a_spatial_switch_takes_the_targets_frame_rate() -> None:
    sel = Selector()
    sel.target = Layer("low", 0)
    assert sel.accepts("low", True, 0, False, "low")
    assert sel.current == Layer("low", 0)
    assert not sel.accepts("low", False, 1, True, "low")


def test_the_bitrate_per_layer_adds_up_the_tids_below() -> None:
    meter = BitrateMeter(window=1.0)
    for i in range(30):  # one second: TID pattern 0 2 1 2, 1000/400/200 bytes
        tid = (0, 2, 1, 2)[i % 4]
        meter.add(i / 30, {0: 1000, 1: 400, 2: 200}[tid], tid)
    rates = meter.rates(29 / 30)
    assert rates[0] == 8 * 1000 * 8  # 8 TL0 frames
    assert rates[1] == rates[0] + 8 * 7 * 400
    assert rates[2] == rates[1] + 8 * 15 * 200
    assert meter.rates(5.0) == {0: 0, 1: 0, 2: 0}  # a publisher gone quiet


def test_a_stream_without_tids_has_one_rate() -> None:
    meter = BitrateMeter(window=2.0)
    assert meter.rates(0.0) == {}
    meter.add(0.0, 500, None)
    meter.add(1.0, 500, None)
    assert meter.rates(1.0) == {2: 4000}


def test_a_joins_keyframe_is_free_then_one_at_once_then_three_a_minute() -> None:
    budget = KeyframeBudget()
    budget.grant("s1", 100.0)
    assert budget.charge("s1", 100.0) is True  # the join: free
    assert budget.ready_at("s1", 100.0) == 100.0  # one in the bucket
    assert budget.charge("s1", 100.0) is False
    step = 60 / EXTRA_PER_MINUTE
    assert budget.ready_at("s1", 100.0) == pytest.approx(100.0 + step)
    assert budget.ready_at("s2", 100.0) == 100.0  # another student's budget is its own
    budget.charge("s1", 100.0 + step)
    budget.refund("s1", 100.0 + step, free=False)  # the request could not be sent
    assert budget.ready_at("s1", 100.0 + step) == 100.0 + step
    assert budget.ready_at("s1", 1000.0) == 1000.0  # the bucket holds one, never more
    budget.charge("s1", 1000.0)
    assert budget.ready_at("s1", 1000.0) == pytest.approx(1000.0 + step)


def test_a_low_copy_is_a_kind_of_its_own_feeding_the_same_slot() -> None:
    lines = [OfferedMedia(kind, "sendonly", str(i)) for i, kind in enumerate(
        ("audio", "video", "video", "video"))]  # fmt: skip
    given = {"0": "mic", "1": "camera", "2": "camera-low", "3": "camera-low"}
    assert offer.track_kinds(lines, given) == ["mic", "camera", "camera-low", None]  # once each
    assert offer.track_kinds(lines, {"0": "camera-low"})[0] is None  # video only
    assert offer.quality("camera-low") == ("camera", "low")
    assert offer.quality("screen-low") == ("screen", "low")
    assert offer.quality("camera") == ("camera", "high")
    assert offer.quality(None) == (None, "high")
    # Without track_kinds (older pages) the order decides, and nothing is low.
    assert offer.track_kinds(lines, None) == ["mic", "camera", "screen", None]
