"""Errors raised by the protocol layer.

ProtocolError                 root: something about a protocol document is wrong
├── MalformedResource         a WebFinger resource or URI we cannot parse
└── KeyFormatError            key material that cannot be loaded or encoded
"""


class ProtocolError(Exception):
    """Root of every error raised by :mod:`activitypub`."""


class MalformedResource(ProtocolError):
    """A resource identifier (``acct:`` URI, URL) is not well formed."""


class KeyFormatError(ProtocolError):
    """Key material is not in a format we can load."""
