"""Text members write: plain text, or a safe subset of HTML, and the plain text of either."""

from __future__ import annotations

import html

import nh3

from activitypub.notes import html_to_text

# What a description may keep: structure and emphasis, links. No images (photos are
# attachments with alt text), no styles, no scripts, no forms.
ALLOWED_TAGS = frozenset(
    {"p", "br", "strong", "b", "em", "i", "u", "ul", "ol", "li", "blockquote", "a", "code", "pre"}
)
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})


def sanitize_html(untrusted: str) -> str:
    """``untrusted`` HTML reduced to the allowed tags and attributes; links get
    ``rel="nofollow noopener noreferrer"`` (ammonia's allow-list, through nh3)."""
    return nh3.clean(
        untrusted,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="nofollow noopener noreferrer",
    )


def text_to_html(text: str) -> str:
    """Plain text as HTML: escaped, a paragraph per blank-line block, line breaks kept."""
    blocks = [b.strip("\n") for b in text.replace("\r\n", "\n").split("\n\n")]
    return "".join(
        "<p>" + html.escape(block).replace("\n", "<br>") + "</p>"
        for block in blocks
        if block.strip()
    )


def rich_text(value: str, *, is_html: bool) -> tuple[str, str]:
    """(safe HTML, plain text) of what a member wrote as HTML or as plain text."""
    safe = sanitize_html(value) if is_html else text_to_html(value)
    return safe, html_to_text(safe)
