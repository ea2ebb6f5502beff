"""The pure domain core of a live lesson: commands in, events out, no I/O."""

from core.commands import Command
from core.errors import Refused
from core.events import Event, Record, event_from_dict, event_to_dict
from core.lesson import Actor, Lesson, Outcome

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
