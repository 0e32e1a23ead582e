"""Errors raised by the federation layer.

FederationError               root
├── DereferenceError          a remote actor or key could not be fetched, parsed or trusted
├── PartnershipError          a partnership cannot be proposed or changed that way
├── NotActedOn                raised by an inbound handler: the activity is not for it (reason)
├── InboxRejected             a delivery we refuse (the node maps each to an HTTP status)
│   ├── MalformedActivity     not a well-formed activity (400)
│   ├── UnverifiedSender      we cannot establish that the actor sent it (401)
│   └── ForbiddenActivity     authentic, but not acceptable (403)
├── StoreFailed               an accepted activity could not be committed (503, sender retries)
└── TransportError            an outbound request could not be made or was refused
    ├── ForbiddenAddress      the target is a private, loopback or link-local address
    ├── ForbiddenScheme       not https (http only when configured for local testing)
    ├── PeerUnreachable       no answer at all: connection refused or reset, DNS failure
    │   └── TransportTimeout  the peer did not answer in time
    ├── ResponseTooLarge      the answer exceeded our size cap
    └── BadResponse           the answer is not what was asked for (status, type, JSON)
"""


class FederationError(Exception):
    """Root of every error raised by :mod:`federation`."""


class DereferenceError(FederationError):
    """A remote actor or key could not be fetched, parsed or trusted."""


class PartnershipError(FederationError):
    """A partnership cannot be proposed or changed that way (the message says why)."""


class NotActedOn(FederationError):
    """Raised by an inbound handler that leaves the activity alone, with the reason.

    Not a failure: the worker does not retry it. If no handler of an activity acted, the
    activity is kept as ``ignored`` with the handlers' reasons in ``last_error``, which the
    node's admins read: say why in their words ("not addressed to one of our members").
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class InboxRejected(FederationError):
    """A delivery we refuse; the node maps each subclass to an HTTP status."""


class MalformedActivity(InboxRejected):
    """The delivery is not a well-formed activity."""


class UnverifiedSender(InboxRejected):
    """We cannot establish that the actor sent this."""


class ForbiddenActivity(InboxRejected):
    """The sender is authentic but the activity is not acceptable."""


class StoreFailed(FederationError):
    """An accepted activity could not be committed (the database failed): not stored."""


class TransportError(FederationError):
    """An outbound HTTP request failed or was refused."""


class ForbiddenAddress(TransportError):
    """The target resolves to an address we must not connect to."""


class ForbiddenScheme(TransportError):
    """The URL's scheme is not allowed."""


class PeerUnreachable(TransportError):
    """No answer at all from the peer: the connection failed, was reset, or timed out."""


class TransportTimeout(PeerUnreachable):
    """The peer did not answer in time."""


class ResponseTooLarge(TransportError):
    """The response body exceeded the cap (in bytes, or in JSON nesting)."""


class BadResponse(TransportError):
    """The response has an unexpected status, content type or body."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
