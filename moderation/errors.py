"""Errors raised by the moderation layer.

ModerationError          root
└── PolicyError          a governance setting is invalid
"""


class ModerationError(Exception):
    """Root of every error raised by :mod:`moderation`."""


class PolicyError(ModerationError):
    """A governance setting is invalid."""
