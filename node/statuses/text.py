"""A member's status text as HTML: escaped, with its links, mentions and hashtags marked up
the way Mastodon marks them (so every app and server styles them as it does its own).

Members write plain text; nothing of theirs is taken as markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass

# A mention: @user or @user@host, not inside a word or an e-mail address. The host is dotted
# labels (a name or an IPv4 address) with an optional port; a sentence's last dot is not in it.
MENTION = re.compile(
    r"(?<![\w@/])@([a-zA-Z0-9_]{1,30}(?:[.-][a-zA-Z0-9_]{1,30}){0,3})"
    r"(?:@([a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+(?::\d{1,5})?))?"
)
# A hashtag: letters, digits and underscores, at least one letter (not "#1").
HASHTAG = re.compile(r"(?<![\w#&/])#(\w*[^\W\d_]\w*)")
URL = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_TOKEN = re.compile(f"{URL.pattern}|{MENTION.pattern}|{HASHTAG.pattern}")


@dataclass(frozen=True)
class Parsed:
    """What a status text names."""

    handles: list[str]  # "user" or "user@host", as written
    tags: list[str]  # lower case, no '#'


def parse(text: str) -> Parsed:
    """The handles and hashtags of ``text`` (each once, in order)."""
    handles: list[str] = []
    tags: list[str] = []
    for match in _TOKEN.finditer(text):
        if match.group(1):
            handle = match.group(1) + (f"@{match.group(2)}" if match.group(2) else "")
            if handle not in handles:
                handles.append(handle)
        elif match.group(3):
            tag = match.group(3).lower()
            if tag not in tags:
                tags.append(tag)
    return Parsed(handles, tags)


def to_html(text: str, mentions: Mapping[str, str], tag_url: str) -> str:
    """``text`` as HTML: paragraphs and line breaks, links, the mentions whose handle is in
    ``mentions`` (handle -> actor id), and hashtags linking to ``tag_url`` + tag."""

    def line(raw: str) -> str:
        out: list[str] = []
        last = 0
        for match in _TOKEN.finditer(raw):
            out.append(html.escape(raw[last : match.start()]))
            last = match.end()
            whole = match.group(0)
            if match.group(1):
                handle = match.group(1) + (f"@{match.group(2)}" if match.group(2) else "")
                actor = mentions.get(handle)
                if actor is None:
                    out.append(html.escape(whole))
                    continue
                out.append(
                    f'<span class="h-card" translate="no"><a href="{html.escape(actor)}" '
                    f'class="u-url mention">@<span>{html.escape(match.group(1))}</span></a>'
                    "</span>"
                )
            elif match.group(3):
                tag = match.group(3)
                out.append(
                    f'<a href="{html.escape(tag_url + tag.lower())}" class="mention hashtag" '
                    f'rel="tag">#<span>{html.escape(tag)}</span></a>'
                )
            else:
                href = html.escape(whole)
                out.append(
                    f'<a href="{href}" target="_blank" rel="nofollow noopener noreferrer" '
                    f'translate="no">{href}</a>'
                )
        out.append(html.escape(raw[last:]))
        return "".join(out)

    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(
        "<p>" + "<br>".join(line(part) for part in p.strip().split("\n")) + "</p>"
        for p in paragraphs
    )
