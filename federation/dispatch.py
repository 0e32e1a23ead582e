"""Which handler processes an inbound activity: a registry the node fills at start-up.

Federation does not know what a listing or a conversation is; the node registers handlers by
(activity type, object type), and the worker asks here. An exact (type, object type) match
wins over a handler registered for the activity type alone.
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
        self._handlers: dict[tuple[str, str | None], Handler] = {}

    def register(
        self, activity_type: str, handler: Handler, object_type: str | None = None
    ) -> None:
        """Route ``activity_type`` (with ``object_type``, or any object) to ``handler``."""
        key = (activity_type, object_type)
        if key in self._handlers:
            raise ValueError(f"a handler for {key} is already registered")
        self._handlers[key] = handler

    def handler_for(self, activity: InboundActivity) -> Handler | None:
        """The handler for ``activity``, or ``None`` if we do not act on it."""
        exact = self._handlers.get((activity.activity_type, activity.object_type))
        return exact or self._handlers.get((activity.activity_type, None))
