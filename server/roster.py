"""Roster import: a CSV or .xlsx as a school has it, read into rows and problems before storing.

A CSV saved by Russian-locale Excel is `;`-separated, often has a header row, perhaps a BOM,
perhaps Windows-1251; "Unicode text" is UTF-16 and tab-separated. All of it is detected here,
and the organizer sees what will be created and what is wrong before anything is stored.
"""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from dataclasses import asdict, dataclass, field
from typing import Any

from core.errors import Refused
from core.names import clean_name

MAX_ROWS = 5000
MAX_NAME = 80
MAX_ID = 64
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SEPARATORS = (";", ",", "\t")
# What a header cell says, lowercased, letters and digits only: the name column, the id column.
NAME_HEADERS = {"name", "names", "fullname", "student", "learner", "фио", "имя", "ученик",
                "студент", "фамилияимя", "аты", "атыжөнү", "атыжону", "окуучу"}  # fmt: skip
# Not "№": in a school's sheet that is the row number, and an id must stay one learner's.
ID_HEADERS = {"id", "externalid", "code", "код", "идентификатор", "studentid", "idномер"}


@dataclass(frozen=True)
class RosterRow:
    name: str
    external_id: str = ""
    row: int = 0  # the line or sheet row it came from, as the spreadsheet numbers it


@dataclass(frozen=True)
class Problem:
    row: int
    code: str
    message: str


@dataclass
class RosterPreview:
    """What a file would import: its rows, what is wrong, and how it was read."""

    format: str  # "csv" or "xlsx"
    encoding: str = ""
    separator: str = ""
    header: bool = False
    rows: list[RosterRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def as_dict(self, known_ids: set[str] | frozenset[str] = frozenset()) -> dict[str, Any]:
        """The preview for people: each row says whether it creates or updates a student."""
        out = asdict(self)
        del out["rows"]
        out["students"] = [{**asdict(r), "action": _action(r, known_ids)} for r in self.rows]
        return out

    def require_clean(self) -> None:
        """Refuse the import as a whole when any row is wrong: fix the file, then import."""
        if self.problems:
            first = self.problems[0]
            more = f" ({len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
            raise Refused("invalid-roster", f"Row {first.row}: {first.message}{more}")


def _action(row: RosterRow, known_ids: set[str] | frozenset[str]) -> str:
    return "update" if row.external_id and row.external_id in known_ids else "create"


def read_roster(data: bytes, content_type: str, charset: str | None = None) -> RosterPreview:
    """The preview of a roster file (`text/csv` or .xlsx); nothing is stored here."""
    if content_type == XLSX or data.startswith(b"PK\x03\x04"):
        return _preview(_xlsx_rows(data), RosterPreview("xlsx"))
    text, encoding = decode(data, charset)
    separator = detect_separator(text)
    cells = list(csv.reader(io.StringIO(text), delimiter=separator))
    return _preview(cells, RosterPreview("csv", encoding, separator))


def decode(data: bytes, charset: str | None = None) -> tuple[str, str]:
    """The text and the encoding it was in: a BOM, the declared charset, UTF-8, else cp1251."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                      (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if data.startswith(bom):
            return data.decode(name), name
    for name in [n for n in (charset, "utf-8") if n]:
        try:
            return data.decode(name), name.lower()
        except (UnicodeDecodeError, LookupError):
            continue
    # Not UTF-8: a Russian- or Kyrgyz-locale Windows wrote it (every byte is valid cp1251
    # except 0x98, which no name has).
    return data.decode("cp1251", errors="replace"), "cp1251"


def detect_separator(text: str) -> str:
    """The separator that splits the first lines into the same number (>1) of cells."""
    lines = [line for line in text.splitlines() if line.strip()][:20]
    best, best_score = ",", 0
    for sep in SEPARATORS:
        counts = [len(r) for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=sep)]
        split = [n for n in counts if n > 1]
        if len(split) * 2 < len(counts):
            continue  # it splits only a few lines: those are names with a stray separator
        score = len(split) * 2 - len(set(split))  # many lines split, into a steady count
        if score > best_score:
            best, best_score = sep, score
    return best


def _xlsx_rows(data: bytes) -> list[list[str]]:
    import openpyxl  # only for .xlsx; maintained, pure Python

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise Refused(
            "invalid-roster", "This is not an .xlsx file Sabak can read; save it as .xlsx or CSV."
        ) from exc
    try:
        sheet = book.worksheets[0]
        rows = []
        for values in sheet.iter_rows(max_row=MAX_ROWS + 2, values_only=True):
            rows.append([_cell_text(v) for v in values])
        return rows
    finally:
        book.close()


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # an id typed as a number: 1024, not 1024.0
    return str(value)


def _preview(cells: list[list[str]], preview: RosterPreview) -> RosterPreview:
    numbered = [(i + 1, row) for i, row in enumerate(cells) if any(c.strip() for c in row)]
    name_col, id_col = 0, 1
    if numbered and (found := _header(numbered[0][1])) is not None:
        name_col, id_col = found
        preview.header = True
        numbered = numbered[1:]
    if len(numbered) > MAX_ROWS:
        raise Refused("roster-too-large", f"A roster can have at most {MAX_ROWS} students.")
    seen: dict[str, int] = {}
    for number, row in numbered:
        _add_row(preview, number, row, name_col, id_col, seen)
    return preview


def _header(row: list[str]) -> tuple[int, int] | None:
    """(name column, id column) when this row names its columns, else None."""
    keys = ["".join(ch for ch in cell.lower() if ch.isalnum()) for cell in row]
    names = [i for i, k in enumerate(keys) if k in NAME_HEADERS]
    ids = [i for i, k in enumerate(keys) if k in ID_HEADERS]
    if not names:
        return None
    others = [i for i in ids if i != names[0]]
    return names[0], (others[0] if others else -1)


def _add_row(
    preview: RosterPreview, number: int, row: list[str], name_col: int, id_col: int,
    seen: dict[str, int],
) -> None:  # fmt: skip
    raw = row[name_col] if name_col < len(row) else ""
    external = (row[id_col] if 0 <= id_col < len(row) else "").strip()
    problem = _problem(raw, external, preview.separator)
    if not problem and external in seen:
        problem = ("duplicate-id", f"the id {external} is also on row {seen[external]}.")
    if problem:
        preview.problems.append(Problem(number, *problem))
        return
    if external:
        seen[external] = number
    preview.rows.append(RosterRow(clean_name(raw, "name", MAX_NAME), external, number))


def _problem(raw: str, external: str, separator: str) -> tuple[str, str] | None:
    if _glued(raw, separator):
        return "glued-cells", "the name has a separator in it: are two columns glued together?"
    try:
        clean_name(raw, "name", MAX_NAME)
    except Refused:
        return "invalid-name", f"a name must have 1 to {MAX_NAME} visible characters."
    if len(external) > MAX_ID:
        return "invalid-id", f"the external id is longer than {MAX_ID} characters."
    return None


def _glued(raw: str, separator: str) -> bool:
    """A name holding another separator: a tab, a ';', or a ',' before an id."""
    if "\t" in raw or (separator != ";" and ";" in raw):
        return True
    return separator != "," and "," in raw and raw.rsplit(",", 1)[1].strip().isdigit()
