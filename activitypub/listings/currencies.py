"""ISO 4217 currencies: which codes exist, their minor unit, and how FEP-0837 names them.

The table is ISO 4217 List One (the active codes, amendments up to 2025), currencies only: the
fund codes (``BOV``, ``CHE``, ``CHW``, ``CLF``, ``COU``, ``MXV``, ``USN``, ``UYI``, ``UYW``),
precious metals (``XAU``...), ``XDR``, ``XSU``, ``XUA``, the bond-market units (``XBA``...),
``XTS`` and ``XXX`` are left out: nobody lends a drill for them. Withdrawn codes (``HRK``,
``CUC``, ``SLL``, ``ZWL``, ``ANG``) are left out too.

FEP-0837 and Valueflows name a currency as a *resource specification* (``resourceConformsTo``),
not as a unit: the FEP's own example pays 30 of ``https://www.wikidata.org/wiki/Q4917`` (the
US dollar) with ``hasUnit: "one"``, and Epicyon (``src/shares.py`` ``_currency_to_wikidata``)
does the same. We send those Wikidata IRIs for the currencies below whose item we could check
in two independent sources, and read them back.
"""

from __future__ import annotations

import re


def _codes(text: str) -> list[str]:
    return text.split()


# code -> number of digits after the decimal point (the minor unit)
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        # Currencies without a minor unit in use.
        _codes("BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF"),
        0,
    ),
    **dict.fromkeys(_codes("BHD IQD JOD KWD LYD OMR TND"), 3),
    **dict.fromkeys(
        _codes(
            """AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN
        BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
        GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR
        LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD
        PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN
        SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VED VES WST XCD XCG YER ZAR
        ZMW ZWG"""
        ),
        2,
    ),
}

# Wikidata items, each checked in two sources (Epicyon's table and another, independent one).
_WIKIDATA: dict[str, str] = {
    "EUR": "Q4916",
    "USD": "Q4917",
    "GBP": "Q25224",
    "CHF": "Q25344",
    "JPY": "Q8146",
    "CAD": "Q1104069",
    "CNY": "Q39099",
    "CZK": "Q131016",
    "HUF": "Q47190",
    "ISK": "Q131473",
    "PLN": "Q123213",
    "RON": "Q131645",
    "SEK": "Q122922",
}
_BY_ITEM = {item: code for code, item in _WIKIDATA.items()}
# The forms a Wikidata item's IRI is written in: the page (what the FEP and Epicyon send) and
# the entity (what RDF tools write).
_WIKIDATA_IRI = re.compile(r"https?://(?:www\.)?wikidata\.org/(?:wiki|entity)/(Q[1-9][0-9]{0,11})")

CODE = re.compile(r"[A-Z]{3}")


def is_currency(code: str) -> bool:
    """Whether ``code`` is an active ISO 4217 currency code (upper case, as ISO writes it)."""
    return code in _EXPONENTS


def exponent(code: str) -> int:
    """The number of decimal places of the currency's minor unit (2 for EUR, 0 for JPY).

    Raises ``KeyError`` for a code that :func:`is_currency` refuses.
    """
    return _EXPONENTS[code]


def currency_iri(code: str) -> str | None:
    """The Wikidata IRI FEP-0837 readers know the currency by, when we have it."""
    item = _WIKIDATA.get(code)
    return f"https://www.wikidata.org/wiki/{item}" if item else None


def currency_of_iri(iri: str) -> str | None:
    """The ISO 4217 code of a currency named by its Wikidata IRI, or ``None``."""
    found = _WIKIDATA_IRI.fullmatch(iri.strip())
    return _BY_ITEM.get(found.group(1)) if found else None
