"""Refusals: a stable kebab-case code for programs and a sentence for people."""


class Refused(Exception):
    """A command that was not applied; the lesson state is unchanged."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "message": self.message}
