"""Polls: opened by the teacher, answered by the learners (openly or by sealed ballot),
closed and published."""

from __future__ import annotations

import json
from typing import Any, cast

from core import commands as c
from core import events as e
from core.errors import Refused
from core.poll import MAX_OPTION_CHARS, MAX_OPTIONS, Poll, PollKind
from core.rules import too_many_changes
from core.state import Actor, LessonState, require_live, require_present, require_teacher
from core.tables import Decision, decider, feature, fold

__all__ = ["FEATURE", "Poll", "PollKind"]


def poll(state: LessonState, poll_id: int) -> Poll:
    if not 1 <= poll_id <= len(state.polls):
        raise Refused("unknown-poll", "There is no such poll.")
    return state.polls[poll_id - 1]


def poll_results(state: LessonState, poll: Poll) -> dict[str, Any]:
    """What students see once the teacher publishes: the tally, names if chosen."""
    out = poll.tally()
    if poll.with_names and not poll.anonymous:
        out["names"] = sorted(
            ({"name": state.participants[pid].name, "answer": answer}
             for pid, answer in poll.answers.items()),
            key=lambda row: row["name"],
        )  # fmt: skip
    return out


def open_poll(state: LessonState, actor: Actor, cmd: c.OpenPoll, now: int) -> Decision:
    require_teacher(actor)
    require_live(state)
    options = _poll_options(cmd)
    if not cmd.question.strip() or len(cmd.question) > 500:
        raise Refused("invalid-poll", "A question needs 1 to 500 characters.")
    low, high = cmd.number_min, cmd.number_max
    if low is not None and high is not None and low > high:
        raise Refused("invalid-poll", "The lowest number is above the highest.")
    poll_id = len(state.polls) + 1
    changeable = cmd.changeable and not cmd.anonymous  # a ballot cannot be taken back
    event = e.PollOpened(poll_id, cmd.kind, cmd.question.strip(), options, cmd.anonymous,
                         changeable, cmd.guests, low, high)  # fmt: skip
    return Decision([event], {"poll_id": poll_id})


def answer_poll(state: LessonState, actor: Actor, cmd: c.AnswerPoll, now: int) -> Decision:
    p = require_present(state, actor)
    asked = poll(state, cmd.poll_id)
    if p.role == "teacher":
        raise Refused("forbidden", "The teacher does not answer polls.")
    if p.role == "guest" and not asked.guests:
        raise Refused("forbidden", "Guests do not answer this poll.")
    if asked.closed:
        raise Refused("poll-closed", "This poll has closed.")
    if asked.anonymous:
        return _seal_ballot(asked, cmd)
    answer = asked.check_answer(cmd.answer)
    if asked.answers.get(p.id) == answer:
        return Decision((), {"duplicate": True})  # a resend after a lost ack, changeable or not
    if p.id in asked.answers and not asked.changeable:
        raise Refused("already-answered", "You have answered this poll.")
    if asked.changes.get(p.id, 0) >= state.rules.answer_changes:
        raise too_many_changes()
    return Decision([e.PollAnswered(asked.id, p.id, answer)])


def _seal_ballot(poll: Poll, cmd: c.AnswerPoll) -> Decision:
    """Into the box, not the log: a logged ballot would sit next to its voter's events.

    The one state change without an event, on purpose: the box is opened into the log as
    one `PollBallotsCounted` when the poll closes; a restart before that loses it (see
    docs/protocol.md, "Anonymous polls").
    """
    if not cmd.voter_tag:
        raise Refused("internal", "An anonymous answer needs a voter tag.")
    answer = poll.check_answer(cmd.answer)
    if poll.box.get(cmd.voter_tag, answer) != answer:
        raise Refused("already-answered", "You have answered this poll.")
    if cmd.voter_tag in poll.box:
        return Decision((), {"sealed": True, "duplicate": True})  # a resend after a lost ack
    poll.box[cmd.voter_tag] = answer
    return Decision((), {"sealed": True})


def ballots_counted(poll: Poll) -> list[e.Event]:
    """The events that open an anonymous poll's box (nothing when there is no box)."""
    if not poll.box:
        return []
    answers = sorted(poll.box.values(), key=lambda a: json.dumps(a, sort_keys=True))
    return [e.PollBallotsCounted(poll.id, answers)]


def closed_at_end(state: LessonState) -> list[e.Event]:
    """Anonymous polls still open when the lesson ends: their boxes are opened, not lost."""
    out: list[e.Event] = []
    for running in state.polls:
        if running.anonymous and not running.closed:
            out += [*ballots_counted(running), e.PollClosed(running.id)]
    return out


def close_poll(state: LessonState, actor: Actor, cmd: c.ClosePoll, now: int) -> Decision:
    require_teacher(actor)
    asked = poll(state, cmd.poll_id)
    if asked.closed:
        return Decision()
    return Decision([*ballots_counted(asked), e.PollClosed(cmd.poll_id)])


def publish_poll(state: LessonState, actor: Actor, cmd: c.PublishPoll, now: int) -> Decision:
    require_teacher(actor)
    asked = poll(state, cmd.poll_id)
    if cmd.with_names and asked.anonymous:
        raise Refused("poll-anonymous", "An anonymous poll's answers have no names.")
    closing = [] if asked.closed else [*ballots_counted(asked), e.PollClosed(asked.id)]
    return Decision([*closing, e.PollPublished(asked.id, cmd.with_names)])


def poll_opened(state: LessonState, ev: e.PollOpened, ts: int) -> None:
    kind = cast(PollKind, ev.kind)
    state.polls.append(Poll(ev.poll_id, kind, ev.question, list(ev.options), ev.anonymous,
                            ev.changeable, ev.guests, ev.number_min, ev.number_max))  # fmt: skip


def poll_answered(state: LessonState, ev: e.PollAnswered, ts: int) -> None:
    _answered(state.polls[ev.poll_id - 1], ev.participant_id, ev.answer)


def poll_ballot_cast(state: LessonState, ev: e.PollBallotCast, ts: int) -> None:
    _answered(state.polls[ev.poll_id - 1], ev.voter_tag, ev.answer)


def poll_ballots_counted(state: LessonState, ev: e.PollBallotsCounted, ts: int) -> None:
    counted = state.polls[ev.poll_id - 1]
    counted.answers.update((f"ballot-{i + 1}", a) for i, a in enumerate(ev.answers))
    counted.box.clear()


def poll_closed(state: LessonState, ev: e.PollClosed, ts: int) -> None:
    state.polls[ev.poll_id - 1].closed = True


def poll_published(state: LessonState, ev: e.PollPublished, ts: int) -> None:
    published = state.polls[ev.poll_id - 1]
    published.published, published.with_names = True, ev.with_names


def _answered(poll: Poll, voter: str, answer: Any) -> None:
    if voter in poll.answers:
        poll.changes[voter] = poll.changes.get(voter, 0) + 1
    poll.answers[voter] = answer


def _poll_options(cmd: c.OpenPoll) -> list[str]:
    if cmd.kind == "yesno":
        return ["yes", "no", "abstain"] if cmd.abstain else ["yes", "no"]
    if cmd.kind in ("text", "number"):
        return []
    options = [" ".join(o.split()) for o in cmd.options]
    if not 2 <= len(options) <= MAX_OPTIONS or not all(options):
        raise Refused("invalid-poll", f"A choice poll needs 2 to {MAX_OPTIONS} options.")
    if any(len(o) > MAX_OPTION_CHARS for o in options) or len(set(options)) != len(options):
        raise Refused("invalid-poll", "Options must be different and at most 200 characters.")
    return options


FEATURE = feature(
    "polls",
    deciders=[
        decider(c.OpenPoll, open_poll),
        decider(c.AnswerPoll, answer_poll),
        decider(c.ClosePoll, close_poll),
        decider(c.PublishPoll, publish_poll),
    ],
    folds=[
        fold(e.PollOpened, poll_opened),
        fold(e.PollAnswered, poll_answered),
        fold(e.PollBallotCast, poll_ballot_cast),
        fold(e.PollBallotsCounted, poll_ballots_counted),
        fold(e.PollClosed, poll_closed),
        fold(e.PollPublished, poll_published),
    ],
)
