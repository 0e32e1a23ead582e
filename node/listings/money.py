"""Prices: ISO 4217 currencies, amounts in minor units, and how a price reads in a language."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache

from babel.core import get_global
from babel.numbers import format_currency, get_currency_precision, get_territory_currencies

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
    digits = get_currency_precision(currency)
    minor = amount.scaleb(digits)
    if minor != minor.to_integral_value():
        raise ValueError(f"{currency} has {digits} decimal places")
    if minor > MAX_MINOR:
        raise ValueError("that price is too large")
    return int(minor)


def from_minor(minor: int, currency: str) -> Decimal:
    """The amount of ``minor`` units of ``currency``, with the currency's decimal places."""
    digits = get_currency_precision(currency)
    return Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))


def format_price(minor: int, currency: str, language: str) -> str:
    """How ``language`` writes the price: ``12,50 €`` in French, ``€12.50`` in English."""
    return format_currency(from_minor(minor, currency), currency, locale=language.split("-")[0])
