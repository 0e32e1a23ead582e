"""ActivityPub media types and content negotiation for documents we serve."""

from __future__ import annotations

ACTIVITY_JSON = "application/activity+json"
LD_JSON_PROFILE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
JRD_JSON = "application/jrd+json"
AS_PROFILE = "https://www.w3.org/ns/activitystreams"

# Media types for which we answer with the ActivityStreams document.
_JSON_TYPES = {ACTIVITY_JSON, "application/ld+json", "application/json", "*/*", "application/*"}


def wants_activity_json(accept: str | None) -> bool:
    """Whether an ``Accept`` header admits an ActivityStreams JSON document.

    Missing header, ``*/*``, ``application/json``, ``application/activity+json`` and
    ``application/ld+json`` (with the ActivityStreams profile or none) are accepted; anything
    else (``text/html`` alone, an ld+json with another profile, ``q=0``) is not.
    """
    if accept is None or not accept.strip():
        return True
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        media = media.lower()
        if media not in _JSON_TYPES:
            continue
        parsed = {}
        for param in params:
            key, _, value = param.partition("=")
            parsed[key.strip().lower()] = value.strip().strip('"')
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
