"""The pure domain core of a live lesson: commands in, events out, no I/O."""

from server.classroom.commands import Command
from server.classroom.errors import Refused
from server.classroom.events import Event, Record, event_from_dict, event_to_dict
from server.classroom.lesson import Actor, Lesson, Outcome

__all__ = [
    "Actor",
    "Command",
    "Event",
    "Lesson",
    "Outcome",
    "Record",
    "Refused",
    "event_from_dict",
    "event_to_dict",
]
