"""What the client API's tests repeat: a JSON answer of a given status, Mastodon's error."""

from __future__ import annotations

from typing import Any

from tests.node.mastodon_entities import validate


async def answer(resp: Any, status: int = 200) -> Any:
    """The JSON of ``resp``, which must have ``status``."""
    text = await resp.text()
    assert resp.status == status, text
    return await resp.json()


async def mastodon_error(resp: Any, status: int) -> str:
    """Mastodon's error shape, exactly ``{"error": "..."}``, with ``status``; its text."""
    body = await answer(resp, status)
    validate("Error", body)
    assert set(body) == {"error"}
    return str(body["error"])
