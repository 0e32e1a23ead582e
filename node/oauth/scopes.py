"""Mastodon's OAuth scopes and their hierarchy (docs.joinmastodon.org/api/oauth-scopes)."""

from __future__ import annotations

_READ = [
    "accounts",
    "blocks",
    "bookmarks",
    "favourites",
    "filters",
    "follows",
    "lists",
    "mutes",
    "notifications",
    "search",
    "statuses",
]
_WRITE = [
    "accounts",
    "blocks",
    "bookmarks",
    "conversations",
    "favourites",
    "filters",
    "follows",
    "lists",
    "media",
    "mutes",
    "notifications",
    "reports",
    "statuses",
]
# ``follow`` is deprecated (3.5) but still asked for by many apps: it means these.
_FOLLOW = frozenset(
    {"read:blocks", "read:follows", "read:mutes", "write:blocks", "write:follows", "write:mutes"}
)
CHILDREN: dict[str, frozenset[str]] = {
    "read": frozenset(f"read:{name}" for name in _READ),
    "write": frozenset(f"write:{name}" for name in _WRITE),
    "follow": _FOLLOW,
    "push": frozenset(),
    "profile": frozenset(),
}
# What /.well-known/oauth-authorization-server lists and /api/v1/apps accepts. Admin scopes
# are left out: no app is granted staff powers.
SUPPORTED: tuple[str, ...] = (
    "read",
    "write",
    "follow",
    "push",
    "profile",
    *sorted(CHILDREN["read"]),
    *sorted(CHILDREN["write"]),
)
_KNOWN = frozenset(SUPPORTED)


def parse(text: str) -> list[str]:
    """The scopes of a space- (or ``+``-) separated list, in order, without repeats."""
    seen: list[str] = []
    for scope in text.replace("+", " ").split():
        if scope not in seen:
            seen.append(scope)
    return seen


def unknown(scopes: list[str]) -> list[str]:
    """The scopes of ``scopes`` this node does not know."""
    return [scope for scope in scopes if scope not in _KNOWN]


def expand(scopes: list[str] | frozenset[str]) -> frozenset[str]:
    """``scopes`` with every parent's granular scopes added."""
    out = set(scopes)
    for scope in scopes:
        out |= CHILDREN.get(scope, frozenset())
    return frozenset(out)


def permits(granted: str, required: str) -> bool:
    """Whether a token granted ``granted`` (space-separated) may act under ``required``."""
    return required in expand(parse(granted))


def is_subset(asked: list[str], allowed: list[str]) -> bool:
    """Whether every scope ``asked`` is covered by ``allowed`` (a parent covers its children)."""
    covered = expand(allowed)
    return all(scope in covered for scope in asked)
