"""Fixtures of the browser tests: one Chromium per test module, a new browser context (cookies,
language, window size) per test, a real node per test.

Chromium is Debian's (``/usr/bin/chromium``, or ``QUARTIER_CHROMIUM``), driven by Playwright's
Python client; Playwright's own browser download is never used. axe-core comes from npm
(``tests/browser/package.json``, installed by ``./run tests`` with ``npm ci``). A missing
Chromium or axe-core FAILS the browser tests with the command that installs it: a suite that
silently skips its browser tests would pass on a machine that checks nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser.live import LiveNode
from tests.browser.support import AXE, LOOKS, Look, Watcher

CHROMIUM = Path(os.environ.get("QUARTIER_CHROMIUM", "/usr/bin/chromium"))
COMMUNITY = {
    "name": "Les Tilleuls",
    "description": "Residence of 120 flats around a courtyard.",
    "area": "Lyon 7e",
    "languages": ["fr", "en"],
}


# One Chromium per test module (in each test process), not per session: between its calls,
# Playwright's synchronous API leaves its own event loop marked as running in the thread, so
# the suite's asyncio tests cannot run while a browser is open. A module-scoped fixture is
# closed before pytest moves on to another module; starting Chromium takes about a second.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium, started once per test module."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: the browser tests need it. Install it "
            "with 'sudo apt-get install chromium' (Debian, Ubuntu), or set QUARTIER_CHROMIUM "
            "to another Chromium's executable.",
            pytrace=False,
        )
    if not AXE.exists():
        pytest.fail(
            f"axe-core is missing ({AXE}): './run tests' installs it, or run "
            "'npm ci --prefix tests/browser' (npm is needed).",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveNode]:
    """A real node on 127.0.0.1 for this test, stopped at its end."""
    node = LiveNode(
        tmp_path / "node",
        community=COMMUNITY,
    ).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(params=LOOKS, ids=str)
def look(request: pytest.FixtureRequest) -> Look:
    """Each test using it runs in French and English, at phone and desktop width."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def context(browser: Browser, live: LiveNode, look: Look) -> Iterator[BrowserContext]:
    """A fresh browser profile on the node, in ``look``'s language and window size, with
    axe-core loaded in every page it opens."""
    ctx = browser.new_context(
        base_url=live.base,
        locale=look.locale,
        viewport={"width": look.width, "height": look.height},
    )
    # An init script is added through the DevTools protocol, not as a <script> of the page:
    # the pages' Content-Security-Policy (script-src 'self') stays in force and still blocks
    # anything inline the pages might carry, which add_script_tag or bypass_csp would hide.
    ctx.add_init_script(path=str(AXE))
    ctx.set_default_timeout(10_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A tab in ``context``; at the end of the test, no script error and no Content-Security-
    Policy violation may have happened in it."""
    tab = context.new_page()
    watcher = Watcher(tab)
    yield tab
    watcher.assert_quiet()
