"""Which handler processes an inbound activity: a registry the node fills at start-up.

Federation does not know what a listing or a conversation is; the node registers handlers by
(activity type, object type), and the worker asks here. Handlers registered for the exact
(type, object type) run first, then those for the activity type alone. Several features may
handle one type (a Follow of a member, a Follow of the node's own actor): each handler acts
only on what concerns it and must be idempotent, since a failure of one retries them all. A
handler that leaves an activity alone raises :class:`federation.errors.NotActedOn` with the
reason: if none acted, the worker keeps the activity as ``ignored`` with the reasons.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InboundActivity:
    """A verified inbound activity, as handlers see it."""

    activity_id: str
    actor: str
    activity_type: str
    object_type: str | None
    recipient: str | None
    body: dict[str, Any]


Handler = Callable[[InboundActivity], Awaitable[None]]


def object_type_of(body: dict[str, Any]) -> str | None:
    """The ``type`` of an embedded ``object``, or ``None`` when the object is a bare URI."""
    obj = body.get("object")
    if isinstance(obj, dict) and isinstance(obj.get("type"), str):
        return str(obj["type"])
    return None


class Dispatcher:
    """Handlers by (activity type, object type)."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str | None], list[Handler]] = {}

    def register(
        self, activity_type: str, handler: Handler, object_type: str | None = None
    ) -> None:
        """Route ``activity_type`` (with ``object_type``, or any object) to ``handler``."""
        handlers = self._handlers.setdefault((activity_type, object_type), [])
        if handler in handlers:
            raise ValueError(f"{handler} is already registered for {activity_type}")
        handlers.append(handler)

    def handlers_for(self, activity: InboundActivity) -> list[Handler]:
        """The handlers for ``activity`` (empty if we do not act on it)."""
        exact = self._handlers.get((activity.activity_type, activity.object_type), [])
        generic = (
            self._handlers.get((activity.activity_type, None), [])
            if activity.object_type is not None
            else []
        )
        return [*exact, *generic]
