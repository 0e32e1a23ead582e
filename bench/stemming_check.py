"""Should SQLite's listing index stem English words (FTS5 ``porter``)? What it gains and loses
on the benchmark's generated listings, measured rather than guessed.

    .venv/bin/python bench/stemming_check.py [--listings 50000]

Two in-memory FTS5 tables over the same ``index_fields`` of generated listings, one with
``porter unicode61 remove_diacritics 2`` and one without, queried the way search queries
(every word quoted, the last one a prefix). For every word of the generator's vocabulary:

* gains: its English plural or singular (``bikes`` for ``bike``, ``chairs`` for ``chair``)
  and its French plural, as a whole word, matching listings only porter finds;
* losses as people type: every prefix of the word from 2 characters, and the listings
  the plain prefix finds that porter does not (porter stems the prefix itself: ``baby`` is
  ``babi``, which no longer begins ``babysitting``);
* French words porter folds together that are different words (a whole word matching
  listings that do not hold it, nor its plural).
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from listing_corpus import ADJECTIVES, THINGS, generate

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from node.listings.folding import index_fields, terms  # noqa: E402


def build(listings: int) -> tuple[sqlite3.Connection, dict[str, set[int]]]:
    """The two tables, and each listing's words (the truth to compare with)."""
    conn = sqlite3.connect(":memory:")
    for name, tokenizer in (("plain", ""), ("porter", "porter ")):
        conn.execute(
            f"CREATE VIRTUAL TABLE {name} USING fts5(t, tokenize="
            f"'{tokenizer}unicode61 remove_diacritics 2', detail=none)"
        )
    words: dict[str, set[int]] = {}
    rows = []
    for n, g in enumerate(generate(listings, 7, datetime(2026, 12, 1, tzinfo=UTC))):
        text = index_fields(g.title, g.description)
        rows.append((n, text))
        for word in text.split():
            words.setdefault(word, set()).add(n)
    for name in ("plain", "porter"):
        conn.executemany(f"INSERT INTO {name}(rowid, t) VALUES (?, ?)", rows)  # noqa: S608
    return conn, words


def found(conn: sqlite3.Connection, table: str, query: str) -> set[int]:
    sql = f"SELECT rowid FROM {table} WHERE {table} MATCH ?"  # noqa: S608 - two fixed names
    return {row[0] for row in conn.execute(sql, (query,))}


def vocabulary() -> tuple[list[str], list[str]]:
    """The generator's French and English words of four letters or more."""
    french, english = set(), set()
    for fr, en in THINGS.values():
        french.update(w for thing in fr for w in terms(thing) if len(w) >= 4)
        english.update(w for thing in en for w in terms(thing) if len(w) >= 4)
    french.update(w for a in ADJECTIVES[0] for w in terms(a) if len(w) >= 4)
    english.update(w for a in ADJECTIVES[1] for w in terms(a) if len(w) >= 4)
    return sorted(french), sorted(english)


def variant(word: str) -> str:
    """The plural of a singular, the singular of a plural (the naive rule of both languages)."""
    return word[:-1] if word.endswith("s") else f"{word}s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listings", type=int, default=50_000)
    args = parser.parse_args(argv)
    conn, words = build(args.listings)
    french, english = vocabulary()
    report: list[str] = []
    for language, vocab in (("French", french), ("English", english)):
        gained = gained_words = 0
        lost = lost_prefixes = prefixes = 0
        wrong = wrong_words = 0
        for word in vocab:
            other = variant(word)
            quoted = f'"{other}"'
            extra = found(conn, "porter", quoted) - found(conn, "plain", quoted)
            rightly = extra & words.get(word, set())
            gained += len(rightly)
            gained_words += bool(rightly)
            # whole word: listings porter finds that hold neither the word nor its variant
            whole = f'"{word}"'
            beyond = found(conn, "porter", whole) - words.get(word, set()) - words.get(other, set())
            wrong += len(beyond)
            wrong_words += bool(beyond)
            for k in range(2, len(word) + 1):
                prefix = f'"{word[:k]}"*'
                missing = found(conn, "plain", prefix) - found(conn, "porter", prefix)
                prefixes += 1
                lost += len(missing)
                lost_prefixes += bool(missing)
        report += [
            f"{language}: {len(vocab)} words",
            f"  gains, the other number of a word (plural/singular): {gained_words} words "
            f"find {gained:,} more listings that hold the word",
            f"  losses as people type: {lost_prefixes} of {prefixes} prefixes find fewer "
            f"({lost:,} listings missed)",
            f"  wrong matches, a whole word finding listings that hold neither it nor its "
            f"other number: {wrong_words} words, {wrong:,} listings",
        ]
    print(f"stemming check over {args.listings:,} generated listings")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
