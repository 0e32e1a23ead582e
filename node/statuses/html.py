"""Remote HTML reduced to what Mastodon keeps of it, and the plain text of a status.

Mastodon sanitises every remote status with its ``MASTODON_STRICT`` configuration
(mastodon/mastodon ``lib/sanitize_ext/sanitize_config.rb``): apps render that subset and
nothing else, so it is what we keep too, with nh3 (ammonia) doing the parsing:

* elements ``p br span a del s pre blockquote code b strong u i em ul ol li ruby rt rp``;
  anything else is unwrapped (its text stays), ``script``, ``style`` and ``template`` go with
  their content;
* attributes ``lang`` anywhere, ``href class translate`` on ``a``, ``class translate`` on
  ``span``, ``class`` on ``p``, ``start reversed`` on ``ol``, ``value`` on ``li``;
* classes: microformats (``h-``, ``p-``, ``u-``, ``dt-``, ``e-``), ``mention``, ``hashtag``,
  ``ellipsis``, ``invisible`` and ``quote-inline``; ``translate`` only as ``no``;
* links get ``rel="nofollow noopener"`` and ``target="_blank"``; a link whose scheme is not
  one of ``LINK_PROTOCOLS`` (or that is relative) becomes its text;
* headings ``h1``..``h6`` become a paragraph in ``strong``.
"""

from __future__ import annotations

import re

import nh3

from activitypub.notes import html_to_text

ELEMENTS = frozenset(
    {
        "p", "br", "span", "a", "del", "s", "pre", "blockquote", "code", "b", "strong", "u",
        "i", "em", "ul", "ol", "li", "ruby", "rt", "rp",
    }
)  # fmt: skip
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
ATTRIBUTES = {
    "*": {"lang"},
    "a": {"href", "class", "translate"},
    "span": {"class", "translate"},
    "ol": {"start", "reversed"},
    "li": {"value"},
    "p": {"class"},
}
LINK_PROTOCOLS = frozenset(
    {"http", "https", "dat", "dweb", "ipfs", "ipns", "ssb", "gopher", "xmpp", "magnet", "gemini"}
)
DROPPED_WITH_CONTENT = frozenset({"script", "style", "template"})
MAX_HTML = 100_000  # what a status may hold: longer input is cut before parsing
_CLASS = re.compile(r"^(?:(?:h|p|u|dt|e)-.+|mention|hashtag|ellipsis|invisible|quote-inline)$")
_HEADING_OPEN = re.compile(r"<h[1-6](\s[^>]*)?>")
_HEADING_CLOSE = re.compile(r"</h[1-6]>")
# In nh3's own (well-formed, attribute-quoted) output: a link left without an ``href``.
_DEAD_LINK = re.compile(r"<a(?![^>]*\shref=)[^>]*>(.*?)</a>", re.DOTALL)


def _attribute(element: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        kept = [c for c in value.split() if _CLASS.match(c)]
        return " ".join(kept) or None
    if attribute == "translate":
        return value if value == "no" else None
    return value


def _cleaner(tags: set[str]) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=tags,
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        attribute_filter=_attribute,
        url_schemes=set(LINK_PROTOCOLS),
        url_relative="deny",
        link_rel="nofollow noopener",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )


_FIRST = _cleaner(set(ELEMENTS | HEADINGS))
# The second pass only re-normalises what the first produced (headings made paragraphs).
_SECOND = _cleaner(set(ELEMENTS))


def sanitize(untrusted: str) -> str:
    """``untrusted`` remote HTML as Mastodon keeps it (see the module's docstring)."""
    if not untrusted:
        return ""
    cleaned = _FIRST.clean(untrusted[:MAX_HTML])
    cleaned = _HEADING_OPEN.sub(r"<p><strong\1>", cleaned)
    cleaned = _HEADING_CLOSE.sub("</strong></p>", cleaned)
    cleaned = _DEAD_LINK.sub(r"\1", cleaned)
    return _SECOND.clean(cleaned).strip()


def plain_text(html: str, limit: int = 5000) -> str:
    """The text of a status's HTML, for search and notifications: no markup, line breaks
    between paragraphs, mentions and hashtags as written."""
    return html_to_text(html, limit)
