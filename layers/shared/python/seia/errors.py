"""Errors that reach users, each with its HTTP status and a stable code."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Detail:
    """One problem in the input: which record (``index``), which ``field``, and why."""

    index: int | None
    field: str | None
    message: str

    def as_dict(self) -> dict:
        return {"index": self.index, "field": self.field, "message": self.message}


@dataclass
class SeiaError(Exception):
    message: str
    details: list[Detail] = field(default_factory=list)
    status = 400
    code = "bad_request"

    def __str__(self) -> str:
        return self.message

    def as_body(self) -> dict:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "details": [d.as_dict() for d in self.details],
            }
        }


class BadRequest(SeiaError):
    status = 400
    code = "bad_request"


class ValidationFailed(SeiaError):
    status = 400
    code = "validation_failed"


class Unauthorized(SeiaError):
    status = 401
    code = "unauthorized"


class Forbidden(SeiaError):
    status = 403
    code = "forbidden"


class NotFound(SeiaError):
    status = 404
    code = "not_found"


class Conflict(SeiaError):
    status = 409
    code = "conflict"


class PayloadTooLarge(SeiaError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(SeiaError):
    status = 415
    code = "unsupported_media_type"


@dataclass
class ServiceUnavailable(SeiaError):
    # Seconds after which the client may retry (the Retry-After header), when known.
    retry_after: int | None = None
    status = 503
    code = "service_unavailable"
