"""Correcting and erasing: directory records, the lesson data that names a person, their sockets.

How the append-only lesson log and erasure live together is in docs/privacy.md: personal free
text is kept beside the log (store/personal.py), so erasing never rewrites the stream.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from core import commands as c
from core import events as e
from core.errors import Refused
from core.lesson import SYSTEM
from lessons.host import LessonHost
from lessons.recordings import Recordings
from store.directory import Course, LessonInfo, Student, Teacher
from store.notices import Notices
from store.personal import answer_field, chat_field, name_field
from store.protocols import Directory, LessonLog


class DataRights:
    """What an organizer may do to the data about a person, a course or a lesson."""

    def __init__(
        self,
        directory: Directory,
        eventlog: LessonLog,
        live: LessonHost,
        notices: Notices,
        recordings: Recordings,
    ) -> None:
        self.directory, self.eventlog, self.live, self.notices = directory, eventlog, live, notices
        self.recordings = recordings

    async def rotate_student(self, student: Student) -> Student:
        student = replace(student, link_version=student.link_version + 1)
        await self.directory.put(student)
        await self.notices.revoke(student.id, "link-revoked")
        return student

    async def rotate_teacher(self, teacher: Teacher) -> Teacher:
        teacher = replace(teacher, link_version=teacher.link_version + 1)
        await self.directory.put(teacher)
        await self.notices.revoke(teacher.id, "link-revoked")
        return teacher

    async def change_teacher(self, teacher: Teacher, new: Teacher) -> None:
        """Rename, or change courses; a teacher taken off a course leaves its live lessons."""
        await self.directory.put(new)
        if set(teacher.course_ids) - set(new.course_ids):
            await self.notices.revoke(teacher.id, "course-removed")

    async def delete_teacher(self, teacher: Teacher) -> None:
        await self.directory.delete(teacher)
        await self.notices.revoke(teacher.id, "deleted")

    async def erase_student(self, student: Student) -> str:
        """Delete the student; in every lesson log a pseudonym instead of the name, no text."""
        await self.notices.revoke(student.id, "deleted")  # first: nothing new from them
        pseudonym = f"erased-{secrets.token_hex(4)}"
        for info in await self.directory.lessons(student.course_id):
            await self._erase_in_lesson(info, student.id, pseudonym)
        await self.directory.delete(student)
        await self.compact()
        return pseudonym

    async def compact(self) -> None:
        """Ask the store to rewrite its files, so erased text leaves the disk too."""
        await self.eventlog.compact()

    async def _erase_in_lesson(self, info: LessonInfo, pid: str, pseudonym: str) -> None:
        records = await self.eventlog.read(info.id)
        fields: list[str] = []
        for r in records:
            ev = r.event
            if isinstance(ev, e.ChatPosted) and ev.author_id == pid:
                fields.append(chat_field(ev.message_id))
            elif isinstance(ev, e.PollAnswered) and ev.participant_id == pid:
                fields.append(answer_field(r.seq))
        came = any(getattr(r.event, "participant_id", None) == pid for r in records)
        if not came:
            return
        self.recordings.erase_owner(info.id, pid)  # their floor microphone and camera
        await self.eventlog.rewrite_texts(info.id, {name_field(pid): pseudonym}, fields)
        if info.status == "live":  # every process's copy of the lesson forgets through the log
            await self.live.run(info.id, SYSTEM, c.EraseLearner(pid, pseudonym))
        else:
            await self.notices.forget(info.id)

    async def delete_lesson(self, info: LessonInfo) -> None:
        """The lesson's record, log and text; a live lesson must be ended first."""
        if info.status == "live":
            raise Refused("lesson-live", "End the lesson before deleting it.")
        await self.eventlog.delete(info.id)
        self.delete_recording(info.id)
        await self.directory.delete(info)
        await self.notices.forget(info.id)

    def delete_recording(self, lesson_id: str) -> bool:
        """A lesson's recorded media (the organizer, or its retention); the lesson stays."""
        return self.recordings.delete(lesson_id)

    async def delete_course(self, course: Course) -> None:
        """The course with its lessons and students; its teachers stay, without it."""
        lessons = await self.directory.lessons(course.id)
        if any(info.status == "live" for info in lessons):
            raise Refused("lesson-live", "End the course's live lessons before deleting it.")
        for info in lessons:
            await self.delete_lesson(info)
        for student in await self.directory.roster(course.id):
            await self.directory.delete(student)
            await self.notices.revoke(student.id, "deleted")
        for teacher in await self.directory.all(Teacher):
            if course.id in teacher.course_ids:
                kept = tuple(x for x in teacher.course_ids if x != course.id)
                await self.directory.put(replace(teacher, course_ids=kept))
        await self.directory.delete(course)
        await self.compact()
