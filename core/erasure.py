"""Forgetting a learner inside a lesson: a pseudonym from now on, and no free text."""

from __future__ import annotations

from core import commands as c
from core import events as e
from core.state import Actor, LessonState, require_teacher
from core.tables import Decision, decider, feature, fold


def erase_learner(state: LessonState, actor: Actor, cmd: c.EraseLearner, now: int) -> Decision:
    require_teacher(actor)  # the server, on an organizer's request
    p = state.participants.get(cmd.participant_id)
    if p is None or p.role == "teacher" or p.name == cmd.pseudonym:
        return Decision()
    return Decision([e.LearnerErased(p.id, cmd.pseudonym)])


def learner_erased(state: LessonState, ev: e.LearnerErased, ts: int) -> None:
    state.participants[ev.participant_id].name = ev.pseudonym
    for message in state.chat:
        if message.author_id == ev.participant_id:
            message.author_name, message.text, message.deleted = ev.pseudonym, "", True
    for poll in state.polls:
        if isinstance(poll.answers.get(ev.participant_id), str):
            poll.answers[ev.participant_id] = ""


FEATURE = feature(
    "erasure",
    deciders=[decider(c.EraseLearner, erase_learner)],
    folds=[fold(e.LearnerErased, learner_erased)],
)
