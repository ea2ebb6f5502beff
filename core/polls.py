"""Polls: single and multiple choice, yes/no, short text and numbers, open or anonymous."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from core import commands as c
from core import events as e
from core.errors import Refused
from core.state import Actor, LessonState

PollKind = Literal["single", "multiple", "yesno", "text", "number"]
MAX_OPTIONS, MAX_OPTION_CHARS, MAX_TEXT_ANSWER = 12, 200, 200


@dataclass
class Poll:
    id: int
    kind: PollKind
    question: str
    options: list[str]
    anonymous: bool
    changeable: bool
    guests: bool
    number_min: float | None = None
    number_max: float | None = None
    answers: dict[str, Any] = field(default_factory=dict)  # voter -> answer
    changes: dict[str, int] = field(default_factory=dict)  # voter -> times changed
    # An anonymous poll's sealed ballots (voter tag -> answer), in memory only until close.
    box: dict[str, Any] = field(default_factory=dict)
    closed: bool = False
    published: bool = False
    with_names: bool = False

    def view(self) -> dict[str, Any]:
        return {
            "poll_id": self.id, "kind": self.kind, "question": self.question,
            "options": self.options, "anonymous": self.anonymous,
            "changeable": self.changeable, "closed": self.closed,
            "number_min": self.number_min, "number_max": self.number_max,
        }  # fmt: skip

    def tally(self) -> dict[str, Any]:
        values = list(self.answers.values())  # sealed ballots count once the box is opened
        out: dict[str, Any] = {"poll_id": self.id, "answered": len(values) + len(self.box)}
        if self.kind in ("single", "yesno"):
            out["counts"] = [sum(1 for v in values if v == i) for i in range(len(self.options))]
        elif self.kind == "multiple":
            out["counts"] = [sum(1 for v in values if i in v) for i in range(len(self.options))]
        elif self.kind == "number" and values:
            out["summary"] = {"min": min(values), "max": max(values),
                              "mean": statistics.fmean(values),
                              "median": statistics.median(values)}  # fmt: skip
        elif self.kind == "text":
            out["texts"] = sorted(values)
        return out

    def check_answer(self, answer: Any) -> Any:
        """The answer in canonical form, or Refused('invalid-answer')."""
        return _CHECKS[self.kind](self, answer)


def _bad(message: str) -> Refused:
    return Refused("invalid-answer", message)


def _choice(poll: Poll, answer: Any) -> int:
    if isinstance(answer, bool) or not isinstance(answer, int):
        raise _bad("Choose one option by its number.")
    if not 0 <= answer < len(poll.options):
        raise _bad("There is no such option.")
    return answer


def _choices(poll: Poll, answer: Any) -> list[int]:
    if not isinstance(answer, list) or not answer or len(answer) > len(poll.options):
        raise _bad("Choose one or more options.")
    picked = sorted({_choice(poll, a) for a in answer})
    if len(picked) != len(answer):
        raise _bad("Each option can be chosen once.")
    return picked


def _text(poll: Poll, answer: Any) -> str:
    if not isinstance(answer, str) or not answer.strip():
        raise _bad("Type an answer.")
    if len(answer) > MAX_TEXT_ANSWER:
        raise _bad(f"An answer can be at most {MAX_TEXT_ANSWER} characters long.")
    return " ".join(answer.split())


def _number(poll: Poll, answer: Any) -> float:
    if isinstance(answer, bool) or not isinstance(answer, int | float):
        raise _bad("Give a number.")
    if not math.isfinite(answer):
        raise _bad("Give a finite number.")
    low, high = poll.number_min, poll.number_max
    if (low is not None and answer < low) or (high is not None and answer > high):
        raise _bad(f"Give a number from {low} to {high}.")
    return answer


_CHECKS = {"single": _choice, "yesno": _choice, "multiple": _choices, "text": _text,
           "number": _number}  # fmt: skip


class PollsMixin(LessonState):
    def init_polls(self) -> None:
        self.polls: list[Poll] = []

    def poll(self, poll_id: int) -> Poll:
        if not 1 <= poll_id <= len(self.polls):
            raise Refused("unknown-poll", "There is no such poll.")
        return self.polls[poll_id - 1]

    def _decide_open_poll(self, actor: Actor, cmd: c.OpenPoll, now: int) -> Any:
        self.require_teacher(actor)
        self.require_live()
        options = _poll_options(cmd)
        if not cmd.question.strip() or len(cmd.question) > 500:
            raise Refused("invalid-poll", "A question needs 1 to 500 characters.")
        low, high = cmd.number_min, cmd.number_max
        if low is not None and high is not None and low > high:
            raise Refused("invalid-poll", "The lowest number is above the highest.")
        poll_id = len(self.polls) + 1
        changeable = cmd.changeable and not cmd.anonymous  # a ballot cannot be taken back
        event = e.PollOpened(poll_id, cmd.kind, cmd.question.strip(), options, cmd.anonymous,
                             changeable, cmd.guests, low, high)  # fmt: skip
        return [event], {"poll_id": poll_id}

    def _decide_answer_poll(self, actor: Actor, cmd: c.AnswerPoll, now: int) -> Any:
        p = self.require_present(actor)
        poll = self.poll(cmd.poll_id)
        if p.role == "teacher":
            raise Refused("forbidden", "The teacher does not answer polls.")
        if p.role == "guest" and not poll.guests:
            raise Refused("forbidden", "Guests do not answer this poll.")
        if poll.closed:
            raise Refused("poll-closed", "This poll has closed.")
        if poll.anonymous:
            return self._seal_ballot(poll, cmd)
        answer = poll.check_answer(cmd.answer)
        if poll.answers.get(p.id) == answer:
            return [], {"duplicate": True}  # a resend after a lost ack, changeable or not
        if p.id in poll.answers and not poll.changeable:
            raise Refused("already-answered", "You have answered this poll.")
        if poll.changes.get(p.id, 0) >= self.rules.answer_changes:
            raise too_many_changes()
        return [e.PollAnswered(poll.id, p.id, answer)], {}

    def _seal_ballot(self, poll: Poll, cmd: c.AnswerPoll) -> Any:
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
            return [], {"sealed": True, "duplicate": True}  # a resend after a lost ack
        poll.box[cmd.voter_tag] = answer
        return [], {"sealed": True}

    def ballots_counted(self, poll: Poll) -> list[e.Event]:
        """The events that open an anonymous poll's box (nothing when there is no box)."""
        if not poll.box:
            return []
        answers = sorted(poll.box.values(), key=lambda a: json.dumps(a, sort_keys=True))
        return [e.PollBallotsCounted(poll.id, answers)]

    def _decide_close_poll(self, actor: Actor, cmd: c.ClosePoll, now: int) -> Any:
        self.require_teacher(actor)
        poll = self.poll(cmd.poll_id)
        if poll.closed:
            return [], {}
        return [*self.ballots_counted(poll), e.PollClosed(cmd.poll_id)], {}

    def _decide_publish_poll(self, actor: Actor, cmd: c.PublishPoll, now: int) -> Any:
        self.require_teacher(actor)
        poll = self.poll(cmd.poll_id)
        if cmd.with_names and poll.anonymous:
            raise Refused("poll-anonymous", "An anonymous poll's answers have no names.")
        closing = [] if poll.closed else [*self.ballots_counted(poll), e.PollClosed(poll.id)]
        return [*closing, e.PollPublished(poll.id, cmd.with_names)], {}

    def _apply_poll_opened(self, ev: e.PollOpened, ts: int) -> None:
        kind = cast(PollKind, ev.kind)
        self.polls.append(Poll(ev.poll_id, kind, ev.question, list(ev.options), ev.anonymous,
                               ev.changeable, ev.guests, ev.number_min, ev.number_max))  # fmt: skip

    def _apply_poll_answered(self, ev: e.PollAnswered, ts: int) -> None:
        _answered(self.polls[ev.poll_id - 1], ev.participant_id, ev.answer)

    def _apply_poll_ballot_cast(self, ev: e.PollBallotCast, ts: int) -> None:
        _answered(self.polls[ev.poll_id - 1], ev.voter_tag, ev.answer)

    def _apply_poll_ballots_counted(self, ev: e.PollBallotsCounted, ts: int) -> None:
        poll = self.polls[ev.poll_id - 1]
        poll.answers.update((f"ballot-{i + 1}", a) for i, a in enumerate(ev.answers))
        poll.box.clear()

    def polls_closed_at_end(self) -> list[e.Event]:
        """Anonymous polls still open when the lesson ends: their boxes are opened, not lost."""
        out: list[e.Event] = []
        for poll in self.polls:
            if poll.anonymous and not poll.closed:
                out += [*self.ballots_counted(poll), e.PollClosed(poll.id)]
        return out

    def _apply_poll_closed(self, ev: e.PollClosed, ts: int) -> None:
        self.polls[ev.poll_id - 1].closed = True

    def _apply_poll_published(self, ev: e.PollPublished, ts: int) -> None:
        poll = self.polls[ev.poll_id - 1]
        poll.published, poll.with_names = True, ev.with_names

    def poll_results(self, poll: Poll) -> dict[str, Any]:
        """What students see once the teacher publishes: the tally, names if chosen."""
        out = poll.tally()
        if poll.with_names and not poll.anonymous:
            out["names"] = sorted(
                ({"name": self.participants[pid].name, "answer": answer}
                 for pid, answer in poll.answers.items()),
                key=lambda row: row["name"],
            )  # fmt: skip
        return out


def _answered(poll: Poll, voter: str, answer: Any) -> None:
    if voter in poll.answers:
        poll.changes[voter] = poll.changes.get(voter, 0) + 1
    poll.answers[voter] = answer


def too_many_changes() -> Refused:
    return Refused("too-many-changes", "You have changed this answer too many times.")


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
