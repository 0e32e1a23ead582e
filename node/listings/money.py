"""Prices: ISO 4217 currencies, amounts in minor units, and how a price reads in a language.

A currency's minor unit is ISO 4217's, from the table the wire format uses
(:mod:`activitypub.listings.currencies`): what we store in minor units must mean the same
amount when a partner reads it. CLDR (through Babel) says which codes are in use today, and
how French and English write an amount; its "digits" are a display convention (0 for HUF,
where ISO has 2) and never decide what a stored number means.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache

from babel.core import get_global
from babel.numbers import format_currency, get_territory_currencies

from activitypub.listings import currencies as iso4217

MAX_MINOR = 10**12  # a trillion cents: more than any neighbour sells anything for


@cache
def currencies() -> frozenset[str]:
    """The ISO 4217 codes that are legal tender somewhere today (CLDR's data, through Babel):
    historic codes (FRF, DEM) and funds (XAU) are not prices a neighbour asks."""
    today = date.today()
    return frozenset(
        code
        for territory in get_global("territory_currencies")
        for code in get_territory_currencies(territory, today, tender=True)
        if iso4217.is_currency(code)
    )


def to_minor(amount: Decimal, currency: str) -> int:
    """``amount`` in the currency's minor unit (cents for EUR, yen for JPY).

    Raises ValueError, in words a member understands, for an unknown currency, a negative
    amount, more decimals than the currency has, or an absurd amount.
    """
    if currency not in currencies():
        raise ValueError(f"{currency!r} is not an ISO 4217 currency in use (such as EUR, CHF)")
    if not amount.is_finite() or amount < 0:
        raise ValueError("a price cannot be negative")
    digits = iso4217.exponent(currency)
    minor = amount.scaleb(digits)
    if minor != minor.to_integral_value():
        raise ValueError(f"{currency} has {digits} decimal places")
    if minor > MAX_MINOR:
        raise ValueError("that price is too large")
    return int(minor)


def from_minor(minor: int, currency: str) -> Decimal:
    """The amount of ``minor`` units of ``currency``, with the currency's decimal places."""
    digits = iso4217.exponent(currency)
    return Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def format_price(minor: int, currency: str, language: str) -> str:
    """How ``language`` writes the price: ``12,50 €`` in French, ``€12.50`` in English."""
    return format_currency(from_minor(minor, currency), currency, locale=language.split("-")[0])
