"""Flohmarkt's items (codeberg.org/flohmarkt, a fediverse flea market).

An item is a ``Note`` whose ``flohmarkt:data`` holds what Flohmarkt itself reads back
(``flohmarkt/routes/activitypub.py``: ``item_to_note`` sends it, ``create_new_item`` reads only
it): ``name``, ``description`` (plain text), ``price`` (free text: "1 €", "12,50 EUR", "VB",
"zu verschenken"), ``original_id`` and the instance's ``coordinates`` (``lat``, ``lng``). Its
``content`` is the name and description joined by ``<br>``, unescaped; its photos are
``Document`` attachments.
"""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

from activitypub.errors import InvalidPrice, ListingMalformed
from activitypub.listings import currencies
from activitypub.listings.activitystreams import (
    MAX_TITLE,
    read_addresses,
    read_hashtags,
    read_language,
    read_page_url,
    read_photos,
    read_place,
    read_point,
)
from activitypub.listings.terms import Place, Price, ReceivedListing
from activitypub.notes import html_to_text
from activitypub.properties import natural_language, timestamp

FLOHMARKT = "flohmarkt:data"
MAX_TEXT = 20_000


_FREE = re.compile(
    r"\b(free|for free|gratis|umsonst|kostenlos|geschenkt|verschenken?|zu verschenken|"
    r"gratuit|à donner|a donner|donner)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"(?<![\d.,])(\d{1,9})(?:[.,](\d{1,2}))?(?![\d])")
_THOUSANDS = re.compile(r"(?<=\d)[., ](?=\d{3}(?!\d))")
_SYMBOLS = {"€": "EUR", "£": "GBP", "¥": "JPY", "fr.": "CHF", "sfr": "CHF"}


def _free_text_price(value: Any) -> tuple[Price | None, str]:
    """Flohmarkt's free-text price ("1 €", "12,50 EUR", "VB", "zu verschenken") read as a
    price where it names an amount and a currency; otherwise ``None`` and the text itself
    (``None`` and ``""`` when it says the item is free)."""
    if isinstance(value, bool) or value is None:
        return None, ""
    text = html_to_text(str(value), 100) if isinstance(value, str) else str(value)[:100]
    # A separator before three digits is a thousands separator ("1.200 €", "1,200 €",
    # "1 200 €"): cents come in twos.
    number = _NUMBER.search(_THOUSANDS.sub("", text))
    if number is None:
        return (None, "") if not text.strip() or _FREE.search(text) else (None, text)
    amount = Decimal(f"{number.group(1)}.{number.group(2) or '0'}")
    if amount == 0:
        return None, ""
    code = next((c for c in re.findall(r"\b[A-Z]{3}\b", text) if currencies.is_currency(c)), None)
    if code is None:
        lowered = text.lower()
        code = next((c for symbol, c in _SYMBOLS.items() if symbol in lowered), None)
    if code is None:
        return None, text
    try:
        return Price(amount, code), ""
    except InvalidPrice:
        return None, text


def read_flohmarkt(doc: dict[str, Any], listing_id: str, author: str) -> ReceivedListing:
    """A Flohmarkt item (a ``Note`` with ``flohmarkt:data``): with a price it is ``sell``,
    without one (or "zu verschenken") ``give``."""
    data = doc[FLOHMARKT]
    name = data.get("name")
    description = data.get("description")
    # Flohmarkt's own fields are plain text; its ``content`` repeats them unescaped.
    text = description[:MAX_TEXT] if isinstance(description, str) else ""
    description_html = "".join(
        f"<p>{html.escape(line)}</p>" for line in text.splitlines() if line.strip()
    )
    title = html_to_text(name, MAX_TITLE) if isinstance(name, str) else ""
    if not title:
        first_line = text.strip().split("\n")[0][:100]
        title = html_to_text(natural_language(doc, "name"), MAX_TITLE) or first_line
    if not title:
        raise ListingMalformed("the Flohmarkt item has no name and no description")
    price, price_text = _free_text_price(data.get("price"))
    free = price is None and not price_text
    coordinates = data.get("coordinates")
    place = read_place(doc.get("location"))
    if place is None and isinstance(coordinates, dict):
        latitude, longitude = read_point(coordinates.get("lat"), coordinates.get("lng"))
        place = (
            Place(name="", latitude=latitude, longitude=longitude) if latitude is not None else None
        )
    return ReceivedListing(
        id=listing_id,
        author=author,
        kind="give" if free else "sell",
        purpose="offer",
        title=title,
        description_html=description_html,
        description_text=html_to_text(description_html, MAX_TEXT),
        published=timestamp(doc.get("published")),
        shape="flohmarkt",
        price=None if free else price,
        price_text="" if free else price_text,
        place=place,
        photos=read_photos(doc),
        updated=timestamp(doc.get("updated")),
        url=read_page_url(doc.get("url")),
        to=read_addresses(doc.get("to")),
        cc=read_addresses(doc.get("cc")),
        hashtags=read_hashtags(doc.get("tag")),
        language=read_language(doc),
    )
