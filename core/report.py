"""Attendance reports as pure functions of a lesson log (and the roster), never stored apart."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core import events as e
from core.check import Window, check_verdict, check_window
from core.names import sort_key
from core.presence import ATTENDING, PresenceFold, Segment, Span, Timeline
from core.quiz import Question, question_from
from core.whiteboard import decks_used


@dataclass(frozen=True)
class Thresholds:
    """The organizer's rule for a suggested status (from the [attendance] settings)."""

    late_after_min: float = 10.0
    left_early_before_min: float = 10.0
    present_min_fraction: float = 0.5


@dataclass(frozen=True)
class RosterEntry:
    id: str
    name: str
    external_id: str = ""


@dataclass
class _Counts:
    chat: int = 0
    hands: int = 0
    checks_answered: int = 0
    poll_answers: set[int] = field(default_factory=set)


@dataclass
class _Activity:
    """Polls and quizzes as the log tells them (scores use the core's own rules)."""

    polls: dict[int, dict[str, Any]] = field(default_factory=dict)
    quizzes: dict[int, tuple[str, list[Question]]] = field(default_factory=dict)
    quiz_answers: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)

    def add(self, ev: e.Event, counts: dict[str, _Counts]) -> None:
        if isinstance(ev, e.PollOpened):
            self.polls[ev.poll_id] = {"poll_id": ev.poll_id, "question": ev.question,
                                      "kind": ev.kind, "anonymous": ev.anonymous,
                                      "voters": set()}  # fmt: skip
        elif isinstance(ev, e.PollBallotsCounted):
            voters = self.polls[ev.poll_id]["voters"]
            voters.update(f"ballot-{len(voters) + i}" for i in range(len(ev.answers)))
        elif isinstance(ev, e.PollAnswered | e.PollBallotCast):
            voter = ev.participant_id if isinstance(ev, e.PollAnswered) else ev.voter_tag
            self.polls[ev.poll_id]["voters"].add(voter)
            if isinstance(ev, e.PollAnswered):
                counts.setdefault(ev.participant_id, _Counts()).poll_answers.add(ev.poll_id)
        elif isinstance(ev, e.QuizStarted):
            self.quizzes[ev.quiz_id] = (ev.title, [question_from(d) for d in ev.questions])
        elif isinstance(ev, e.QuizAnswered):
            answers = self.quiz_answers.setdefault((ev.quiz_id, ev.participant_id), {})
            answers[ev.question_id] = ev.answer

    def scores(self, pid: str) -> dict[str, int]:
        return {
            str(quiz_id): sum(q.score(self.quiz_answers[(quiz_id, pid)][q.id])
                              for q in questions if q.id in self.quiz_answers[(quiz_id, pid)])
            for quiz_id, (_, questions) in self.quizzes.items()
            if (quiz_id, pid) in self.quiz_answers
        }  # fmt: skip

    def summary(self) -> dict[str, Any]:
        polls = [{k: v for k, v in p.items() if k != "voters"} | {"answered": len(p["voters"])}
                 for p in self.polls.values()]  # fmt: skip
        quizzes = [
            {"quiz_id": qid, "title": title, "max_score": sum(q.points for q in questions),
             "questions": [self._question_stats(qid, q) for q in questions]}
            for qid, (title, questions) in self.quizzes.items()
        ]  # fmt: skip
        return {"polls": polls, "quizzes": quizzes}

    def _question_stats(self, quiz_id: int, q: Question) -> dict[str, Any]:
        given = [a[q.id] for (qid, _), a in self.quiz_answers.items()
                 if qid == quiz_id and q.id in a]  # fmt: skip
        right = sum(1 for answer in given if q.points and q.score(answer) == q.points)
        return {"id": q.id, "text": q.text, "answered": len(given), "correct": right}


def lesson_report(
    records: list[e.Record], roster: list[RosterEntry], rules: Thresholds, now_ms: int
) -> dict[str, Any]:
    """Per learner (every roster student, then guests): presence, gaps, checks, activity."""
    fold = PresenceFold()
    counts: dict[str, _Counts] = {}
    checks: dict[int, dict[str, Any]] = {}
    activity = _Activity()
    for record in records:
        fold.add(record)
        _count(record.event, counts, checks, record.ts_ms)
        activity.add(record.event, counts)
    end = fold.finish(now_ms)
    start = fold.started_ms
    lesson_min = (end - start) / 60_000 if start is not None else 0.0
    learners = _learners(roster, fold)
    rows = [
        _row(
            entry,
            fold.timelines.get(entry.id),
            counts.get(entry.id, _Counts()),
            checks,
            start,
            end,
            lesson_min,
            rules,
        )
        | {"quiz_scores": activity.scores(entry.id)}
        for entry in learners
    ]
    return {
        "started_at": start,
        "ended_at": fold.ended_ms,
        "lesson_minutes": round(lesson_min, 2),
        "checks": [_check_summary(ch) for ch in checks.values()],
        **activity.summary(),
        "decks": decks_used(records),
        "learners": rows,
        "waiting_guests": _never_admitted(fold),
    }


WAITING_NAMES_SHOWN = 20  # the section stays short however many knocked


def _admitted(t: Timeline) -> bool:
    return any(s.state != "waiting" for s in t.segments)


def _learners(roster: list[RosterEntry], fold: PresenceFold) -> list[RosterEntry]:
    """The roster, then learners who came but are not on it: the guests who were let in (those
    who only waited are no rows), and erased students (under their pseudonym, so that the
    lesson's figures still add up)."""
    known = {r.id for r in roster}
    others = [
        RosterEntry(t.participant_id, t.name)
        for t in fold.timelines.values()
        if t.role != "teacher" and t.participant_id not in known and _admitted(t)
    ]
    return [*roster, *others]


def _never_admitted(fold: PresenceFold) -> dict[str, Any]:
    """Guests who knocked and were never let in: how many, and the first few names."""
    names = [t.name for t in fold.timelines.values() if t.role == "guest" and not _admitted(t)]
    return {"count": len(names), "names": names[:WAITING_NAMES_SHOWN]}


def _count(
    ev: e.Event, counts: dict[str, _Counts], checks: dict[int, dict[str, Any]], ts: int
) -> None:
    if isinstance(ev, e.ChatPosted):
        counts.setdefault(ev.author_id, _Counts()).chat += 1
    elif isinstance(ev, e.HandRaised):
        counts.setdefault(ev.participant_id, _Counts()).hands += 1
    elif isinstance(ev, e.CheckStarted):
        checks[ev.check_id] = {
            "id": ev.check_id,
            "started_at": ts,
            "deadline": ev.deadline_ms,
            "scheduled": ev.scheduled,
            "answers": {},
            "closed_at": None,
        }
    elif isinstance(ev, e.CheckClosed):
        checks[ev.check_id]["closed_at"] = ts
    elif isinstance(ev, e.CheckAnswered):
        checks[ev.check_id]["answers"][ev.participant_id] = ev.response_ms
        counts.setdefault(ev.participant_id, _Counts()).checks_answered += 1


def _check_summary(check: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in check.items() if k not in ("answers", "closed_at")} | {
        "answered": len(check["answers"])
    }


def _row(
    entry: RosterEntry,
    timeline: Timeline | None,
    counts: _Counts,
    checks: dict[int, dict[str, Any]],
    start: int | None,
    end: int,
    lesson_min: float,
    rules: Thresholds,
) -> dict[str, Any]:
    segments = timeline.segments if timeline else []
    attended = [s for s in segments if s.state in ATTENDING]
    first = attended[0].start_ms if attended else None
    last = attended[-1].end_ms if attended else None
    spans = timeline.attending() if timeline else []
    results = [_check_result(ch, entry.id, spans) for ch in checks.values()]
    pairs = zip(checks.values(), results, strict=True)
    missed = [_window(ch) for ch, r in pairs if r["result"] == "missed"]
    counted = counted_minutes(segments, missed)
    return {
        "id": entry.id,
        "name": entry.name,
        "external_id": entry.external_id,
        "guest": timeline is not None and timeline.role == "guest",
        "status": _status(first, last, counted, start, end, lesson_min, rules),
        "first_join": first,
        "last_leave": last,
        "minutes_present": round(timeline.minutes_in("present") if timeline else 0.0, 2),
        "minutes_listening": round(timeline.minutes_in("listening") if timeline else 0.0, 2),
        "minutes_background": round(timeline.minutes_in("background") if timeline else 0.0, 2),
        "minutes_counted": round(counted, 2),
        "gaps": timeline.gaps() if timeline else {},
        "segments": [{"start": s.start_ms, "end": s.end_ms, "state": s.state} for s in segments],
        "checks": results,
        "checks_answered": counts.checks_answered,
        "checks_issued": len(checks),
        "chat_messages": counts.chat,
        "hands_raised": counts.hands,
        "poll_answers": len(counts.poll_answers),
    }


def counted_minutes(segments: list[Segment], missed: list[Window]) -> float:
    """Minutes that count toward presence: the page in front, and listening (the lesson's
    sound playing in the background) except a stretch of listening in which a check was
    missed. The background with nothing playing never counts."""

    def confirmed(s: Segment) -> bool:
        return not any(window.holds((s.start_ms, s.end_ms)) for window in missed)

    return sum(
        s.minutes
        for s in segments
        if s.state == "present" or (s.state == "listening" and confirmed(s))
    )


def _window(check: dict[str, Any]) -> Window:
    return check_window(check["started_at"], check["deadline"], check["closed_at"])


def _check_result(check: dict[str, Any], pid: str, spans: list[Span]) -> dict[str, Any]:
    return {
        "check_id": check["id"],
        "result": check_verdict(pid in check["answers"], _window(check), spans),
        "response_ms": check["answers"].get(pid),
    }


def _status(
    first: int | None,
    last: int | None,
    counted_min: float,
    start: int | None,
    end: int,
    lesson_min: float,
    rules: Thresholds,
) -> str:
    """absent, late, left-early or present; checked in that order (documented in README)."""
    if first is None or last is None or start is None or lesson_min <= 0:
        return "absent"
    if counted_min < rules.present_min_fraction * lesson_min:
        return "absent"
    if first - start > rules.late_after_min * 60_000:
        return "late"
    if end - last > rules.left_early_before_min * 60_000:
        return "left-early"
    return "present"


def course_matrix(reports: list[tuple[dict[str, Any], dict[str, Any]]]) -> dict[str, Any]:
    """Learner × lesson: each (lesson record, its report) pair becomes one column."""
    lessons = [
        {"id": info["id"], "title": info["title"], "started_at": rep["started_at"]}
        for info, rep in reports
    ]
    learners: dict[str, dict[str, Any]] = {}
    for info, rep in reports:
        for row in rep["learners"]:
            entry = learners.setdefault(
                row["id"],
                {"id": row["id"], "name": row["name"], "guest": row["guest"], "lessons": {}},
            )
            entry["lessons"][info["id"]] = {
                "status": row["status"],
                "minutes_present": row["minutes_present"],
                "minutes_counted": row["minutes_counted"],
            }
    # Roster learners first, then guests, each in Kyrgyz alphabetical order.
    rows = sorted(learners.values(), key=lambda x: (x["guest"], sort_key(x["name"])))
    return {"lessons": lessons, "learners": rows}
