"""Errors raised by the moderation layer.

ModerationError          root
├── PolicyError          a governance setting is invalid
├── BlockError           a domain block cannot be added or removed as asked
│   ├── InvalidBlock     the domain or the reason is not acceptable (``field`` names which)
│   ├── AlreadyBlocked   that domain is already blocked
│   └── NoSuchBlock      that domain is not blocked
├── FederationRefused    the community's federation policy forbids talking to that server
└── FilterError          a keyword filter cannot be added, removed or decided as asked
    ├── InvalidFilter    the phrase or the action is not acceptable
    └── NoSuchFilter     no such filter, or no such held content
"""

from __future__ import annotations


class ModerationError(Exception):
    """Root of every error raised by :mod:`moderation`."""


class PolicyError(ModerationError):
    """A governance setting is invalid; ``problems`` lists (setting, what is wrong)."""

    def __init__(self, message: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class BlockError(ModerationError):
    """A domain block cannot be added or removed as asked (the message says why)."""


class InvalidBlock(BlockError):
    """The domain or the reason of a block is not acceptable."""

    def __init__(self, message: str, *, field: str = "domain") -> None:
        super().__init__(message)
        self.field = field


class AlreadyBlocked(BlockError):
    """The domain is already blocked."""


class NoSuchBlock(BlockError):
    """The domain is not blocked."""


class FederationRefused(ModerationError):
    """The community's federation policy forbids talking to that server.

    The message is safe to show to members: it names the rule, never internal details.
    """


class FilterError(ModerationError):
    """A keyword filter, or content one caught, cannot be handled as asked."""


class InvalidFilter(FilterError):
    """The phrase of a filter is not acceptable (empty, too long, already filtered)."""


class NoSuchFilter(FilterError):
    """No such filter, or no such held content waiting for a decision."""
