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

from PIL import Image  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM  # noqa: E402
from tests.browser.live import LiveNode  # noqa: E402
from tests.browser.support import LOOKS, log_in_as  # noqa: E402

OUT = REPO / "docs" / "screenshots"


@dataclass(frozen=True)
class Shot:
    """A page to photograph: its name in the file name, its path, and who looks at it (a
    username from ``seed``, or None for a visitor)."""

    name: str
    path: str
    who: str | None = None


PAGES = [
    Shot("front", "/"),
    Shot("about", "/about"),
    Shot("login", "/login"),
    Shot("register", "/register?invite=DEMO-INVITE-CODE"),
    Shot("home", "/", who="bea"),
    Shot("password", "/settings/password", who="bea"),
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


def seed(live: LiveNode) -> dict[str, str]:
    """The demo data: an admin, three residents, three notices in force. Returns each
    member's session token by username."""
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
        live.post(ada, "/api/v1/notices", {k: v for k, v in body.items() if v is not None})
    return tokens


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
            tokens = seed(live)
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
                        page.goto(shot.path)
                        path = OUT / f"{shot.name}-{look}.png"
                        save_small(page.screenshot(), path)
                        context.close()
                        print(path.relative_to(REPO))
                browser.close()
        finally:
            live.stop()


if __name__ == "__main__":
    main()
