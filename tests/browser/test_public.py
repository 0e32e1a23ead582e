"""The pages a visitor sees, in both languages, at phone and desktop width: accessible, in the
visitor's language, reachable by keyboard."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import Look, assert_skip_link_first, check_page

# A word of each page's heading, per language: the page came in the browser's language.
PAGES = {
    "/": {"fr": "Les Tilleuls", "en": "Les Tilleuls"},
    "/about": {"fr": "Les Tilleuls", "en": "Les Tilleuls"},
    "/login": {"fr": "Se connecter", "en": "Log in"},
    "/register": {"fr": "S\u2019inscrire", "en": "Register"},
}


@pytest.mark.parametrize("path", list(PAGES))
def test_a_visitors_page_is_accessible_in_the_browsers_language(page: Page, look: Look, path):
    page.goto(path)
    expect(page.locator("html")).to_have_attribute("lang", look.lang)
    expect(page.locator("h1")).to_contain_text(PAGES[path][look.lang])
    check_page(page)


def test_the_keyboard_reaches_the_skip_link_first(page: Page, look: Look):
    page.goto("/")
    assert_skip_link_first(page)
