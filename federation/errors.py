"""Errors raised by the federation layer.

FederationError               root
└── TransportError            an outbound request could not be made or was refused
    ├── ForbiddenAddress      the target is a private, loopback or link-local address
    ├── ForbiddenScheme       not https (http only when configured for local testing)
    ├── TransportTimeout      the peer did not answer in time
    ├── ResponseTooLarge      the answer exceeded our size cap
    └── BadResponse           the answer is not what was asked for (status, type, JSON)
"""


class FederationError(Exception):
    """Root of every error raised by :mod:`federation`."""


class DereferenceError(FederationError):
    """A remote actor or key could not be fetched, parsed or trusted."""


class PartnershipError(FederationError):
    """A partnership cannot be proposed or changed that way (the message says why)."""


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


class TransportTimeout(TransportError):
    """The peer did not answer in time."""


class ResponseTooLarge(TransportError):
    """The response body exceeded the cap."""


class BadResponse(TransportError):
    """The response has an unexpected status, content type or body."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class NotActedOn(FederationError):
    """Raised by an inbound handler that had nothing to do with the activity; the message
    says why (the worker records the activity as ignored, with that reason)."""
