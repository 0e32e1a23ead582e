"""A neighbour's account in a real browser, in French and English, at phone and desktop width:
registering from an invite link, logging out and in (with the keyboard only), changing the
password. Every page on the way is checked (axe-core, width)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.api import PASSWORD
from tests.browser.live import LiveNode
from tests.browser.support import Look, check_page, log_in_as

NEW_PASSWORD = "a brand new passphrase"
WORDS = {
    "fr": {
        "welcome": "Bienvenue",
        "log out": "Se déconnecter",
        "log in": "Se connecter",
        "password changed": "Votre mot de passe est changé",
        "change password": "Changer votre mot de passe",
    },
    "en": {
        "welcome": "Welcome",
        "log out": "Log out",
        "log in": "Log in",
        "password changed": "Your password is changed",
        "change password": "Change your password",
    },
}


def home(live: LiveNode) -> re.Pattern[str]:
    """The home page's URL (where a login or a registration lands)."""
    return re.compile(re.escape(live.base) + r"/$")


def test_registering_from_an_invite_link(page: Page, live: LiveNode, look: Look):
    words = WORDS[look.lang]
    code = live.invite(live.admin())
    page.goto(f"/register?invite={code}")
    expect(page.locator("#invite")).to_have_value(code)
    check_page(page)
    page.locator("#username").fill("bea")
    page.locator("#real_name").fill("Béatrice Martin")
    page.locator("#display_name").fill("Béa")
    page.locator("#password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(home(live))
    expect(page.locator("h1")).to_have_text(f"{words['welcome']}, Béa")
    check_page(page)


def test_logging_out_and_in_again_with_the_keyboard(page: Page, live: LiveNode, look: Look):
    words = WORDS[look.lang]
    log_in_as(page.context, live, live.member(live.admin(), "bea", display_name="Béa"))
    page.goto("/")
    expect(page.locator("h1")).to_contain_text(words["welcome"])
    page.get_by_role("button", name=words["log out"]).click()
    # Logged out: the front page, with a link to log in instead of the button.
    expect(page.get_by_role("button", name=words["log out"])).to_have_count(0)
    page.get_by_role("link", name=words["log in"]).first.click()
    expect(page.locator("h1")).to_have_text(words["log in"])
    check_page(page)
    page.locator("#username").focus()
    page.keyboard.type("bea")
    page.keyboard.press("Tab")
    expect(page.locator("#password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(home(live))
    expect(page.locator("h1")).to_have_text(f"{words['welcome']}, Béa")


def test_a_wrong_password_is_said_next_to_the_form(page: Page, live: LiveNode, look: Look):
    live.member(live.admin(), "bea")
    page.goto("/login")
    page.locator("#username").fill("bea")
    page.locator("#password").fill("not the password")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page.locator("#username")).to_have_value("bea")
    expect(page.locator("#password")).to_have_value("")
    check_page(page)


def test_changing_the_password(page: Page, live: LiveNode, look: Look):
    words = WORDS[look.lang]
    log_in_as(page.context, live, live.member(live.admin(), "bea", display_name="Béa"))
    page.goto("/")
    page.get_by_role("link", name=words["change password"]).click()
    expect(page.locator("h1")).to_have_text(words["change password"])
    check_page(page)
    page.locator("#current_password").fill(PASSWORD)
    page.locator("#new_password").fill(NEW_PASSWORD)
    page.locator("#confirmation").fill(NEW_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_role("status")).to_contain_text(words["password changed"])
    check_page(page)
    # The new password is the one that works from now on.
    page.get_by_role("button", name=words["log out"]).click()
    page.goto("/login")
    page.locator("#username").fill("bea")
    page.locator("#password").fill(NEW_PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(home(live))
    expect(page.locator("h1")).to_contain_text(words["welcome"])
