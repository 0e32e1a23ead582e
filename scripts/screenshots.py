"""Screenshots of the web pages, in French and English, at phone and desktop width.

    .venv/bin/python scripts/screenshots.py [PAGE ...]

starts a node with demo data (a community, a few members, notices) on 127.0.0.1, opens every
page of ``PAGES`` in Chromium (Debian's, as the browser tests) and saves
``docs/screenshots/<page>-<lang>-<width>.png``: the window only, not the whole scrolling page,
in 64 colours, to keep the files small. Naming pages takes only those. A new page is one more
line in ``PAGES`` (and its demo data in ``seed``, if it needs any).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # the tests' live node and seeding helpers

from aiohttp.test_utils import TestClient  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM  # noqa: E402
from tests.browser.live import LiveNode  # noqa: E402
from tests.browser.support import LOOKS, log_in_as  # noqa: E402
from tests.node.media_support import uploaded  # noqa: E402
from tests.node.verification_support import upload_document  # noqa: E402

OUT = REPO / "docs" / "screenshots"


@dataclass(frozen=True)
class Shot:
    """A page to photograph: its name in the file name, its path, and who looks at it (a
    username from ``seed``, or None for a visitor)."""

    name: str
    path: str  # may name ids from ``seed``: "/messages/{conversation}"
    who: str | None = None


PAGES = [
    Shot("front", "/"),
    Shot("about", "/about"),
    Shot("login", "/login"),
    Shot("register", "/register?invite=DEMO-INVITE-CODE"),
    Shot("home", "/", who="bea"),
    Shot("password", "/settings/password", who="bea"),
    Shot("listings", "/listings", who="bea"),
    Shot("listing", "/listings/{drill}", who="david"),
    Shot("listing-new", "/listings/new", who="bea"),
    Shot("report", "/listings/{drill}/report", who="david"),
    Shot("messages", "/messages", who="bea"),
    Shot("conversation", "/messages/{conversation}", who="chloe"),
    Shot("notifications", "/notifications", who="bea"),
    Shot("settings", "/settings", who="bea"),
    Shot("verification", "/verification", who="bea"),
    Shot("staff", "/staff", who="ada"),
    Shot("staff-verification", "/staff/verification", who="ada"),
    Shot("staff-reports", "/staff/reports", who="ada"),
]

COMMUNITY = {
    "name": "Les Tilleuls",
    "description": (
        "Résidence de 120 logements autour d\u2019une cour plantée de tilleuls, à deux pas "
        "du parc. On s\u2019y prête des outils, on s\u2019y donne des meubles, on s\u2019y "
        "retrouve à la fête de la cour."
    ),
    "area": "Lyon 7e, rue des Tilleuls",
    "languages": ["fr", "en"],
}


def demo_photo() -> bytes:
    """A drawn "photo" for the demo listing: an orange drill on a workbench (a JPEG)."""
    image = Image.new("RGB", (480, 360), (222, 205, 180))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 260, 480, 360), fill=(140, 95, 60))  # the bench
    draw.rounded_rectangle((110, 120, 330, 190), radius=24, fill=(232, 110, 30))  # body
    draw.rectangle((330, 145, 420, 165), fill=(90, 90, 95))  # the bit
    draw.rounded_rectangle((150, 180, 210, 270), radius=12, fill=(40, 40, 45))  # handle
    draw.rectangle((130, 255, 230, 285), fill=(60, 60, 65))  # battery
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def demo_proof() -> bytes:
    """A drawn "scanned bill" for the pending proof of residence (a PNG)."""
    image = Image.new("RGB", (240, 320), (250, 250, 245))
    draw = ImageDraw.Draw(image)
    for y in range(40, 300, 24):
        draw.line((24, y, 216, y), fill=(170, 170, 170), width=3)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def seed(live: LiveNode) -> tuple[dict[str, str], dict[str, int]]:
    """The demo data: an admin, three residents, three notices in force, a few listings (one
    with a photo) with an accepted answer, a conversation, a proof of residence waiting and a
    report. Returns each member's session token by username, and the ids ``PAGES`` names."""
    ada = live.admin("ada")
    tokens = {"ada": ada}
    for username, name, shown in [
        ("bea", "Béatrice Martin", "Béa"),
        ("chloe", "Chloé Durand", "Chloé"),
        ("david", "David Nguyen", "David"),
    ]:
        tokens[username] = live.member(ada, username, real_name=name, display_name=shown)
    now = datetime.now(UTC)
    notices = [
        {
            "kind": "outage",
            "title": "Ascenseur du bâtiment B en panne",
            "text": "Le technicien passe lundi matin. Merci de votre patience.",
            "place": "Bâtiment B",
            "starts_at": now - timedelta(hours=2),
            "ends_at": now + timedelta(days=4),
        },
        {"kind": "event", "title": "Fête de la cour samedi à 18 h", "ends_at": None},
        {"kind": "urgent", "title": "Coupure d\u2019eau demain de 9 h à 11 h", "ends_at": None},
    ]
    for notice in notices:
        body = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in notice.items()}
        live.post(ada, "/api/quartier/v1/notices", {k: v for k, v in body.items() if v is not None})
    ids = seed_listings(live, tokens)
    ids.update(seed_talk(live, tokens))
    return tokens, ids


def seed_listings(live: LiveNode, tokens: dict[str, str]) -> dict[str, int]:
    """Four listings, the drill with a photo; bea's answer to the drill, accepted; a report
    on the watch."""
    photo = live.call(
        lambda client: uploaded(
            client, tokens["chloe"], demo_photo(), "Une perceuse orange posée sur un établi"
        )
    )
    drill = live.post(
        tokens["chloe"],
        "/api/quartier/v1/listings",
        {
            "kind": "lend",
            "title": "Perceuse à percussion",
            "description": "Avec deux batteries et un jeu de forets béton. À rendre propre !",
            "category": "tools",
            "details": {"duration_days": 3},
            "availability": "Le soir après 18 h et le week-end",
            "photos": [photo["id"]],
        },
    )
    for who, listing in [
        ("david", {"kind": "give", "title": "Canapé trois places", "category": "furniture"}),
        (
            "bea",
            {
                "kind": "sell",
                "title": "Vélo enfant 16 pouces",
                "category": "sports",
                "price": {"amount": "35", "currency": "EUR"},
            },
        ),
    ]:
        live.post(tokens[who], "/api/quartier/v1/listings", listing)
    watch = live.post(
        tokens["david"],
        "/api/quartier/v1/listings",
        {
            "kind": "sell",
            "title": "Montre de luxe à 20 €",
            "category": "other",
            "price": {"amount": "20", "currency": "EUR"},
        },
    )
    answer = live.post(
        tokens["bea"],
        f"/api/quartier/v1/listings/{drill['id']}/responses",
        {"message": "Je peux la prendre samedi matin ?"},
    )
    live.post(tokens["chloe"], f"/api/quartier/v1/listings/responses/{answer['id']}/accept", {})
    live.post(
        tokens["bea"],
        "/api/quartier/v1/reports",
        {"listing": watch["id"], "category": "fraud", "comment": "Le prix est trop beau."},
    )
    return {"drill": int(drill["id"])}


def seed_talk(live: LiveNode, tokens: dict[str, str]) -> dict[str, int]:
    """chloe and bea's conversation (bea has unread messages) and david's proof of
    residence, waiting for a manager."""
    first = live.post(
        tokens["chloe"],
        "/api/quartier/v1/conversations",
        {"to": [f"{live.base}/users/bea"], "text": "Bonjour Béa, la perceuse est prête."},
    )
    conversation = int(first["id"])
    live.post(
        tokens["bea"],
        f"/api/quartier/v1/conversations/{conversation}/messages",
        {"text": "Super, merci ! Je passe samedi vers 10 h."},
    )
    live.post(
        tokens["chloe"],
        f"/api/quartier/v1/conversations/{conversation}/messages",
        {"text": "Parfait, à samedi devant le local vélos."},
    )

    async def proof(client: TestClient) -> None:
        resp = await upload_document(
            client, tokens["david"], demo_proof(), "facture.png", "image/png"
        )
        assert resp.status == 201, await resp.text()

    live.call(proof)
    return {"conversation": conversation}


def save_small(png: bytes, path: Path) -> None:
    """Save a screenshot in 64 colours: a page of text and flat colours looks the same, and
    the file is a third of the size (the PNGs live in the repository)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(64).save(path, optimize=True)


def main() -> None:
    """Start the demo node, take the screenshots, stop the node."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="*", help="names of pages to take (default: all)")
    wanted = set(parser.parse_args().pages)
    shots = [shot for shot in PAGES if not wanted or shot.name in wanted]
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="quartier-screens-") as directory:
        live = LiveNode(Path(directory) / "node", community=COMMUNITY).start()
        try:
            tokens, ids = seed(live)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
                for look in LOOKS:
                    for shot in shots:
                        context = browser.new_context(
                            base_url=live.base,
                            locale=look.locale,
                            viewport={"width": look.width, "height": look.height},
                        )
                        if shot.who:
                            log_in_as(context, live, tokens[shot.who])
                        page = context.new_page()
                        page.goto(shot.path.format(**ids))
                        path = OUT / f"{shot.name}-{look}.png"
                        save_small(page.screenshot(), path)
                        context.close()
                        print(path.relative_to(REPO))
                browser.close()
        finally:
            live.stop()


if __name__ == "__main__":
    main()
