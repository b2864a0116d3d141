"""How a file can fail: rejected (final, reported in the result object) or transient (retried)."""

from __future__ import annotations

from dataclasses import dataclass

MAX_ERRORS = 100  # listed in one result object


@dataclass(frozen=True, order=True)
class RowError:
    """One problem: ``row`` is the 1-based data row (header excluded), None for the file as a whole."""

    row: int | None
    column: str | None
    message: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


class FileRejected(Exception):
    """The file cannot be loaded as it is; sending it again will not help."""

    def __init__(self, errors: list[RowError] | RowError):
        errors = [errors] if isinstance(errors, RowError) else list(errors)
        super().__init__(errors[0].message if errors else "rejected")
        self.errors = sorted(errors, key=lambda e: (e.row is not None, e.row or 0, e.column or ""))[:MAX_ERRORS]

    @classmethod
    def file(cls, message: str, column: str | None = None) -> FileRejected:
        return cls(RowError(None, column, message))


class TransientFailure(Exception):
    """Worth another try later: the database or S3 is unavailable, throttling, or failing."""


class ObjectGone(Exception):
    """The notified object (that version of it) no longer exists: nothing to load."""
