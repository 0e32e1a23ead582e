"""Neighbours at work in a real browser, in French and English, at phone and desktop width:
publishing a listing with a photo and finding it, answering it and accepting the answer,
writing to each other, a manager verifying a member from a proof of residence, and a
resident reporting a listing that a moderator then hides. Every page on the way is checked
(axe-core, width, no script error or CSP violation).

The flows share one node per test module (and per test process): starting a node costs more
than a flow, and each look (language and width) gets members of its own, so the flows do not see
each other's listings, conversations or proofs.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from tests.api import bearer
from tests.browser.conftest import COMMUNITY
from tests.browser.live import LiveNode
from tests.browser.support import AXE, Look, Watcher, check_page, log_in_as

WORDS = {
    "fr": {
        "accepted": "Acceptée",
        "unread": "1 non lu",
        "sent": "Votre justificatif de domicile est envoyé",
        "verified": "Vous êtes un voisin vérifié.",
        "reported": "Merci, les modérateurs",
    },
    "en": {
        "accepted": "Accepted",
        "unread": "1 unread",
        "sent": "Your proof of residence is sent",
        "verified": "You are a verified neighbour.",
        "reported": "Thank you, the moderators will look at it.",
    },
}


def png(colour: tuple[int, int, int], size: tuple[int, int] = (64, 48)) -> bytes:
    """A small PNG of one colour: a photo or a scanned proof for the upload forms."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNode]:
    """One node for every flow of this module (in this test process)."""
    node = LiveNode(tmp_path_factory.mktemp("flows") / "node", community=COMMUNITY).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def admin(world: LiveNode) -> str:
    """The node's admin (registered once per module)."""
    return world.admin()


Opener = Callable[[str], Page]


@pytest.fixture
def open_as(browser: Browser, world: LiveNode, look: Look) -> Iterator[Opener]:
    """``open_as(token)``: a tab in a browser profile of its own, logged in as that member, in
    ``look``; at the end, none of the tabs may have had a script error or a CSP violation."""
    contexts, watchers = [], []

    def open_tab(token: str) -> Page:
        ctx = browser.new_context(
            base_url=world.base,
            locale=look.locale,
            viewport={"width": look.width, "height": look.height},
        )
        ctx.add_init_script(path=str(AXE))
        ctx.set_default_timeout(10_000)
        log_in_as(ctx, world, token)
        contexts.append(ctx)
        tab = ctx.new_page()
        watchers.append(Watcher(tab))
        return tab

    yield open_tab
    for ctx in contexts:
        ctx.close()
    for watcher in watchers:
        watcher.assert_quiet()


def set_role(world: LiveNode, admin: str, username: str, role: str) -> None:
    """Give a member a staff role through the admin API."""

    async def step(client: TestClient) -> None:
        resp = await client.patch(
            f"/api/quartier/v1/admin/members/{username}", json={"role": role}, headers=bearer(admin)
        )
        assert resp.status == 200, await resp.text()

    world.call(step)


def listing_id(page: Page) -> str:
    """The id of the listing whose page is open."""
    found = re.search(r"/listings/(\d+)$", page.url)
    assert found, page.url
    return found.group(1)


def test_publishing_answering_and_talking(
    world: LiveNode, admin: str, open_as: Opener, look: Look, tmp_path: Path
):
    """A resident publishes a listing with a photo and finds it by its title; a neighbour
    answers it; the author accepts; they write to each other."""
    words = WORDS[look.lang]
    author, neighbour = f"bea{look.lang}{look.width}", f"cyd{look.lang}{look.width}"
    bea = world.member(admin, author, display_name=f"Béa {look}")
    cyd = world.member(admin, neighbour, display_name=f"Cyd {look}")
    title = f"Perceuse à percussion {look}"
    photo = tmp_path / "drill.png"
    photo.write_bytes(png((200, 80, 40)))

    # a. Publishing with a photo.
    page = open_as(bea)
    page.goto("/listings/new")
    check_page(page)
    page.locator("#kind").select_option("lend")
    page.locator("#title").fill(title)
    page.locator("#description").fill("Avec deux batteries et un jeu de forets.")
    page.locator("#category").select_option("tools")
    page.locator("#duration_days").fill("3")
    page.locator("#alt_1").fill("Une perceuse orange sur un établi")
    page.locator("#photo_1").set_input_files(str(photo))
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/listings/\d+$"))
    expect(page.locator("h1")).to_have_text(title)
    expect(page.locator(".listing-photos img")).to_have_attribute(
        "alt", "Une perceuse orange sur un établi"
    )
    check_page(page)
    number = listing_id(page)

    # Found by its title on /listings.
    page.goto("/listings")
    check_page(page)
    page.locator("#q").fill(title)
    page.locator("#q").press("Enter")
    card = page.locator(".listing-card", has_text=title)
    expect(card).to_have_count(1)
    expect(card.locator("img")).to_have_attribute("alt", "Une perceuse orange sur un établi")
    check_page(page)

    # b. A neighbour answers it.
    other = open_as(cyd)
    other.goto(f"/listings/{number}")
    expect(other.locator("h1")).to_have_text(title)
    check_page(other)
    other.locator("#message").fill("Je peux la prendre samedi matin ?")
    other.locator(f"form[action='/listings/{number}/respond'] button[type=submit]").click()
    expect(other.locator("#answers")).to_contain_text("Je peux la prendre samedi matin ?")
    check_page(other)

    # The author is told (a new notification linking to the listing), follows it, sees the
    # answer and accepts it.
    page.goto("/notifications")
    told = page.locator("li.unread").filter(has=page.locator(f"a[href='/listings/{number}']"))
    expect(told).to_have_count(1)
    check_page(page)
    told.locator(f"a[href='/listings/{number}']").click()
    expect(page.locator("h1")).to_have_text(title)
    answer = page.locator("#answers li", has_text="Je peux la prendre samedi matin ?")
    expect(answer).to_be_visible()
    check_page(page)
    answer.locator("form[action$='/accept'] button").click()
    expect(page.locator("#answers li").first).to_contain_text(words["accepted"])
    check_page(page)
    other.reload()
    expect(other.locator("#answers")).to_contain_text(words["accepted"])

    # c. They write to each other.
    page.goto(f"/messages/new?to={neighbour}")
    expect(page.locator("#to")).to_have_value(neighbour)
    check_page(page)
    page.locator("#text").fill("Parfait, à samedi 10 h devant le local vélos.")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/messages/\d+"))
    expect(page.locator("ol.messages")).to_contain_text("à samedi 10 h")
    check_page(page)
    conversation = re.sub(r"[#?].*$", "", page.url)

    other.goto("/messages")
    unread = other.locator("li.unread", has_text="à samedi 10 h")
    expect(unread).to_contain_text(words["unread"])
    check_page(other)
    unread.locator("h2 a").click()
    expect(other.locator("ol.messages")).to_contain_text("Parfait, à samedi 10 h")
    check_page(other)
    other.locator("#text").fill("Merci ! Je passe à 10 h.")
    other.locator("#reply button[type=submit]").click()
    expect(other.locator("ol.messages")).to_contain_text("Merci ! Je passe à 10 h.")

    page.goto("/messages")
    expect(page.locator("li.unread", has_text="Je passe à 10 h")).to_contain_text(words["unread"])
    check_page(page)
    page.goto(conversation)
    expect(page.locator("ol.messages")).to_contain_text("Merci ! Je passe à 10 h.")
    check_page(page)
    # Read now: no longer counted as unread.
    page.goto("/messages")
    expect(page.locator("li.unread", has_text="Je passe à 10 h")).to_have_count(0)


def test_a_manager_verifies_a_member_from_a_proof(
    world: LiveNode, admin: str, open_as: Opener, look: Look, tmp_path: Path
):
    """A member sends a proof of residence; a manager looks at it and approves; the member
    is verified."""
    words = WORDS[look.lang]
    username, manager = f"dan{look.lang}{look.width}", f"eve{look.lang}{look.width}"
    dan = world.member(admin, username, real_name=f"Daniel {look}")
    eve = world.member(admin, manager)
    set_role(world, admin, manager, "manager")
    proof = tmp_path / "bill.png"
    proof.write_bytes(png((240, 240, 230), (120, 160)))

    page = open_as(dan)
    page.goto("/verification")
    check_page(page)
    page.locator("#file").set_input_files(str(proof))
    page.locator("form[action='/verification/proof'] button[type=submit]").click()
    expect(page.get_by_role("status")).to_contain_text(words["sent"])
    check_page(page)

    staff = open_as(eve)
    staff.goto("/staff")
    check_page(staff)
    staff.goto("/staff/verification")
    check_page(staff)
    staff.get_by_role("link", name=f"@{username}").click()
    expect(staff).to_have_url(re.compile(r"/staff/verification/\d+$"))
    expect(staff.locator("img.proof")).to_be_visible()
    # The image really loaded (the document route answers it to an <img>).
    assert staff.locator("img.proof").evaluate("img => img.naturalWidth") == 120
    check_page(staff)
    staff.locator("form[action$='/approve'] button[type=submit]").click()
    expect(staff).to_have_url(re.compile(r"/staff/verification$"))
    expect(staff.get_by_role("link", name=f"@{username}")).to_have_count(0)
    check_page(staff)

    # The member is told, and the notification leads to /verification, which says so.
    page.goto("/notifications")
    check_page(page)
    page.locator("li.unread a[href='/verification']").first.click()
    expect(page.locator("#my-status ~ p strong").first).to_have_text(words["verified"])
    check_page(page)


def test_reporting_a_listing_and_a_moderator_hiding_it(
    world: LiveNode, admin: str, open_as: Opener, look: Look
):
    """A resident reports a listing from its page; a moderator opens the report and hides
    the listing; other members no longer see it."""
    words = WORDS[look.lang]
    suffix = f"{look.lang}{look.width}"
    seller, reporter, moderator = f"fay{suffix}", f"gus{suffix}", f"hal{suffix}"
    fay = world.member(admin, seller)
    gus = world.member(admin, reporter)
    hal = world.member(admin, moderator)
    set_role(world, admin, moderator, "moderator")
    title = f"Montre de luxe à 20 € {look}"
    listing = world.post(
        fay, "/api/quartier/v1/listings", {"kind": "give", "title": title, "category": "tools"}
    )
    number = listing["id"]

    page = open_as(gus)
    page.goto(f"/listings/{number}")
    expect(page.locator("h1")).to_have_text(title)
    page.locator(f"a[href='/listings/{number}/report']").click()
    expect(page).to_have_url(re.compile(rf"/listings/{number}/report$"))
    check_page(page)
    # Sent without a reason: the form again, the comment kept, the error by the reasons.
    page.locator("#comment").fill("Une arnaque évidente.")
    page.locator("#category-fraud").evaluate("radio => radio.form.noValidate = true")
    page.locator("main form button[type=submit]").click()
    expect(page.locator("#category-error")).to_be_visible()
    expect(page.locator("#comment")).to_have_value("Une arnaque évidente.")
    check_page(page)
    page.locator("#category-fraud").check()
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(rf"/listings/{number}\?reported"))
    expect(page.get_by_role("status")).to_contain_text(words["reported"])
    check_page(page)

    staff = open_as(hal)
    staff.goto("/staff/reports")
    check_page(staff)
    row = staff.locator("tr", has_text=seller)
    expect(row).to_have_count(1)
    row.locator("a").click()
    expect(staff.locator("main dl")).to_contain_text("Une arnaque évidente.")
    expect(staff.locator("main dl")).to_contain_text(f"@{reporter}")
    check_page(staff)
    report = re.sub(r"^.*/staff/reports/(\d+).*$", r"\1", staff.url)
    staff.locator("#action").select_option("hide")
    staff.locator("input[name=target][value=content]").check()
    staff.locator("#decide-reason").fill("Annonce frauduleuse.")
    staff.locator(f"form[action='/staff/reports/{report}/decide'] button").click()
    expect(staff.locator(f"a[href='/staff/reports/{report}']")).to_have_count(0)
    check_page(staff)

    # Hidden: the listing's page is the 404 page and the search no longer finds it.
    response = page.goto(f"/listings/{number}")
    assert response is not None
    assert response.status == 404
    check_page(page)
    page.goto("/listings")
    page.locator("#q").fill(title)
    page.locator("#q").press("Enter")
    expect(page.locator(".listing-card", has_text=title)).to_have_count(0)
    check_page(page)


# The members' and staff pages no flow above reaches, seen by an admin (who may open them all).
OTHER_PAGES = [
    "/",
    "/listings/mine",
    "/listings/new",
    "/messages/new",
    "/searches",
    "/settings",
    "/settings/sessions",
    "/settings/password",
    "/staff/invites",
    "/staff/members",
    "/staff/reports?state=resolved",
    "/staff/audit",
    "/staff/partnerships",
    "/staff/blocks",
    "/staff/governance",
]


def test_the_other_member_and_staff_pages_are_accessible(
    world: LiveNode, admin: str, open_as: Opener, look: Look
):
    """Every page passes the checks in every look (all failures are listed at once)."""
    page = open_as(admin)
    failures = []
    for path in OTHER_PAGES:
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, f"{path}: {response.status}"
        expect(page.locator("html")).to_have_attribute("lang", look.lang)
        try:
            check_page(page)
        except AssertionError as failure:
            failures.append(str(failure))
    assert not failures, "\n".join(failures)
