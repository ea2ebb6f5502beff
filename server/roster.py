"""Roster CSV import: names with an optional external id, checked row by row."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from server.classroom.errors import Refused
from server.classroom.names import clean_name

MAX_ROWS = 5000
MAX_NAME = 80


@dataclass(frozen=True)
class RosterRow:
    name: str
    external_id: str = ""


def parse_roster_csv(text: str) -> list[RosterRow]:
    """Rows of `name[,external_id]`, with or without a header line naming those columns."""
    rows = [r for r in csv.reader(io.StringIO(text.lstrip("\ufeff"))) if any(c.strip() for c in r)]
    if rows and [c.strip().lower() for c in rows[0][:2]][:1] == ["name"]:
        rows = rows[1:]
    if len(rows) > MAX_ROWS:
        raise Refused("roster-too-large", f"A roster can have at most {MAX_ROWS} students.")
    return [_row(i + 1, cells) for i, cells in enumerate(rows)]


def _row(number: int, cells: list[str]) -> RosterRow:
    try:
        name = clean_name(cells[0], "name", MAX_NAME)
    except Refused:
        raise Refused(
            "invalid-roster", f"Row {number}: a name must have 1 to {MAX_NAME} characters."
        ) from None
    external = cells[1].strip() if len(cells) > 1 else ""
    if len(external) > 64:
        raise Refused("invalid-roster", f"Row {number}: the external id is too long.")
    return RosterRow(name, external)
