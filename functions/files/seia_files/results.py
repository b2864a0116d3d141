"""The result object written next to a file: ``<tenant>/<model>/_results/<kind>/<name>.json``.

``{"status": "loaded" | "rejected", "rows", "duplicates", "errors": [{"row", "column", "message"}], ...}``
with ``row`` the 1-based data row (header excluded), null when the problem is the file as a whole.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from seia.timeutil import utcnow
from seia_files.errors import RowError
from seia_files.events import ObjectCreated

LOADED, REJECTED = "loaded", "rejected"


@dataclass(frozen=True)
class FileResult:
    status: str
    rows: int = 0
    duplicates: int = 0
    unmatched: int | None = None
    expired: int | None = None  # ground truths whose prediction is past the retention horizon: not stored
    errors: tuple[RowError, ...] = field(default_factory=tuple)
    loaded_at: datetime | None = None

    @classmethod
    def rejected(cls, errors) -> FileResult:
        return cls(REJECTED, errors=tuple(errors))

    def document(self, obj: ObjectCreated) -> dict:
        body = {
            "status": self.status,
            "rows": self.rows,
            "duplicates": self.duplicates,
            "errors": [e.as_dict() for e in self.errors],
        }
        if self.unmatched is not None:
            body["unmatched"] = self.unmatched
        if self.expired is not None:
            body["expired"] = self.expired
        body["object"] = {"key": obj.key, "etag": obj.etag, "version_id": obj.version_id}
        body["loaded_at" if self.status == LOADED else "rejected_at"] = (self.loaded_at or utcnow()).isoformat()
        return body
