"""ActivityPub media types and content negotiation for documents we serve."""

from __future__ import annotations

ACTIVITY_JSON = "application/activity+json"
LD_JSON_PROFILE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JRD_JSON = "application/jrd+json"
AS_PROFILE = "https://www.w3.org/ns/activitystreams"

# Media types for which we answer with the ActivityStreams document.
_JSON_TYPES = {ACTIVITY_JSON, "application/ld+json", "application/json", "*/*", "application/*"}


def _accept_items(accept: str) -> list[tuple[str, dict[str, str]]]:
    """The media ranges of an ``Accept`` header, lower-cased, with their parameters unquoted."""
    items = []
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        parsed = {}
        for param in params:
            key, _, value = param.partition("=")
            parsed[key.strip().lower()] = value.strip().strip('"')
        items.append((media.lower(), parsed))
    return items


def asks_json_profile(accept: str | None, profile: str) -> bool:
    """Whether ``Accept`` asks for ``application/json`` with ``profile`` (e.g. NodeInfo's
    schema URI) by name, so that the answer may carry it.

    Some servers refuse a JSON document whose content type has a profile parameter they do not
    know (GoToSocial takes NodeInfo only as plain ``application/json`` or with the 2.0
    profile): it is sent to those who ask for it, and plain JSON to everyone else.
    """
    if not accept:
        return False
    for media, params in _accept_items(accept):
        if media != "application/json" or _q_is_zero(params.get("q", "1")):
            continue
        if profile in params.get("profile", "").split():
            return True
    return False


def wants_activity_json(accept: str | None) -> bool:
    """Whether an ``Accept`` header admits an ActivityStreams JSON document.

    Missing header, ``*/*``, ``application/json``, ``application/activity+json`` and
    ``application/ld+json`` (with the ActivityStreams profile or none) are accepted; anything
    else (``text/html`` alone, an ld+json with another profile, ``q=0``) is not.
    """
    if accept is None or not accept.strip():
        return True
    for media, parsed in _accept_items(accept):
        if media not in _JSON_TYPES:
            continue
        if parsed.get("q") is not None and _q_is_zero(parsed["q"]):
            continue
        profile = parsed.get("profile")
        if (
            media == "application/ld+json"
            and profile is not None
            and AS_PROFILE not in profile.split()
        ):
            continue
        return True
    return False


def _q_is_zero(value: str) -> bool:
    try:
        return float(value) == 0.0
    except ValueError:
        return False
