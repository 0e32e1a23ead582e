"""Reading request bodies and queries into validated values, with errors that name the field."""

from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from node.errors import InvalidJSON, UnsupportedMediaType, ValidationFailed

T = TypeVar("T", bound=BaseModel)
_PAGE = re.compile(r"[0-9]{1,7}")
_FLAGS = {"true": True, "1": True, "false": False, "0": False}


class Body(BaseModel):
    """Base of request bodies: unknown fields and type coercion are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, str_strip_whitespace=True)


async def read_json(request: web.Request, model: type[T]) -> T:
    """Parse the JSON body of ``request`` into ``model``.

    415 if it is not JSON, 413 if over the node's body limit (raised by aiohttp while reading),
    400 if not parseable or not an object, 422 with per-field details if it does not validate.
    """
    return validate(model, await read_json_object(request))


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The JSON object in the body of ``request``, not yet validated (415, 413 and 400 as
    :func:`read_json` says)."""
    if not _is_json(request.content_type):
        raise UnsupportedMediaType("send the body as application/json")
    raw = await request.read()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidJSON("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidJSON("the body must be a JSON object")
    return data


def validate(model: type[T], data: dict[str, Any]) -> T:
    """Validate ``data`` against ``model``, raising ``ValidationFailed`` with field details."""
    nul_at = _nul_path(data, "")
    if nul_at is not None:
        # PostgreSQL cannot store NUL in text; no field of ours has a use for it anyway.
        raise ValidationFailed(
            "the request body is not valid",
            details=[{"field": nul_at or "(body)", "message": "must not contain NUL characters"}],
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = [
            {
                "field": ".".join(str(p) for p in error["loc"]) or "(body)",
                "message": "unknown field"
                if error["type"] == "extra_forbidden"
                else error["msg"].removeprefix("Value error, "),
            }
            for error in exc.errors()
        ]
        raise ValidationFailed("the request body is not valid", details=details) from None


def _nul_path(value: Any, path: str) -> str | None:
    """Dotted path of the first string (key or value) holding a NUL character, if any."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in key:
                return where
            found = _nul_path(item, where)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


def printable(text: str) -> str:
    """``text`` without control characters, and with undecodable bytes (which aiohttp hands us
    as surrogates) replaced, so it can be stored and shown safely."""
    cleaned = text.encode("utf-8", "replace").decode("utf-8")
    return "".join(ch for ch in cleaned if ch.isprintable())


def page_number(request: web.Request) -> int | None:
    """The ``page`` query parameter (1-based), ``None`` when absent; 400 if malformed."""
    raw = request.query.get("page")
    if raw is None:
        return None
    # fullmatch on ASCII digits: str.isdigit() accepts "²", which int() then refuses.
    if not _PAGE.fullmatch(raw) or not 1 <= int(raw) <= 1_000_000:
        raise ValidationFailed(
            "invalid page", details=[{"field": "page", "message": "a positive integer"}]
        )
    return int(raw)


def query_id(request: web.Request, name: str) -> int | None:
    """A positive integer id in the query (``before=123``), ``None`` when absent; 422 naming
    it otherwise."""
    raw = request.query.get(name)
    if raw is None:
        return None
    if not re.fullmatch(r"[0-9]{1,18}", raw) or int(raw) < 1:
        raise ValidationFailed(
            f"invalid {name}", details=[{"field": name, "message": "a positive integer"}]
        )
    return int(raw)


def query_flag(request: web.Request, name: str) -> bool:
    """A boolean query parameter: ``true``/``1`` or ``false``/``0``, false when absent; 422
    naming it otherwise (a typo such as ``?all=ture`` must not quietly mean false)."""
    raw = request.query.get(name)
    if raw is None:
        return False
    value = _FLAGS.get(raw.lower())
    if value is None:
        raise ValidationFailed(
            f"invalid {name}",
            details=[{"field": name, "message": "true, false, 1 or 0"}],
        )
    return value


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )
