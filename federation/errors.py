"""Errors raised by the federation layer.

FederationError          root
└── TransportError       an outbound request could not be made or was refused
"""


class FederationError(Exception):
    """Root of every error raised by :mod:`federation`."""


class TransportError(FederationError):
    """An outbound HTTP request failed or was refused."""
