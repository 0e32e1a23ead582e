"""What a post carries that the community limits: links, mentions, filtered words.

Pure functions over text; :mod:`moderation.filters` keeps the filters and what they caught.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from moderation.errors import InvalidFilter
from moderation.models import FilterAction

MAX_PHRASE = 200

# http(s) URLs and bare "www." hosts: what a reader can follow.
_LINK = re.compile(r"(?:https?://|www\.)[^\s<>\"']+", re.IGNORECASE)
# @name or @name@host, not inside an e-mail address (no word character just before the @).
_MENTION = re.compile(r"(?<![\w@/])@([\w.-]+(?:@[\w-]+(?:\.[\w-]+)+)?)", re.UNICODE)


def count_links(text: str, hrefs: Iterable[str] = ()) -> int:
    """How many distinct links ``text`` (plain text) and ``hrefs`` (its HTML's link targets)
    carry: a link written as its own text counts once."""
    found = {m.group(0).rstrip(".,;:!?)").lower() for m in _LINK.finditer(text)}
    found.update(h.strip().lower() for h in hrefs if h.strip())
    return len({_without_scheme(link) for link in found})


def count_mentions(text: str, tagged: Iterable[str] = ()) -> int:
    """How many distinct accounts ``text`` mentions with ``@``, or ``tagged`` names (the
    ``Mention`` tags of an ActivityPub object, by their ``href``)."""
    handles = {m.group(1).rstrip(".").lower() for m in _MENTION.finditer(text)}
    return len(handles) + len({t for t in tagged if t})


def _without_scheme(link: str) -> str:
    for prefix in ("https://", "http://"):
        if link.startswith(prefix):
            link = link[len(prefix) :]
    return link.rstrip("/")


def normalise_phrase(phrase: str) -> str:
    """A filter's phrase as stored: trimmed, inner spaces collapsed; ``InvalidFilter`` when
    nothing is left or it is longer than :data:`MAX_PHRASE`."""
    cleaned = " ".join(phrase.split())
    if not cleaned:
        raise InvalidFilter("the phrase is empty")
    if len(cleaned) > MAX_PHRASE:
        raise InvalidFilter(f"the phrase is longer than {MAX_PHRASE} characters")
    return cleaned


@dataclass(frozen=True)
class FilterHit:
    """The filter a text matched: its phrase and what it does."""

    phrase: str
    action: FilterAction
    # a limit exceeded rather than a filter's phrase
    limit: bool = False

    @property
    def reason(self) -> str:
        """What the moderators' queue says caught it."""
        return self.phrase if self.limit else f"filter: {self.phrase}"


class FilterSet:
    """The community's filters, compiled: whole words or phrases, any case, any spacing.

    When several match, ``hold`` wins over ``hide``: the stricter one decides.
    """

    def __init__(self, filters: Iterable[tuple[str, FilterAction]]) -> None:
        self._filters = [
            (phrase, action, _pattern(phrase))
            for phrase, action in sorted(filters, key=lambda f: f[1] is not FilterAction.HOLD)
        ]

    def __bool__(self) -> bool:
        return bool(self._filters)

    def match(self, *texts: str) -> FilterHit | None:
        """The first filter (``hold`` ones first) that any of ``texts`` matches."""
        for phrase, action, pattern in self._filters:
            if any(pattern.search(text) for text in texts if text):
                return FilterHit(phrase, action)
        return None


def _pattern(phrase: str) -> re.Pattern[str]:
    # Whole words: no word character right before or after; any run of spaces between words.
    words = [re.escape(word) for word in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


_HREF = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


def hrefs_of(html: str) -> list[str]:
    """The link targets of ``html`` (sanitised HTML, whose attributes nh3 has normalised)."""
    return [next(g for g in m.groups() if g is not None) for m in _HREF.finditer(html)]


def mentioned(obj: object) -> list[str]:
    """The ``href`` of each ``Mention`` tag of an ActivityPub object (a tag may be one object
    or a list; anything else is ignored)."""
    if not isinstance(obj, dict):
        return []
    tags = obj.get("tag")
    if isinstance(tags, dict):
        tags = [tags]
    if not isinstance(tags, list):
        return []
    return [
        str(tag["href"])[:2048]
        for tag in tags[:1000]
        if isinstance(tag, dict)
        and tag.get("type") == "Mention"
        and isinstance(tag.get("href"), str)
    ]
