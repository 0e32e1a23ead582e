"""Translations: the gettext catalogues under ``locale/``, compiled in memory at start-up, and
the choice of a visitor's language."""

from __future__ import annotations

import gettext
import io
from importlib import resources

from aiohttp import web
from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from node.config import CommunitySettings

# PAGE_LANGUAGES: the languages the pages are written in (shared with the members' language
# setting); a community may list others (for its content), but a page is only ever shown in
# one of these. Re-exported here, where the pages look for it.
from node.languages import PAGE_LANGUAGES

__all__ = [
    "MEMBER_LANGUAGE",
    "PAGE_LANGUAGES",
    "choose_language",
    "load_catalogues",
    "page_languages",
]

# The logged-in member's language setting ("" follows the browser), put on the request by
# node.web.common.current_session when it finds the member's session.
MEMBER_LANGUAGE = web.RequestKey("quartier_web_member_language", str)


def load_catalogues() -> dict[str, gettext.GNUTranslations]:
    """Every page language's catalogue, read from its ``messages.po`` and compiled in memory:
    no build step and no committed ``.mo`` that could fall behind the ``.po``."""
    catalogues: dict[str, gettext.GNUTranslations] = {}
    locale_dir = resources.files("node.web") / "locale"
    for language in PAGE_LANGUAGES:
        source = locale_dir / language / "LC_MESSAGES" / "messages.po"
        with source.open("rb") as po_file:
            catalogue = read_po(po_file, locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalogue)
        compiled.seek(0)
        catalogues[language] = gettext.GNUTranslations(compiled)
    return catalogues


def page_languages(community: CommunitySettings) -> list[str]:
    """The languages a page may be shown in, the community's own first (in its order)."""
    first = [lang for lang in community.languages if _base(lang) in PAGE_LANGUAGES]
    ordered = [_base(lang) for lang in first] + list(PAGE_LANGUAGES)
    return list(dict.fromkeys(ordered))


def choose_language(request: web.Request, community: CommunitySettings) -> str:
    """The language of the page: the member's own setting, else the visitor's
    ``Accept-Language`` among the page languages, else the community's first language that
    pages are written in, else English."""
    own = request.get(MEMBER_LANGUAGE)
    if own in PAGE_LANGUAGES:
        return own
    available = page_languages(community)
    wanted = _accept_language(request.headers.get("Accept-Language", ""))
    if wanted:
        # Babel matches "fr-CA" to "fr" and the like; "-" as Accept-Language writes it.
        chosen = Locale.negotiate(wanted, available, sep="-")
        if chosen is not None:
            return _base(str(chosen))
    return available[0]


def _accept_language(header: str) -> list[str]:
    """The header's languages, most wanted first; q=0 means "not this one"."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")[:20]):  # a sane bound on what we parse
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*" or len(tag) > 35:
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            ranked.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(ranked)]


def _base(language: str) -> str:
    try:
        return Locale.parse(language.replace("-", "_")).language
    except (UnknownLocaleError, ValueError):
        return language.split("-")[0].split("_")[0].lower()
