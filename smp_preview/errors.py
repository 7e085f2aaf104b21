"""Errors a user can act on. Each carries a plain message and a hint what to do."""

from __future__ import annotations


class PreviewError(Exception):
    """Base of every error that is the input's fault, not the program's.

    ``str(err)`` is one line meant for a person: what is wrong, with which file, and what to do.
    """

    code = "error"

    def __init__(self, message: str, hint: str = "", *, source: str | None = None) -> None:
        self.message = message
        self.hint = hint
        self.source = source
        super().__init__(self.__str__())

    def as_dict(self) -> dict:
        """The error as plain data (for a batch manifest or a JSON reply): code, message, hint, source."""
        return {"error_code": self.code, "error": self.message, "hint": self.hint, "source": self.source}

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        hint = f" {self.hint}" if self.hint else ""
        return f"{where}{self.message}{hint}"


class UnreadableFile(PreviewError):
    code = "unreadable_file"


class UnsupportedFormat(PreviewError):
    code = "unsupported_format"


class TooLarge(PreviewError):
    code = "too_large"


class TooSmall(PreviewError):
    code = "too_small"


class NoHeadFound(PreviewError):
    code = "no_head_found"


class SeveralFaces(PreviewError):
    code = "several_faces"


class TooDark(PreviewError):
    code = "too_dark"


class BadSetting(PreviewError, ValueError):
    """A setting outside its allowed range or of the wrong form."""

    code = "bad_setting"


INPUT_ERRORS = (UnreadableFile, UnsupportedFormat, TooLarge, TooSmall, NoHeadFound, SeveralFaces, TooDark)
"""Every error a photo can get (the loader's and the analysis's); `BadSetting` is the settings'."""
