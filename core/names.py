"""Names and titles as plain text: the one normaliser every entry point calls.

A name is shown in other people's pages, in the timeline picture and in spreadsheets, so it
must be text and nothing else: NFC, no control characters (NUL, ESC, newlines) and no format
characters (bidi overrides and isolates, zero-width joiners), whitespace collapsed to one
space. A name that is empty once cleaned is refused, so nobody joins as an invisible person.
"""

from __future__ import annotations

import unicodedata

from core.errors import Refused

_DROPPED = ("Cc", "Cf", "Cs", "Co")  # control, format, surrogate, private use


def clean_name(value: str, field: str = "name", max_len: int = 80) -> str:
    """`value` as plain one-line text, else Refused `invalid-name` naming `field`."""
    text = unicodedata.normalize("NFC", value)
    kept = "".join(" " if ch.isspace() else ch for ch in text if _visible(ch))
    text = " ".join(kept.split())
    if not text:
        raise Refused("invalid-name", f"'{field}' needs at least one visible character.")
    if len(text) > max_len:
        raise Refused("invalid-name", f"'{field}' can have at most {max_len} characters.")
    return text


def _visible(ch: str) -> bool:
    # Whitespace controls (tab, newline) become a space rather than gluing two words together.
    return ch.isspace() or unicodedata.category(ch) not in _DROPPED


# The Kyrgyz alphabet: Ң after Н, Ө after О, Ү after У (Python's code-point order puts them
# after Я). Russian names sort the same way, since the Russian letters keep their order.
KYRGYZ_ALPHABET = "абвгдеёжзийклмнңоөпрстуүфхцчшщъыьэюя"
_RANK = {ch: i for i, ch in enumerate(KYRGYZ_ALPHABET)}
_CYRILLIC_BASE = 0x10000  # Cyrillic after the Latin script, before anything unknown


def sort_key(name: str) -> tuple[tuple[int, ...], str]:
    """The key that sorts names in Kyrgyz alphabetical order, case aside; ties by the name."""
    folded = unicodedata.normalize("NFC", name).lower()
    return tuple(_weight(ch) for ch in folded), name


def _weight(ch: str) -> int:
    rank = _RANK.get(ch)
    if rank is not None:
        return _CYRILLIC_BASE + rank
    return ord(ch) if ord(ch) < 0x400 else 2 * _CYRILLIC_BASE + ord(ch)
