"""Forgetting a learner inside a lesson, and ending a lesson nobody is running any more."""

from __future__ import annotations

from typing import Any

from core import commands as c
from core import events as e
from core.chat import ChatMixin
from core.polls import PollsMixin
from core.state import Actor


class ErasureMixin(ChatMixin, PollsMixin):
    def _decide_erase_learner(self, actor: Actor, cmd: c.EraseLearner, now: int) -> Any:
        self.require_teacher(actor)  # the server, on an organizer's request
        p = self.participants.get(cmd.participant_id)
        if p is None or p.role == "teacher" or p.name == cmd.pseudonym:
            return [], {}
        return [e.LearnerErased(p.id, cmd.pseudonym)], {}

    def _apply_learner_erased(self, ev: e.LearnerErased, ts: int) -> None:
        self.participants[ev.participant_id].name = ev.pseudonym
        for message in self.chat:
            if message.author_id == ev.participant_id:
                message.author_name, message.text, message.deleted = ev.pseudonym, "", True
        for poll in self.polls:
            if isinstance(poll.answers.get(ev.participant_id), str):
                poll.answers[ev.participant_id] = ""

    def auto_end_due(self, now_ms: int) -> list[c.Command]:
        """End a lesson left running: its teacher gone for a while, or far past its length."""
        rules = self.rules
        if self.status != "live" or self.started_ms is None:
            return []
        if rules.auto_end_after_ms and now_ms - self.started_ms >= rules.auto_end_after_ms:
            return [c.EndLesson("overran")]
        away = self._teacher_away_ms(now_ms)
        if rules.auto_end_no_teacher_ms and away >= rules.auto_end_no_teacher_ms:
            return [c.EndLesson("no-teacher")]
        return []

    def _teacher_away_ms(self, now_ms: int) -> int:
        teachers = [p for p in self.participants.values() if p.role == "teacher"]
        if any(p.presence == "present" for p in teachers):
            return 0
        since = max([self.started_ms or now_ms, *(p.since_ms for p in teachers)])
        return now_ms - since
