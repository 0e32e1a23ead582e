"""Errors the node turns into HTTP responses.

Each error carries a stable machine-readable ``code``, the HTTP ``status`` chosen here at the edge,
and a ``safe`` message for the client; internal details stay in logs.

    NodeError                      root (500 internal_error)
    ├── BadRequest                 400 bad_request
    │   ├── InvalidJSON            400 invalid_json
    │   └── ValidationFailed       422 validation_failed (carries per-field details)
    │       └── WrongPassword      422 validation_failed: a signed-in member's password check
    ├── Unauthorized               401 unauthorized
    │   └── InvalidCredentials     401 invalid_credentials
    ├── Forbidden                  403 forbidden
    │   └── AccountSuspended       403 account_suspended
    ├── NotFound                   404 not_found
    ├── NotAcceptable              406 not_acceptable
    ├── Conflict                   409 conflict
    ├── Gone                       410 gone
    │   └── InviteUnusable         410 invite_unusable
    ├── PayloadTooLarge            413 payload_too_large
    ├── UnsupportedMediaType       415 unsupported_media_type
    ├── TooManyRequests            429 too_many_requests (carries retry_after)
    └── ConfigError                raised at start-up, never reaches HTTP
"""

from __future__ import annotations

from typing import Any, ClassVar


class NodeError(Exception):
    """Root of the node's errors."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, safe: str = "internal error", *, details: Any = None) -> None:
        super().__init__(safe)
        self.safe = safe
        self.details = details

    def to_json(self) -> dict[str, Any]:
        """The body we send to the client."""
        body: dict[str, Any] = {"error": {"code": self.code, "message": self.safe}}
        if self.details is not None:
            body["error"]["details"] = self.details
        return body


class BadRequest(NodeError):
    status, code = 400, "bad_request"


class InvalidJSON(BadRequest):
    code = "invalid_json"


class ValidationFailed(BadRequest):
    status, code = 422, "validation_failed"


class WrongPassword(ValidationFailed):
    """A signed-in member typed a wrong password (the current one, at a password change).

    Not 401: the member's session is fine, and clients read 401 as "logged out"."""

    def __init__(self, field: str) -> None:
        super().__init__(
            "the password is wrong",
            details=[{"field": field, "message": "is not the account's password"}],
        )


class Unauthorized(NodeError):
    status, code = 401, "unauthorized"


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"


class Forbidden(NodeError):
    status, code = 403, "forbidden"


class AccountSuspended(Forbidden):
    """The right password of a suspended member: no session until a moderator lifts it."""

    code = "account_suspended"


class NotFound(NodeError):
    status, code = 404, "not_found"


class NotAcceptable(NodeError):
    status, code = 406, "not_acceptable"


class Conflict(NodeError):
    status, code = 409, "conflict"


class Gone(NodeError):
    status, code = 410, "gone"


class InviteUnusable(Gone):
    code = "invite_unusable"


class PayloadTooLarge(NodeError):
    status, code = 413, "payload_too_large"


class UnsupportedMediaType(NodeError):
    status, code = 415, "unsupported_media_type"


class TooManyRequests(NodeError):
    status, code = 429, "too_many_requests"

    def __init__(self, safe: str, *, retry_after: int) -> None:
        super().__init__(safe, details={"retry_after": retry_after})
        self.retry_after = retry_after


class ServiceUnavailable(NodeError):
    """A temporary failure (the database): the client should try again later."""

    status, code = 503, "unavailable"

    def __init__(self, safe: str, *, retry_after: int) -> None:
        super().__init__(safe, details={"retry_after": retry_after})
        self.retry_after = retry_after


class ConfigError(NodeError):
    """The configuration is invalid; raised at start-up with a message naming the field."""
