"""Personal free text of a lesson (names, chat, text answers), kept beside its log to be erasable.

The lesson log is an append-only Redis stream: an entry cannot be edited in place. So the
fields that are personal free text never go into the stream. The stream entry holds the
event with that field left empty and the name of a field of the lesson's text hash, where
the value lives; reading the log puts the value back. Erasing is then one HDEL (or an HSET
of a pseudonym) on that hash, and the stream itself never has to be rewritten.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from core import events as e


def text_key(prefix: str, lesson_id: str) -> str:
    # The same hash tag as the log: both keys of a lesson live in one Redis Cluster slot.
    return f"{prefix}:lesson:{{{lesson_id}}}:text"


def name_field(participant_id: str) -> str:
    return f"name:{participant_id}"


def chat_field(message_id: int) -> str:
    return f"chat:{message_id}"


def answer_field(seq: int) -> str:
    return f"seq:{seq}"


def personal_field(record: e.Record) -> tuple[str, str] | None:
    """(hash field, event attribute) of the record's personal text, if it has any."""
    ev = record.event
    if isinstance(ev, (e.ParticipantJoined, e.GuestWaiting)):
        return name_field(ev.participant_id), "name"
    if isinstance(ev, e.ChatPosted):
        return chat_field(ev.message_id), "text"
    if isinstance(ev, e.PollAnswered) and isinstance(ev.answer, str):
        return answer_field(record.seq), "answer"  # a text poll's answer: free text
    return None


def split(record: e.Record) -> tuple[e.Record, str, str, str] | None:
    """The record without its personal text, the hash field, the attribute and the text."""
    found = personal_field(record)
    if found is None:
        return None
    hash_field, attribute = found
    value = getattr(record.event, attribute)
    blank = dataclasses.replace(record.event, **{attribute: ""})
    return dataclasses.replace(record, event=blank), hash_field, attribute, json.dumps(value)


def restore(data: dict[str, Any], attribute: str, stored: str | None) -> None:
    """Put the personal text back into an event's data ('' once it has been erased)."""
    data[attribute] = json.loads(stored) if stored is not None else ""
