"""The listings' pages: browse and search, a listing, publish with photos, edit, close,
answer; each calls the API's services, so what they do is checked through the API."""

from __future__ import annotations

import logging
import os
import re

import pytest

from tests.api import bearer
from tests.node.media_support import jpeg
from tests.web.listings_support import (
    ORIGIN,
    PASSWORD,
    browse_as,
    end_sessions,
    listing_form,
    new_listing,
    page_token,
    stored,
    two_members,
)
from tests.web.support import csrf_of

FRENCH = {"Accept-Language": "fr"}
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
async def tokens(node) -> tuple[str, str]:
    """ada and bea are members; ada is logged in in the browser."""
    ada, bea = await two_members(node)
    await browse_as(node, "ada")
    return ada, bea


@pytest.mark.parametrize(
    "path", ["/listings/new", "/listings/mine", "/listings/1/edit"]
)  # browsing and a listing's page: tests/web/test_public_listings.py
async def test_a_visitor_is_sent_to_log_in(node, path):
    resp = await node.get(path, allow_redirects=False)
    assert resp.status == 303
    assert resp.headers["Location"].startswith("/login?next=")


async def test_a_listing_with_a_photo_is_published_and_shown(node, tokens):
    ada, _ = tokens
    token = await page_token(node, "/listings/new")
    form = listing_form(
        token,
        [(jpeg((320, 240)), "A green armchair by a window", "image/jpeg")],
        kind="sell",
        price_amount="12.50",
        price_currency="EUR",
        availability="Weekday evenings",
    )
    resp = await node.post("/listings/new", data=form, headers=ORIGIN, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    listing_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    # The API sees the same listing, its photo and alt text.
    api = await (
        await node.get(f"/api/quartier/v1/listings/{listing_id}", headers=bearer(ada))
    ).json()
    assert api["title"] == "Green armchair"
    assert api["price"] == {"amount": "12.50", "currency": "EUR"}
    assert api["photos"][0]["description"] == "A green armchair by a window"
    page = await (await node.get(f"/listings/{listing_id}")).text()
    assert 'alt="A green armchair by a window"' in page
    assert "€12.50" in page
    assert "Weekday evenings" in page
    assert "Not verified" in page  # ada's badge, as text
    assert "Edit" in page
    assert "Withdraw this listing" in page
    assert "Answer this listing" not in page  # the author manages, does not answer
    # The photo itself is served to the member.
    thumb = re.search(r'src="http://127\.0\.0\.1:8080(/media/[^"]+)"', page)
    assert thumb is not None
    assert (await node.get(thumb.group(1))).status == 200


async def test_the_listing_page_in_french(node, tokens):
    listing_id = await new_listing(node, kind="sell", price_amount="12.50", price_currency="EUR")
    page = await (await node.get(f"/listings/{listing_id}", headers=FRENCH)).text()
    assert "12,50\xa0€" in page
    assert "Publiée par" in page
    assert "Non vérifié·e" in page


async def test_search_finds_a_listing_by_its_text(node, tokens):
    await new_listing(node, title="Cordless drill", description="With two batteries")
    await new_listing(node, title="Garden chairs")
    page = await (await node.get("/listings", params={"q": "batteries"})).text()
    assert "Cordless drill" in page
    assert "Garden chairs" not in page
    # Empty fields (as a form sends them) are no filter.
    page = await (await node.get("/listings?q=&kind=&category=&local=&sort=newest")).text()
    assert "Cordless drill" in page
    assert "Garden chairs" in page
    page = await (await node.get("/listings", params={"kind": "sell"})).text()
    assert "No listing matches this search." in page


async def test_pages_keep_the_query(node, tokens):
    for n in range(3):
        await new_listing(node, title=f"Plant pot {n}")
    resp = await node.get("/listings", params={"q": "plant", "limit": "2"})
    page = await resp.text()
    found = re.search(r'href="([^"]+)" rel="next"', page)
    assert found is not None
    following = found.group(1).replace("&amp;", "&")
    assert "q=plant" in following
    assert "cursor=" in following
    second = await (await node.get(following)).text()
    assert "Plant pot 0" in second
    assert "Plant pot 2" not in second
    assert 'rel="next"' not in second


async def test_an_invalid_search_says_so(node, tokens):
    resp = await node.get("/listings", params={"kind": "nonsense"})
    assert resp.status == 422
    assert 'role="alert"' in await resp.text()


async def test_the_listings_page_in_french(node, tokens):
    page = await (await node.get("/listings", headers=FRENCH)).text()
    assert "Rechercher" in page
    assert "Voisins vérifiés seulement" in page


# Refused photos: a clear error on the form, what was typed kept, nothing stored


async def test_a_20_megabyte_photo_is_refused_with_the_text_kept(node, tokens):
    token = await page_token(node, "/listings/new")
    big = os.urandom(20 * 1_048_576)
    form = listing_form(token, [(big, "Huge", "image/jpeg")], description="Typed with care")
    resp = await node.post("/listings/new", data=form, headers=ORIGIN)
    assert resp.status == 413
    page = await resp.text()
    assert "This photo is too large: at most 10 MB." in page
    assert 'value="Green armchair"' in page
    assert "Typed with care" in page
    assert 'id="photo_1-error"' in page
    assert await stored(node) == (0, 0)


async def test_a_file_that_is_not_an_image_is_refused(node, tokens):
    token = await page_token(node, "/listings/new")
    form = listing_form(token, [(b"%PDF-1.4 not a photo", "A document", "image/jpeg")])
    resp = await node.post("/listings/new", data=form, headers=ORIGIN)
    assert resp.status == 422
    page = await resp.text()
    assert "This file is not a photo we can read" in page
    assert 'value="Green armchair"' in page
    assert 'value="A document"' in page
    assert await stored(node) == (0, 0)


async def test_an_invalid_field_is_shown_next_to_it(node, tokens):
    token = await page_token(node, "/listings/new")
    form = listing_form(token, title="ab", description="Kept as typed")
    resp = await node.post("/listings/new", data=form, headers=ORIGIN)
    assert resp.status == 422
    page = await resp.text()
    assert 'id="title-error"' in page
    assert 'aria-describedby="title-error"' in page
    assert "Kept as typed" in page
    # a sale without a price: the kind's rule, by the price
    form = listing_form(await page_token(node, "/listings/new"), kind="sell")
    resp = await node.post("/listings/new", data=form, headers=ORIGIN)
    assert resp.status == 422
    assert 'id="price-error"' in await resp.text()
    assert await stored(node) == (0, 0)


async def test_an_invalid_field_in_french(node, tokens):
    token = await page_token(node, "/listings/new")
    resp = await node.post(
        "/listings/new", data=listing_form(token, title="ab"), headers={**ORIGIN, **FRENCH}
    )
    assert resp.status == 422
    assert "Un titre compte de 3 à 200 caractères." in await resp.text()


async def test_script_in_every_field_is_shown_as_text(node, tokens):
    token = await page_token(node, "/listings/new")
    form = listing_form(
        token,
        [(jpeg((64, 64)), SCRIPT, "image/jpeg")],
        title=SCRIPT,
        description=SCRIPT,
        availability=SCRIPT,
    )
    resp = await node.post("/listings/new", data=form, headers=ORIGIN, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    location = resp.headers["Location"]
    for path in (location, "/listings", "/listings/mine", "/", location + "/edit"):
        page = await (await node.get(path)).text()
        assert SCRIPT not in page, path
        assert "&lt;script&gt;" in page, path
    # and in a form shown again with an error
    token = await page_token(node, "/listings/new")
    resp = await node.post(
        "/listings/new", data=listing_form(token, title="ab", description=SCRIPT), headers=ORIGIN
    )
    assert resp.status == 422
    page = await resp.text()
    assert SCRIPT not in page
    assert "&lt;script&gt;" in page


# Forged forms


@pytest.mark.parametrize("token", [None, "wrong"])
async def test_a_listing_without_the_right_token_is_refused(node, tokens, token):
    await page_token(node, "/listings/new")
    form = listing_form(token or "")
    resp = await node.post("/listings/new", data=form, headers=ORIGIN)
    assert resp.status == 403
    assert "text/html" in resp.headers["Content-Type"]
    assert await stored(node) == (0, 0)


async def test_a_listing_from_another_origin_is_refused(node, tokens):
    token = await page_token(node, "/listings/new")
    resp = await node.post(
        "/listings/new", data=listing_form(token), headers={"Origin": "https://evil.example"}
    )
    assert resp.status == 403
    assert await stored(node) == (0, 0)


@pytest.mark.parametrize("action", ["respond", "status", "withdraw", "edit"])
async def test_the_listing_forms_refuse_forgeries(node, tokens, action):
    listing_id = await new_listing(node)
    token = await page_token(node, f"/listings/{listing_id}")
    data = {"csrf_token": "wrong", "status": "done", "message": "hi", **{"title": "Changed"}}
    resp = await node.post(f"/listings/{listing_id}/{action}", data=data, headers=ORIGIN)
    assert resp.status == 403
    data["csrf_token"] = token
    resp = await node.post(
        f"/listings/{listing_id}/{action}", data=data, headers={"Origin": "https://evil.example"}
    )
    assert resp.status == 403
    page = await (await node.get(f"/listings/{listing_id}")).text()
    assert "Green armchair" in page
    assert "Withdrawn" not in page


# A session that ended while the form was filled in


async def test_an_expired_session_keeps_the_typed_listing(node, tokens):
    token = await page_token(node, "/listings/new")
    await end_sessions(node, "ada")
    form = listing_form(token, title="Bread machine", description="Makes a loaf a day")
    resp = await node.post("/listings/new", data=form, headers=ORIGIN)
    assert resp.status == 401
    page = await resp.text()
    assert 'value="Bread machine"' in page
    assert "Makes a loaf a day" in page
    assert 'name="relogin_password"' in page
    assert await stored(node) == (0, 0)
    again = listing_form(
        csrf_of(page),
        title="Bread machine",
        description="Makes a loaf a day",
        relogin_username="ada",
        relogin_password=PASSWORD,
    )
    resp = await node.post("/listings/new", data=again, headers=ORIGIN, allow_redirects=False)
    assert resp.status == 303, await resp.text()
    page = await (await node.get(resp.headers["Location"])).text()
    assert "Bread machine" in page
    assert await stored(node) == (1, 0)


# Editing and closing


async def test_the_author_edits_closes_and_withdraws(node, tokens):
    ada, _ = tokens
    listing_id = await new_listing(node)
    page = await (await node.get(f"/listings/{listing_id}/edit")).text()
    assert 'value="Green armchair"' in page
    form = listing_form(csrf_of(page), title="Blue armchair")
    resp = await node.post(
        f"/listings/{listing_id}/edit", data=form, headers=ORIGIN, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    api = await (
        await node.get(f"/api/quartier/v1/listings/{listing_id}", headers=bearer(ada))
    ).json()
    assert api["title"] == "Blue armchair"
    token = await page_token(node, f"/listings/{listing_id}")
    resp = await node.post(
        f"/listings/{listing_id}/status",
        data={"csrf_token": token, "status": "done"},
        headers=ORIGIN,
        allow_redirects=False,
    )
    assert resp.status == 303
    mine = await (await node.get("/listings/mine")).text()
    assert "Blue armchair" in mine
    assert "Done" in mine
    resp = await node.post(
        f"/listings/{listing_id}/withdraw",
        data={"csrf_token": token},
        headers=ORIGIN,
        allow_redirects=False,
    )
    assert resp.status == 303
    api = await (
        await node.get(f"/api/quartier/v1/listings/{listing_id}", headers=bearer(ada))
    ).json()
    assert api["status"] == "withdrawn"
    assert "Blue armchair" not in await (await node.get("/listings")).text()


async def test_another_member_may_not_edit(node, tokens):
    listing_id = await new_listing(node)
    await browse_as(node, "bea")
    resp = await node.get(f"/listings/{listing_id}/edit")
    assert resp.status == 403
    page = await resp.text()
    assert "text/html" in resp.headers["Content-Type"]
    assert "Traceback" not in page
    token = await page_token(node, f"/listings/{listing_id}")
    for action, data in (("edit", listing_form(token, title="Mine now")), ("withdraw", None)):
        resp = await node.post(
            f"/listings/{listing_id}/{action}",
            data=data or {"csrf_token": token},
            headers=ORIGIN,
        )
        assert resp.status == 403
    page = await (await node.get(f"/listings/{listing_id}")).text()
    assert "Green armchair" in page
    assert "Edit" not in page


async def test_a_missing_listing_is_a_404_page(node, tokens):
    resp = await node.get("/listings/999999")
    assert resp.status == 404
    assert "text/html" in resp.headers["Content-Type"]


# Answering


async def test_another_member_answers_a_listing(node, tokens):
    ada, _ = tokens
    listing_id = await new_listing(node)
    await browse_as(node, "bea")
    page = await (await node.get(f"/listings/{listing_id}")).text()
    assert "Answer this listing" in page
    resp = await node.post(
        f"/listings/{listing_id}/respond",
        data={"csrf_token": csrf_of(page), "message": f"I'd love it {SCRIPT}"},
        headers=ORIGIN,
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    # The author sees it through the API, as a pending response.
    resp = await node.get(f"/api/quartier/v1/listings/{listing_id}/responses", headers=bearer(ada))
    (response,) = await resp.json()
    assert response["state"] == "pending"
    assert response["message"] == f"I'd love it {SCRIPT}"
    page = await (await node.get(f"/listings/{listing_id}")).text()
    assert "Waiting for an answer" in page
    assert "Answer this listing" not in page  # answered once
    assert SCRIPT not in page
    # ... and on the pages, escaped, with the answer waiting on the home page.
    await browse_as(node, "ada")
    page = await (await node.get(f"/listings/{listing_id}")).text()
    assert "Waiting for an answer" in page
    assert "&lt;script&gt;" in page
    assert SCRIPT not in page
    home = await (await node.get("/")).text()
    assert "an answer to your listing" in home


async def test_answering_twice_is_refused_on_the_page(node, tokens):
    listing_id = await new_listing(node)
    await browse_as(node, "bea")
    for status in (303, 409):
        token = await page_token(node, f"/listings/{listing_id}")
        resp = await node.post(
            f"/listings/{listing_id}/respond",
            data={"csrf_token": token, "message": "Again"},
            headers=ORIGIN,
            allow_redirects=False,
        )
        assert resp.status == status
    page = await resp.text()
    assert 'id="message-error"' in page


async def test_an_answer_after_the_session_ended(node, tokens):
    listing_id = await new_listing(node)
    await browse_as(node, "bea")
    token = await page_token(node, f"/listings/{listing_id}")
    await end_sessions(node, "bea")
    data = {"csrf_token": token, "message": "Still interested"}
    resp = await node.post(f"/listings/{listing_id}/respond", data=data, headers=ORIGIN)
    assert resp.status == 401
    page = await resp.text()
    assert "Still interested" in page
    assert "Green armchair" not in page  # the listing is not shown to a visitor
    data = {
        "csrf_token": csrf_of(page),
        "message": "Still interested",
        "relogin_username": "bea",
        "relogin_password": PASSWORD,
    }
    resp = await node.post(
        f"/listings/{listing_id}/respond", data=data, headers=ORIGIN, allow_redirects=False
    )
    assert resp.status == 303


# Home


async def test_home_shows_new_listings_in_both_languages(node, tokens):
    await new_listing(node, title="Kettle")
    home = await (await node.get("/")).text()
    assert "New in the neighbourhood" in home
    assert "Kettle" in home
    assert "No listings from partners yet." in home
    home = await (await node.get("/", headers=FRENCH)).text()
    assert "Nouveau dans le quartier" in home


async def test_a_price_typed_the_french_way(node, tokens):
    ada, _ = tokens
    token = await page_token(node, "/listings/new")
    form = listing_form(token, kind="sell", price_amount="1 250,50", price_currency="EUR")
    resp = await node.post(
        "/listings/new", data=form, headers={**ORIGIN, **FRENCH}, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    listing_id = resp.headers["Location"].rsplit("/", 1)[1]
    api = await (
        await node.get(f"/api/quartier/v1/listings/{listing_id}", headers=bearer(ada))
    ).json()
    assert api["price"] == {"amount": "1250.50", "currency": "EUR"}


async def test_verified_only_leaves_out_unverified_authors(node, tokens):
    await new_listing(node, title="Ladder")
    page = await (await node.get("/listings", params={"verified": "true"})).text()
    assert "Ladder" not in page
    assert 'name="verified" type="checkbox" value="true" checked' in page


async def test_the_form_uploads_with_progress_when_scripts_run(node, tokens):
    page = await (await node.get("/listings/new")).text()
    assert 'enctype="multipart/form-data"' in page
    assert "data-upload" in page
    assert "<progress" in page
    script = re.search(r'src="(/static/js/upload\.js\?v=[0-9a-f]+)"', page)
    assert script is not None
    resp = await node.get(script.group(1))
    assert resp.status == 200
    assert "XMLHttpRequest" in await resp.text()


async def test_an_edit_removes_a_photo_not_kept(node, tokens):
    ada, _ = tokens
    token = await page_token(node, "/listings/new")
    form = listing_form(token, [(jpeg((64, 64)), "Side view", "image/jpeg")])
    resp = await node.post("/listings/new", data=form, headers=ORIGIN, allow_redirects=False)
    listing_id = resp.headers["Location"].rsplit("/", 1)[1]
    page = await (await node.get(f"/listings/{listing_id}/edit")).text()
    assert 'name="keep"' in page
    assert 'value="Green armchair"' in page
    resp = await node.post(
        f"/listings/{listing_id}/edit",
        data=listing_form(csrf_of(page)),  # "keep" not ticked
        headers=ORIGIN,
        allow_redirects=False,
    )
    assert resp.status == 303, await resp.text()
    api = await (
        await node.get(f"/api/quartier/v1/listings/{listing_id}", headers=bearer(ada))
    ).json()
    assert api["photos"] == []


async def test_the_responder_sees_their_answer_at_home(node, tokens):
    listing_id = await new_listing(node, title="Toaster")
    await browse_as(node, "bea")
    token = await page_token(node, f"/listings/{listing_id}")
    resp = await node.post(
        f"/listings/{listing_id}/respond",
        data={"csrf_token": token, "message": ""},
        headers=ORIGIN,
        allow_redirects=False,
    )
    assert resp.status == 303
    home = await (await node.get("/")).text()
    assert "your answer" in home
    assert "Toaster" in home


async def test_a_visitor_posting_photos_is_refused_before_they_are_read(node):
    form = listing_form("anything", [(os.urandom(1_048_576), "", "image/jpeg")])
    resp = await node.post("/listings/new", data=form, headers=ORIGIN)
    assert resp.status == 403
    assert "text/html" in resp.headers["Content-Type"]
    assert await stored(node) == (0, 0)


async def queries_of(node, path: str, caplog) -> int:
    """How many SQL statements opening ``path`` runs."""
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        resp = await node.get(path)
        assert resp.status == 200
    return len([r for r in caplog.records if r.name == "tortoise.db_client"])


async def test_the_search_page_runs_no_query_per_listing(node, tokens, caplog):
    await new_listing(node, title="Lamp 1")
    await browse_as(node, "bea")
    await new_listing(node, title="Lamp 2")
    await node.get("/listings?q=lamp")  # first request of the session: its bookkeeping
    few = await queries_of(node, "/listings?q=lamp", caplog)
    for n in range(3, 12):
        await new_listing(node, title=f"Lamp {n}")
    await browse_as(node, "ada")
    for n in range(12, 20):
        await new_listing(node, title=f"Lamp {n}")
    await browse_as(node, "bea")
    await node.get("/listings?q=lamp")
    many = await queries_of(node, "/listings?q=lamp", caplog)
    assert "Lamp 19" in await (await node.get("/listings?q=lamp")).text()
    assert many == few


async def test_the_author_accepts_an_answer(node, tokens):
    _, bea = tokens
    listing_id = await new_listing(node, title="Sewing machine")
    resp = await node.post(
        f"/api/quartier/v1/listings/{listing_id}/responses",
        json={"message": "Me!"},
        headers=bearer(bea),
    )
    assert resp.status == 201
    response_id = (await resp.json())["id"]
    page = await (await node.get(f"/listings/{listing_id}")).text()
    assert f'action="/listings/responses/{response_id}/accept"' in page
    resp = await node.post(
        f"/listings/responses/{response_id}/accept",
        data={"csrf_token": csrf_of(page)},
        headers=ORIGIN,
        allow_redirects=False,
    )
    assert resp.status == 303
    assert resp.headers["Location"] == f"/listings/{listing_id}#answers"
    (mine,) = await (
        await node.get("/api/quartier/v1/listings/agreements", headers=bearer(bea))
    ).json()
    assert mine["state"] == "accepted"
    resp = await node.post(
        f"/listings/responses/{response_id}/decline",
        data={"csrf_token": "wrong"},
        headers=ORIGIN,
    )
    assert resp.status == 403


async def test_a_carpool_with_its_details(node, tokens):
    ada, _ = tokens
    fields = {"from": "Market square", "to": "Station", "departure": "2026-12-24T08:30"}
    listing_id = await new_listing(
        node, kind="carpool", category="transport", seats="3", recurrence="weekly", **fields
    )
    api = await (
        await node.get(f"/api/quartier/v1/listings/{listing_id}", headers=bearer(ada))
    ).json()
    assert api["details"]["from"] == "Market square"
    assert api["details"]["seats"] == 3
    assert api["details"]["recurrence"] == "weekly"
    page = await (await node.get(f"/listings/{listing_id}", headers=FRENCH)).text()
    assert "Market square → Station · 24 déc. 2026, 08:30:00 · 3 places" in page
    assert "chaque semaine" in page
    # a carpool without where it goes: the details' error, by the fieldset
    token = await page_token(node, "/listings/new")
    form = listing_form(token, kind="carpool", category="transport", seats="2")
    resp = await node.post("/listings/new", data=form, headers=ORIGIN)
    assert resp.status == 422
    assert 'id="details-error"' in await resp.text()


async def test_my_listings_and_the_edit_form_in_french(node, tokens):
    listing_id = await new_listing(node, title="Raclette set")
    mine = await (await node.get("/listings/mine", headers=FRENCH)).text()
    assert "Mes annonces" in mine
    assert "Raclette set" in mine
    assert "Ouverte" in mine
    edit = await (await node.get(f"/listings/{listing_id}/edit", headers=FRENCH)).text()
    assert "Modifier l\u2019annonce" in edit
    assert "Enregistrer les modifications" in edit


async def test_an_edit_after_the_session_ended(node, tokens):
    listing_id = await new_listing(node)
    token = await page_token(node, f"/listings/{listing_id}/edit")
    await end_sessions(node, "ada")
    form = listing_form(token, title="Red armchair")
    resp = await node.post(f"/listings/{listing_id}/edit", data=form, headers=ORIGIN)
    assert resp.status == 401
    page = await resp.text()
    assert 'value="Red armchair"' in page
    assert f'action="/listings/{listing_id}/edit"' in page
    again = listing_form(
        csrf_of(page), title="Red armchair", relogin_username="ada", relogin_password=PASSWORD
    )
    resp = await node.post(
        f"/listings/{listing_id}/edit", data=again, headers=ORIGIN, allow_redirects=False
    )
    assert resp.status == 303, await resp.text()
    assert "Red armchair" in await (await node.get(f"/listings/{listing_id}")).text()
