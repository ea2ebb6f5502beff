"""Recording: the teacher starts and stops it; the server notes when writing fails and resumes.

Every page shows the state (core/views.py). A failure never stops the lesson: the media
worker keeps trying, and the recording goes on by itself ("server", resumed) once it can.
"""

from __future__ import annotations

from core import commands as c
from core import events as e
from core.errors import Refused
from core.state import Actor, LessonState, require_live, require_teacher
from core.tables import Decision, decider, feature, fold

FAILURES = ("disk-full", "write-error", "worker-lost")


def start_recording(state: LessonState, actor: Actor, cmd: c.StartRecording, now: int) -> Decision:
    require_teacher(actor)
    require_live(state)
    if cmd.resumed:  # the server, once writing works again
        if actor.role != "system" or state.recording != "failed":
            return Decision()
        return Decision([e.RecordingStarted("server", True)])
    if state.recording != "off":
        return Decision()  # already on, or failed and resuming by itself
    by = "teacher" if actor.role == "teacher" else "server"
    return Decision([e.RecordingStarted(by)])


def stop_recording(state: LessonState, actor: Actor, cmd: c.StopRecording, now: int) -> Decision:
    require_teacher(actor)
    require_live(state)
    if state.recording == "off":
        return Decision()
    return Decision([e.RecordingStopped("teacher")])


def fail_recording(state: LessonState, actor: Actor, cmd: c.FailRecording, now: int) -> Decision:
    if actor.role != "system":
        raise Refused("forbidden", "Only the server reports a failed recording.")
    if cmd.reason not in FAILURES:
        raise Refused("invalid-payload", f"A recording fails for one of {', '.join(FAILURES)}.")
    if state.status != "live" or state.recording != "on":
        return Decision()
    return Decision([e.RecordingFailed(cmd.reason)])


def at_start(state: LessonState) -> list[e.Event]:
    """What the lesson's start adds: the recording, when recorded by default."""
    return [e.RecordingStarted("default")] if state.rules.record_by_default else []


def at_end(state: LessonState) -> list[e.Event]:
    """What the lesson's end adds: the recording stops with it."""
    return [e.RecordingStopped("lesson-ended")] if state.recording != "off" else []


def _set(state: LessonState, value: str, ts: int, reason: str) -> None:
    state.recording = value  # type: ignore[assignment]
    state.recording_since, state.recording_reason = ts, reason


def recording_started(state: LessonState, ev: e.RecordingStarted, ts: int) -> None:
    _set(state, "on", ts, "")


def recording_stopped(state: LessonState, ev: e.RecordingStopped, ts: int) -> None:
    _set(state, "off", ts, ev.reason)


def recording_failed(state: LessonState, ev: e.RecordingFailed, ts: int) -> None:
    _set(state, "failed", ts, ev.reason)


def view(state: LessonState) -> dict[str, object]:
    """What every page is told: on, off or failed, since when, and why."""
    return {
        "state": state.recording,
        "since": state.recording_since,
        "reason": state.recording_reason,
    }


FEATURE = feature(
    "recording",
    deciders=[
        decider(c.StartRecording, start_recording),
        decider(c.StopRecording, stop_recording),
        decider(c.FailRecording, fail_recording),
    ],
    folds=[
        fold(e.RecordingStarted, recording_started),
        fold(e.RecordingStopped, recording_stopped),
        fold(e.RecordingFailed, recording_failed),
    ],
)
