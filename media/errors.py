"""The refusal of a media request: a stable kebab-case code and a sentence for people."""

from __future__ import annotations


class MediaError(Exception):
    """A request the room refuses: `code` is stable kebab-case, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
