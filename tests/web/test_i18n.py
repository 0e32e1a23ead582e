"""The catalogues are complete, and the visitor's language is chosen as docs/web.md says."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest
from babel.messages.pofile import read_po
from jinja2.ext import babel_extract

from node.config import CommunitySettings
from node.web.i18n import PAGE_LANGUAGES, _accept_language, page_languages

WEB = Path(__file__).resolve().parents[2] / "node" / "web"


def template_messages() -> set[str]:
    """Every message the templates translate (what pybabel extract would find)."""
    found: set[str] = set()
    for template in sorted((WEB / "templates").rglob("*.html")):
        with template.open("rb") as source:
            for _, _, message, _ in babel_extract(
                source, ("_", "gettext", "ngettext"), [], {"extensions": "jinja2.ext.i18n"}
            ):
                found.add(message if isinstance(message, str) else message[0])
    return found


@pytest.mark.parametrize("language", PAGE_LANGUAGES)
def test_every_message_of_the_templates_is_translated(language):
    path = WEB / "locale" / language / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as source:
        catalogue = read_po(source, locale=language)
    translated = {}
    for message in catalogue:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = [message.string] if isinstance(message.string, str) else message.string
        translated[key] = all(strings) and not message.fuzzy
    needed = template_messages()
    assert needed - set(translated) == set(), "run pybabel update (docs/web.md)"
    assert [m for m in needed if not translated[m]] == []
    assert set(translated) - needed == set(), "messages no template uses any more"


def test_every_template_autoescapes():
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB / "templates"), autoescape=True)
    for name in env.list_templates():
        assert "autoescape false" not in (WEB / "templates" / name).read_text(), name
        assert "|safe" not in (WEB / "templates" / name).read_text().replace(" ", ""), name


def test_accept_language_is_read_by_quality():
    assert _accept_language("en;q=0.5, fr-CA, de;q=0") == ["fr-CA", "en"]
    assert _accept_language("*, nonsense;q=x") == []
    assert _accept_language("") == []


def test_the_page_languages_put_the_community_s_first():
    community = CommunitySettings(languages=("fr-BE", "nl", "en"))
    assert page_languages(community) == ["fr", "en"]
    assert page_languages(CommunitySettings(languages=("de",))) == ["en", "fr"]
