"""Request parameters the way Mastodon (Rails) reads them.

Apps send the same parameters as a query string, a form (urlencoded or multipart) or a JSON
body, and Rails merges them all: ``media_ids[]=1&media_ids[]=2`` is a list,
``poll[options][]=a`` a nested one, ``fields_attributes[0][name]=x`` a hash, and a boolean is
false only for ``0``, ``f``, ``false``, ``off`` (any case) — Mastodon.py sends ``1`` and ``0``.
Unknown parameters are ignored, as Mastodon ignores them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from node.errors import BadRequest, UnsupportedMediaType

_FALSE = frozenset({"0", "f", "false", "off"})
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_MAX_DEPTH = 4


class Params:
    """Merged parameters of one request, with Rails' readings."""

    def __init__(self, values: dict[str, Any], files: dict[str, web.FileField]) -> None:
        self.values = values
        self.files = files

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def get(self, name: str, default: Any = None) -> Any:
        """The raw value of ``name``."""
        return self.values.get(name, default)

    def text(
        self, name: str, default: str | None = None, *, limit: int | None = None
    ) -> str | None:
        """``name`` as a string; 422 when it is a list or a hash, or longer than ``limit``."""
        value = self.values.get(name)
        if value is None:
            return default
        if isinstance(value, bool | int | float):
            value = str(value).lower() if isinstance(value, bool) else str(value)
        if not isinstance(value, str):
            raise ValidationError(f"{name} must be a string")
        if limit is not None and len(value) > limit:
            raise ValidationError(f"{name} is too long (maximum is {limit} characters)")
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        """``name`` as a boolean, the Rails way: ``""`` or absent is the default."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float):
            return value != 0
        if isinstance(value, str):
            return value.strip().lower() not in _FALSE
        raise ValidationError(f"{name} must be a boolean")

    def optional_flag(self, name: str) -> bool | None:
        """``name`` as a boolean, or ``None`` when it is absent or empty."""
        value = self.values.get(name)
        if value is None or value == "":
            return None
        return self.flag(name)

    def integer(
        self, name: str, default: int | None = None, *, low: int | None = None
    ) -> int | None:
        """``name`` as an integer; 422 when it is not one or is below ``low``."""
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValidationError(f"{name} must be an integer")
        try:
            number = int(value)
        except ValueError:
            raise ValidationError(f"{name} must be an integer") from None
        if low is not None and number < low:
            raise ValidationError(f"{name} must be at least {low}")
        return number

    def strings(self, name: str, *, limit: int = 100) -> list[str]:
        """``name`` (or ``name[]``) as a list of strings: one value is a list of one."""
        value = self.values.get(name)
        if value is None or value == "":
            return []
        if isinstance(value, str | int):
            value = [value]
        if isinstance(value, dict):  # a[0]=x&a[1]=y, as some clients send arrays
            value = [value[k] for k in sorted(value, key=_index_order)]
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise ValidationError(f"{name} must be a list of strings")
        if len(value) > limit:
            raise ValidationError(f"{name} has too many values (maximum is {limit})")
        return [str(v) for v in value]

    def mapping(self, name: str) -> dict[str, Any]:
        """``name`` as a hash (``name[key]=value``); empty when absent."""
        value = self.values.get(name)
        if value is None or value == "":
            return {}
        if not isinstance(value, dict):
            raise ValidationError(f"{name} must be a hash")
        return value

    def file(self, name: str) -> web.FileField | None:
        """The uploaded file ``name`` (multipart), if any."""
        return self.files.get(name)


class ValidationError(BadRequest):
    """A parameter Mastodon would refuse with 422 (``Validation failed: ...``)."""

    status = 422
    code = "validation_failed"


async def read_params(request: web.Request, *, max_json: int = 1_000_000) -> Params:
    """The merged parameters of ``request``: query string, then form or multipart, then JSON
    (later sources override earlier ones, as in Rails)."""
    values: dict[str, Any] = {}
    files: dict[str, web.FileField] = {}
    _merge_pairs(values, request.query)
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.body_exists:
        kind = request.content_type
        if kind in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            plain = [(k, v) for k, v in form.items() if isinstance(v, str)]
            files.update({k: v for k, v in form.items() if isinstance(v, web.FileField)})
            _merge_pairs(values, plain)
        elif kind == "application/json" or kind.endswith("+json"):
            raw = await request.read()
            if len(raw) > max_json:
                raise BadRequest("the body is too large")
            if raw.strip():
                try:
                    body = json.loads(raw)
                except (ValueError, UnicodeDecodeError):
                    raise BadRequest("the body is not valid JSON") from None
                if not isinstance(body, dict):
                    raise BadRequest("the body must be a JSON object")
                values.update(body)
        elif kind not in ("", "application/octet-stream", "text/plain"):
            raise UnsupportedMediaType(f"cannot read a body of type {kind}")
    return Params(values, files)


def _merge_pairs(values: dict[str, Any], pairs: MultiDictProxy[str] | Any) -> None:
    items = pairs.items() if isinstance(pairs, Mapping | MultiDictProxy) else pairs
    for key, value in items:
        _put(values, str(key), value)


def _put(values: dict[str, Any], key: str, value: Any) -> None:
    match = _KEY.match(key)
    if match is None:
        return  # a malformed key ("a]b[") is ignored, as Rack drops it
    name, brackets = match.group(1), match.group(2)
    parts = re.findall(r"\[([^\[\]]*)\]", brackets)[:_MAX_DEPTH]
    if not parts:
        values[name] = value
        return
    container: dict[str, Any] = values
    path = [name, *parts]
    for i, part in enumerate(path[:-1]):
        following = path[i + 1]
        if following == "":  # part[] : a list under part
            existing = container.get(part)
            if not isinstance(existing, list):
                existing = [] if existing is None else [existing]
                container[part] = existing
            existing.append(value)
            return
        child = container.get(part)
        if not isinstance(child, dict):
            child = {}
            container[part] = child
        container = child
    container[path[-1]] = value


def _index_order(key: str) -> tuple[int, str]:
    return (int(key), "") if key.isdigit() else (1 << 30, key)
