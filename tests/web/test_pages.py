"""The web pages a visitor and a member see: languages, escaping, headers, static files."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime

from federation.models import Partnership, PartnershipState
from node.db import activated
from node.http.keys import DATABASE
from tests.api import PASSWORD, admin_token, bearer, member_token
from tests.web.support import log_in_by_form

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
FRENCH = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}


async def test_the_front_page_speaks_english_by_default_and_french_when_asked(node):
    english = await node.get("/")
    assert english.status == 200
    page = await english.text()
    assert '<html lang="en">' in page
    assert "How to join" in page
    assert 'href="#main"' in page  # the skip link
    french = await node.get("/", headers=FRENCH)
    page = await french.text()
    assert '<html lang="fr">' in page
    assert "Comment nous rejoindre" in page
    assert "Se connecter" in page
    assert french.headers["Content-Language"] == "fr"


async def test_a_language_nobody_wrote_the_pages_in_falls_back_to_the_community_s_first(
    make_settings, make_node
):
    node = await make_node(make_settings(community={"languages": ["fr", "en"]}))
    page = await (await node.get("/login", headers={"Accept-Language": "de, ja;q=0.5"})).text()
    assert '<html lang="fr">' in page
    assert "Nom d\u2019utilisateur" in page
    # Asked for, English wins over the community's first language.
    page = await (await node.get("/about", headers={"Accept-Language": "en-GB"})).text()
    assert '<html lang="en">' in page
    assert "Languages: French, English" in page


async def test_the_about_page_in_french(node):
    page = await (await node.get("/about", headers=FRENCH)).text()
    assert "Les vrais noms des membres ne quittent jamais ce nœud." in page
    assert "Annonces, après leur expiration ou leur retrait : 90 jours." in page
    assert "Langues : anglais" in page  # the community's languages, named in French
    assert "Messages : conservés jusqu\u2019à leur suppression." in page
    # The role names too, not the English ones.
    assert "publiés par : administrateur, gestionnaire." in page


async def test_community_text_is_escaped_on_every_page(make_settings, make_node):
    settings = make_settings(
        community={
            "name": "<script>alert(1)</script>",
            "description": "<img src=x onerror=y>",
            "area": '"><b>area</b>',
        }
    )
    node = await make_node(settings)
    for path in ("/", "/about", "/login", "/static/nope.css"):
        page = await (await node.get(path)).text()
        assert "<script>" not in page, path
        assert "<img" not in page, path
        assert "<b>area" not in page, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path


async def test_html_pages_carry_the_security_headers_and_the_json_api_keeps_its_own(node):
    for path in ("/", "/about", "/login", "/static/missing.css"):
        resp = await node.get(path)
        assert resp.content_type == "text/html", path
        assert resp.headers["Content-Security-Policy"] == CSP, path
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Referrer-Policy"] == "same-origin"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Cache-Control"] == "no-store"
    api = await node.get("/api/quartier/v1/governance")
    assert api.content_type == "application/json"
    assert "Content-Security-Policy" not in api.headers


async def test_no_page_loads_anything_from_another_host(node):
    page = await (await node.get("/")).text()
    assert "http://" not in page.replace("http://127.0.0.1:8080", "")
    assert "https://" not in page
    assert "<script" not in page
    assert "style=" not in page  # the CSP refuses inline styles


async def test_static_files_are_served_with_their_type_and_a_long_cache(node):
    page = await (await node.get("/")).text()
    assert "/static/quartier.css?v=" in page
    assert "/static/vendor/pico/pico.min.css?v=" in page
    for path in ("/static/quartier.css", "/static/vendor/pico/pico.min.css"):
        resp = await node.get(path)
        assert resp.status == 200
        assert resp.content_type == "text/css"
        assert resp.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    licence = await node.get("/static/vendor/pico/LICENSE.md")
    assert "MIT" in await licence.text()


async def test_static_files_are_gzipped_for_browsers_that_accept_it(node):
    path = "/static/vendor/pico/pico.min.css"
    plain = await node.get(path, headers={"Accept-Encoding": "identity"})
    raw = await plain.read()
    assert "Content-Encoding" not in plain.headers
    assert plain.headers["Vary"] == "Accept-Encoding"
    for accept in ("gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "*"):
        packed = await node.get(path, headers={"Accept-Encoding": accept}, auto_decompress=False)
        body = await packed.read()
        assert packed.headers["Content-Encoding"] == "gzip"
        assert len(body) < len(raw) / 4
        assert gzip.decompress(body) == raw
    refused = await node.get(path, headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    # Pages are not compressed: their CSRF token next to a visitor's text is what BREACH needs.
    page = await node.get("/login", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in page.headers


async def test_a_missing_static_file_is_a_404_page_without_a_trace(node):
    # Only the files read at start-up are reachable: a name is looked up, never opened.
    for path in ("/static/nope.css", "/static/vendor/pico/", "/static/vendor/pico/../../setup.py"):
        resp = await node.get(path)
        assert resp.status == 404, path
        page = await resp.text()
        assert "Page not found" in page
        assert "Traceback" not in page
        assert "import" not in page
    french = await node.get("/static/nope.css", headers=FRENCH)
    assert "Page introuvable" in await french.text()


async def test_a_member_s_home_shows_the_current_notices(node):
    ada = await admin_token(node, "ada")
    await member_token(node, ada, "bea")
    notice = {"kind": "outage", "title": "Lift <b>out</b> of order", "text": "Building B"}
    resp = await node.post("/api/quartier/v1/notices", json=notice, headers=bearer(ada))
    assert resp.status == 201, await resp.text()
    node.session.cookie_jar.clear()  # the API logins above set their session cookies
    await log_in_by_form(node, "bea", PASSWORD)
    page = await (await node.get("/")).text()
    assert "Welcome, bea" in page
    assert "Lift &lt;b&gt;out&lt;/b&gt; of order" in page
    assert "Log out" in page
    assert "Published Nov 26, 2026" in page  # the test clock's date, as English writes it
    french = await (await node.get("/", headers=FRENCH)).text()
    assert "Bienvenue, bea" in french
    assert "Publié le 26 nov. 2026" in french


async def test_the_about_page_names_the_partner_communities(node):
    # Only partnerships in force: a request waiting for an answer or one that ended is not a
    # partner the community vouches for.
    now = datetime.now(UTC)
    with activated(node.app[DATABASE]):
        for host, state in (
            ("b.example", PartnershipState.ACTIVE),
            ("c.example", PartnershipState.REQUESTED),
            ("d.example", PartnershipState.ENDED),
        ):
            await Partnership.create(
                peer_actor=f"https://{host}/actor",
                peer_host=host,
                peer_inbox=f"https://{host}/inbox",
                initiated_by_us=True,
                state=state,
                follow_activity_id=f"https://{host}/follows/1",
                follow_activity={},
                created_at=now,
                updated_at=now,
            )
    page = await (await node.get("/about")).text()
    assert "Partner communities" in page
    assert "b.example" in page
    assert "c.example" not in page
    assert "d.example" not in page


async def test_the_about_page_says_when_there_is_no_partner_yet(node):
    page = await (await node.get("/about", headers=FRENCH)).text()
    assert "Communautés partenaires" in page
    assert "Pas encore de communauté partenaire." in page
