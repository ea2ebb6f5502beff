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
