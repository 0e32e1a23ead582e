"""What every browser test checks on the pages it visits: axe-core finds no serious or critical
accessibility violation, the keyboard reaches the skip link first and sees where the focus is,
the page fits the phone's width, and no script error or Content-Security-Policy violation
happened."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, ConsoleMessage, Error, Page

from tests.browser.live import LiveNode

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
SESSION_COOKIE = "quartier_session"
# Violations a page must never have; "moderate" and "minor" ones are reported by axe but
# are matters of judgement (e.g. a landmark's uniqueness) rather than barriers.
BLOCKING = ("serious", "critical")


@dataclass(frozen=True)
class Look:
    """A language and a window size a page is seen in."""

    lang: str  # the page language expected: "fr" or "en"
    width: int
    height: int

    @property
    def locale(self) -> str:
        """The browser's locale; Chromium sends it as Accept-Language."""
        return {"fr": "fr-FR", "en": "en-GB"}[self.lang]

    def __str__(self) -> str:
        return f"{self.lang}-{self.width}"


PHONE = (390, 844)
DESKTOP = (1280, 800)
LOOKS = [Look(lang, *size) for lang in ("fr", "en") for size in (PHONE, DESKTOP)]


def log_in_as(context: BrowserContext, live: LiveNode, token: str) -> None:
    """Give ``context`` the session of ``token`` (from the API's login), as if the member had
    logged in with the form: for tests about a page, not about logging in."""
    context.add_cookies([{"name": SESSION_COOKIE, "value": token, "url": live.base}])


def assert_accessible(page: Page) -> None:
    """axe-core (WCAG 2 A and AA rules, and best practices) finds nothing serious or critical
    on the page as it is now; the message lists each violation with the elements at fault."""
    results: dict[str, Any] = page.evaluate(
        """async () => axe.run(document, {
            runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                            "wcag22aa", "best-practice"]},
            resultTypes: ["violations"],
        })"""
    )
    blocking = [v for v in results["violations"] if v["impact"] in BLOCKING]
    assert not blocking, f"accessibility violations on {page.url}:\n" + "\n".join(
        _describe(violation) for violation in blocking
    )


def _describe(violation: dict[str, Any]) -> str:
    lines = [f"- {violation['id']} ({violation['impact']}): {violation['help']}"]
    for node in violation["nodes"][:5]:
        lines.append(f"    {json.dumps(node['target'])}: {node['html'][:200]}")
        summary = (node.get("failureSummary") or "").replace("\n", " ")
        lines.append(f"      {summary[:300]}")
    lines.append(f"    see {violation['helpUrl']}")
    return "\n".join(lines)


def assert_fits_width(page: Page) -> None:
    """Nothing sticks out sideways: at phone width, no horizontal scrolling is needed."""
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the window"


def assert_skip_link_first(page: Page) -> None:
    """The first Tab reaches the "skip to content" link, shown and with a visible focus ring;
    following it moves the focus to the main content."""
    page.locator("body").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate(
        """() => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            const box = el.getBoundingClientRect();
            return {cls: el.className, href: el.getAttribute("href"),
                    outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
                    shadow: style.boxShadow, width: box.width, height: box.height,
                    top: box.top, left: box.left};
        }"""
    )
    assert focused["cls"] == "skip-link", f"the first Tab reached {focused}"
    assert min(focused["width"], focused["height"]) > 0, f"skip link not shown: {focused}"
    assert min(focused["top"], focused["left"]) >= 0, f"skip link off screen: {focused}"
    ring = focused["outline"] != "none" and focused["outlineWidth"] > 0
    assert ring or focused["shadow"] not in ("", "none"), f"no visible focus style: {focused}"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"


def check_page(page: Page) -> None:
    """The checks every page visited in a flow gets."""
    assert_accessible(page)
    assert_fits_width(page)


class Watcher:
    """Collects a tab's uncaught script errors and Content-Security-Policy violations."""

    def __init__(self, page: Page) -> None:
        self.problems: list[str] = []
        page.on("pageerror", self._error)
        page.on("console", self._console)

    def _error(self, error: Error) -> None:
        self.problems.append(f"script error: {error.message}")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.problems.append(f"CSP violation: {message.text}")

    def assert_quiet(self) -> None:
        """No script error, no CSP violation."""
        assert not self.problems, "\n".join(self.problems)
