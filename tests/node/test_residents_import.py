"""``quartier verification import``: a residents' list against a real database, through the
real CLI.

The large test generates 10,000 rows group by group, each row with the outcome its group
implies (written down as it is generated, never asked of the matcher), creates the members in
bulk with the ORM (one key pair for all: registration's argon2 would take minutes), and checks
the CLI's counts, who became verified, and that nothing of the file was kept.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import pty
import random
import re
import subprocess
import time
import unicodedata
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from activitypub.keys import generate_actor_keys
from node.db import activated, open_database
from node.errors import ValidationFailed
from node.members.models import Member, Verification, VerificationMethod
from node.notifications.models import Notification
from node.verification.models import VerificationEvent
from node.verification.residents import (
    Outcome,
    Registered,
    ResidentRow,
    match_residents,
    name_key,
    read_residents,
    unit_key,
)
from tests.conftest import migrate_schema
from tests.node.cli_support import QUARTIER, TIMEOUT, Run, failed, ok

MARKER_NAME = "Zqxmarkerseven"  # a word no generated name has, in an unmatched row
MARKER_UNIT = "ZQX-MARKER-7f3a"
FIRST_NAMES = [
    "Zoé",
    "Hélène",
    "Jérôme",
    "François",
    "Noël",
    "Anaïs",
    "Loïc",
    "Maëlle",
    "Chloé",
    "Céline",
    "Agnès",
    "Thérèse",
    "Clément",
    "Gaëtan",
    "Léa",
    "Inès",
    "Joël",
    "Mélanie",
    "Benoît",
    "Aurélie",
    "Marie",
    "Paul",
    "Jean",
    "Lucie",
    "Hugo",
    "Emma",
    "Louis",
    "Camille",
    "Nathan",
    "Sarah",
    "Yann",
    "Rose",
    "Victor",
    "Alice",
    "Ibrahim",
    "Fatou",
    "Jean-Luc",
    "Marie-Ève",
    "Amélie",
    "Sébastien",
]
# Last names of three syllables: 4,096 of them, told apart by their letters without accents.
SYLLABLES = [
    "ba",
    "bé",
    "co",
    "dè",
    "fa",
    "gi",
    "lô",
    "mu",
    "né",
    "pi",
    "ré",
    "so",
    "tà",
    "vi",
    "zu",
    "ka",
]
VERIFIED_AT = datetime(2026, 1, 15, tzinfo=UTC)
DAMAGED_FIRST_NAME = "René"  # nobody's first name: a damaged row read right matches nobody
LABELS = {
    "verified": "verified now",
    "would": "would be verified",
    "already": "already verified",
    "ambiguous": "ambiguous",
    "none": "no registration",
    "duplicate": "duplicates",
    "error": "errors",
}


def bare(text: str) -> str:
    """``text`` without its accents (the test's own, independent of the code under test)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@dataclass
class Person:
    """A member to create."""

    username: str
    first: str
    last: str
    unit: str = ""
    email: str = ""
    verified: bool = False

    @property
    def real_name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass
class Row:
    """A row to write, with the outcome its group implies and whom it verifies."""

    name: str
    unit: str
    email: str
    expect: str  # a key of LABELS
    verifies: str | None = None
    damaged: bool = False  # written in latin-1 inside the UTF-8 file
    remark: str = ""


@dataclass
class Residents:
    """Generated members and rows, and what an import of them must do."""

    people: list[Person] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    def expected(self, *, latin1: bool = False) -> Counter[str]:
        counts = Counter(row.expect for row in self.rows)
        if latin1:  # the damaged rows read right: names of nobody
            damaged = sum(row.damaged for row in self.rows)
            counts["error"] -= damaged
            counts["none"] += damaged
        return counts

    @property
    def to_verify(self) -> set[str]:
        return {row.verifies for row in self.rows if row.verifies is not None}


def generate(seed: int = 9) -> Residents:
    """Members and 10,000 rows, group by group (the counts per group are in the comments)."""
    rnd = random.Random(seed)
    lasts = [f"{a}{b}{c}".capitalize() for a in SYLLABLES for b in SYLLABLES for c in SYLLABLES]
    first_words = {w.casefold() for f in FIRST_NAMES for w in bare(f).split("-")}
    assert not first_words & {bare(last).casefold() for last in lasts}
    assert DAMAGED_FIRST_NAME not in FIRST_NAMES
    pairs = iter(
        divmod(i, len(lasts)) for i in rnd.sample(range(len(FIRST_NAMES) * len(lasts)), 9_800)
    )
    out = Residents()

    def identity() -> tuple[str, str]:
        f, last = next(pairs)
        return FIRST_NAMES[f], lasts[last]

    def person(first: str, last: str, unit: str = "", email: bool = True, **kw: Any) -> Person:
        username = f"m{len(out.people)}"
        p = Person(username, first, last, unit, f"{username}@example.org" if email else "", **kw)
        out.people.append(p)
        return p

    def unit(letter: str, number: int) -> str:
        return f"Bât {letter}, apt {number}"

    # 3,000 simple matches, written in six ways.
    simple = []
    for i in range(3000):
        p = person(*identity(), unit=unit("A", i) if i % 6 != 3 else "", email=i % 2 == 0)
        simple.append(p)
        way = i % 6
        if way == 0:  # as registered
            out.rows.append(Row(p.real_name, p.unit, "", "verified", p.username))
        elif way == 1:  # "LAST First", unit in capitals without accents or comma
            name, place = f"{p.last.upper()}  {p.first}", bare(p.unit).upper().replace(",", "")
            out.rows.append(Row(name, place, "", "verified", p.username))
        elif way == 2:  # lower case without accents, no unit in the list
            out.rows.append(Row(bare(p.real_name).lower(), "", "", "verified", p.username))
        elif way == 3:  # extra spaces; the member gave no unit, the list does
            name = f"  {p.first}   {p.last} "
            out.rows.append(Row(name, unit("Z", i), "", "verified", p.username))
        elif way == 4:  # their e-mail decides, whatever the unit says
            name, mail = f"{p.last} {p.first}", p.email.upper()
            out.rows.append(Row(name, unit("Q", i), mail, "verified", p.username))
        else:  # an e-mail address nobody has does not stand in the way
            mail = f"someone{i}@example.net"
            out.rows.append(Row(p.real_name, p.unit, mail, "verified", p.username))
    # 500 verified already (by a document): counted, left as they are.
    for i in range(500):
        p = person(*identity(), unit=unit("V", i), verified=True)
        out.rows.append(Row(p.real_name, p.unit, "", "already"))
    # 300 pairs of namesakes in different units: 300 matched by unit, 100 rows without a unit
    # (ambiguous), 100 rows without a unit but with the second one's e-mail (matched).
    for i in range(300):
        first, last = identity()
        one = person(first, last, unit=unit("C", 2 * i))
        two = person(first, last, unit=unit("C", 2 * i + 1))
        out.rows.append(Row(one.real_name, one.unit, "", "verified", one.username))
        if i < 100:
            out.rows.append(Row(one.real_name, "", "", "ambiguous"))
        elif i < 200:
            out.rows.append(Row(two.real_name, "", two.email, "verified", two.username))
    # 150 pairs of namesakes in one unit: 75 ambiguous, 75 told apart by an e-mail.
    for i in range(150):
        first, last = identity()
        one = person(first, last, unit=unit("D", i))
        person(first, last, unit=unit("D", i))
        if i < 75:
            out.rows.append(Row(one.real_name, one.unit, "", "ambiguous"))
        else:
            out.rows.append(Row(one.real_name, one.unit, one.email, "verified", one.username))
    # 150 rows whose e-mail address is a member's of another name: errors.
    for i in range(150):
        first, last = identity()
        owner = simple[2 * i]  # even: has an e-mail address
        out.rows.append(Row(f"{first} {last}", "", owner.email, "error"))
    # 200 members alone with their name, in another unit than the list says: ambiguous.
    for i in range(200):
        p = person(*identity(), unit=unit("F", 2 * i))
        out.rows.append(Row(p.real_name, unit("F", 2 * i + 1), "", "ambiguous"))
    # 100 members matched by two rows (with and without the unit): the second is ambiguous.
    for i in range(100):
        p = person(*identity(), unit=unit("G", i))
        out.rows.append(Row(p.real_name, p.unit, "", "verified", p.username))
        out.rows.append(Row(p.real_name, "", "", "ambiguous"))
    # 200 members the list does not name: they stay as they are.
    for _ in range(200):
        person(*identity(), unit=unit("U", 0))
    # 50 rows without a name; 5 rows with bytes that are not UTF-8.
    out.rows += [Row("", unit("N", i), "", "error") for i in range(50)]
    out.rows += [
        Row(f"{DAMAGED_FIRST_NAME} {identity()[1]}", unit("X", i), "", "error", damaged=True)
        for i in range(5)
    ]
    # 300 duplicates of rows above (written in capitals), then people not registered (yet).
    originals = rnd.sample([r for r in out.rows if r.expect in ("verified", "already")], 300)
    duplicates = [Row(r.name.upper(), r.unit.upper(), "", "duplicate") for r in originals]
    marker = Row(f"Quentin {MARKER_NAME}", MARKER_UNIT, "", "none", remark=MARKER_UNIT)
    out.rows += [*duplicates, marker]
    while len(out.rows) < 10_000:
        first, last = identity()
        out.rows.append(Row(f"{last.upper()} {first}", unit("W", len(out.rows)), "", "none"))
    # Any order but duplicates after their originals: a member two rows match is matched
    # by whichever comes first, and the counts do not depend on which.
    rnd.shuffle(out.rows)
    out.rows.sort(key=lambda r: r.expect == "duplicate")
    return out


def write_csv(path: Path, rows: list[Row], *, latin1: bool = False, blank_every: int = 0) -> None:
    """The list as a French spreadsheet saves it: ';' between columns, CRLF; damaged rows in
    latin-1 inside a UTF-8 file (or everything latin-1)."""
    header = ["Nom et prénom", "Logement", "Courriel", "Remarque"]
    with path.open("wb") as file:
        for number, (row, cells) in enumerate(
            [(None, header)] + [(r, [r.name, r.unit, r.email, r.remark]) for r in rows]
        ):
            buffer = io.StringIO()
            csv.writer(buffer, delimiter=";", lineterminator="\r\n").writerow(cells)
            text = buffer.getvalue()
            damaged = row is not None and row.damaged
            file.write(text.encode("latin-1" if latin1 or damaged else "utf-8"))
            if blank_every and number % blank_every == blank_every - 1:
                file.write(b";;;\r\n")


async def create_members(people: list[Person]) -> None:
    """The members, in bulk: one generated key pair for all of them."""
    keys = Member.key_columns(generate_actor_keys())
    members = [
        Member(
            username=p.username,
            real_name=p.real_name,
            display_name=p.username,
            password_hash="not a hash: nobody logs in",
            unit=p.unit,
            email=p.email,
            verification=Verification.VERIFIED if p.verified else Verification.UNVERIFIED,
            verification_method=VerificationMethod.DOCUMENT if p.verified else None,
            verified_at=VERIFIED_AT if p.verified else None,
            **keys,
        )
        for p in people
    ]
    await Member.bulk_create(members, batch_size=500)


@asynccontextmanager
async def orm(database_url: str) -> AsyncIterator[None]:
    async with open_database(database_url) as ctx:
        with activated(ctx):
            yield


async def state(database_url: str) -> dict[str, Any]:
    """What an import may change: members' levels, the audit trail, notifications."""
    async with orm(database_url):
        members = (
            await Member.all()
            .order_by("id")
            .values_list("username", "verification", "verification_method", "verified_at")
        )
        events = (
            await VerificationEvent.all()
            .order_by("id")
            .values_list("action", "subject__username", "detail", "by_id")
        )
        notifications = await Notification.all().count()
    return {"members": members, "events": events, "notifications": notifications}


async def every_row(database_url: str) -> list[str]:
    """Every row of every table, as text (to look for what must not be stored)."""
    postgres = not database_url.startswith("sqlite://")
    listing = (
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
        if postgres
        # (the full-text index's own tables are read; its virtual table cannot be scanned)
        else "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE V%'"
    )
    texts = []
    async with open_database(database_url) as ctx:
        connection = ctx.db()
        for table in await connection.execute_query_dict(listing):
            rows = await connection.execute_query_dict(f'SELECT * FROM "{table["name"]}"')  # noqa: S608
            texts += [repr(row) for row in rows]
    return texts


def counts(output: str) -> dict[str, int]:
    """The summary's counts, by key of LABELS."""
    found = {}
    for key, label in LABELS.items():
        match = re.search(rf"^  {re.escape(label)}:\s+(\d+)$", output, re.MULTILINE)
        if match:
            found[key] = int(match.group(1))
    return found


def expected_counts(expected: Counter[str], *, dry_run: bool) -> dict[str, int]:
    verified = "would" if dry_run else "verified"
    keys = (verified, "already", "ambiguous", "none", "duplicate", "error")
    return {key: expected["verified" if key == verified else key] for key in keys}


def files_under(directory: Path) -> set[Path]:
    return {path for path in directory.rglob("*") if path.is_file()}


# The large import


async def test_ten_thousand_rows(quartier: Run, database_url: str, tmp_path: Path) -> None:
    residents = generate()
    assert len(residents.rows) == 10_000
    await migrate_schema(database_url)
    async with orm(database_url):
        await create_members(residents.people)
    utf8, latin1 = tmp_path / "residents.csv", tmp_path / "residents-latin1.csv"
    write_csv(utf8, residents.rows, blank_every=2_000)
    write_csv(latin1, residents.rows, latin1=True)
    before = await state(database_url)
    files_before = files_under(tmp_path)

    # A dry run reports what would happen and changes nothing.
    out = ok(await asyncio.to_thread(quartier, "verification", "import", str(utf8), "--dry-run"))
    assert out.count("dry run: nothing was changed") == 2
    assert counts(out) == expected_counts(residents.expected(), dry_run=True)
    assert "utf-8, columns separated by ';'" in out
    assert await state(database_url) == before
    # The same list saved in latin-1: read as cp1252, the damaged rows are whole again.
    out = ok(await asyncio.to_thread(quartier, "verification", "import", str(latin1), "--dry-run"))
    assert "cp1252" in out
    assert counts(out) == expected_counts(residents.expected(latin1=True), dry_run=True)

    started = time.monotonic()
    result = await asyncio.to_thread(quartier, "verification", "import", str(utf8))
    elapsed = time.monotonic() - started
    out = ok(result)
    print(f"import of 10,000 rows: {elapsed:.1f} s")  # seen with -s
    assert counts(out) == expected_counts(residents.expected(), dry_run=False)
    assert "dry run" not in out
    # Captured, not a terminal: no progress bar, no control characters at all.
    assert not re.search(r"[\r\x1b\b]", result.stdout + result.stderr)
    assert result.stderr == ""
    # Every ambiguous row and error is listed by its line (header = line 1, blank lines
    # counted); the damaged rows are among the errors.
    listed = re.findall(r"^  line (\d+): (.*)$", out, re.MULTILINE)
    expected = residents.expected()
    assert len(listed) == expected["ambiguous"] + expected["error"] + expected["duplicate"]
    text = utf8.read_bytes().split(b"\r\n")
    damaged_lines = {str(n) for n, line in enumerate(text, 1) if b"Ren\xe9" in line}
    assert len(damaged_lines) == 5
    assert damaged_lines <= {line for line, reason in listed if "not UTF-8" in reason}

    # Exactly the expected members are verified, by manager, each with one audit event.
    async with orm(database_url):
        rows = await Member.all().values_list("username", "verification", "verification_method")
        events = await VerificationEvent.filter(action="verified.manager").values_list(
            "subject__username", "detail", "by_id"
        )
    manager = {u for u, level, how in rows if how is VerificationMethod.MANAGER}
    assert manager == residents.to_verify
    assert all(level is Verification.VERIFIED for u, level, how in rows if u in manager)
    by_document = {p.username for p in residents.people if p.verified}
    assert {u for u, _, how in rows if how is VerificationMethod.DOCUMENT} == by_document
    others = {u for u, level, _ in rows if level is not Verification.VERIFIED}
    assert others == {p.username for p in residents.people} - manager - by_document
    assert sorted(u for u, _, _ in events) == sorted(residents.to_verify)
    assert all(re.fullmatch(r"residents list, line \d+", d) for _, d, _ in events)
    assert {by for _, _, by in events} == {None}

    # Nothing of the file was kept: no new file, no row of any table, no output.
    assert files_under(tmp_path) == files_before
    for text_row in await every_row(database_url):
        assert MARKER_NAME.lower() not in text_row.lower()
        assert MARKER_UNIT.lower() not in text_row.lower()
    for path in files_before - {utf8, latin1}:
        data = path.read_bytes()
        assert MARKER_NAME.encode() not in data
        assert MARKER_UNIT.encode() not in data
    assert MARKER_NAME not in out
    assert MARKER_UNIT not in out

    # Again: everyone matched is verified already, nothing else changes.
    after = await state(database_url)
    out = ok(await asyncio.to_thread(quartier, "verification", "import", str(utf8)))
    again = expected_counts(residents.expected(), dry_run=False)
    again["already"] += again["verified"]
    again["verified"] = 0
    assert counts(out) == again
    assert await state(database_url) == after


# Reading


def test_a_utf8_file_with_a_bom_and_tabs_with_separate_name_columns() -> None:
    data = "\ufeffPrénom\tNOM\tAppartement\tE-mail\nÉlodie\tMartin\t3\t\n\t\t\t\nZoé\t\t4\t\n"
    residents = read_residents(data.encode("utf-8"))
    assert (residents.encoding, residents.delimiter) == ("utf-8", "\t")
    assert [(r.line, r.name, r.unit) for r in residents.rows] == [
        (2, "Élodie Martin", "3"),
        (4, "", "4"),  # a first name alone is no name
    ]


def test_a_cp1252_file_reports_the_bytes_cp1252_leaves_undefined() -> None:
    data = b"Bad \x81 byte,2\n".join(
        [("nom,rue\nHélène Œuvrard,1\n").encode("cp1252"), "Anaïs,3\n".encode("cp1252")]
    )
    residents = read_residents(data.replace(b"\n", b"\r\n"))
    assert (residents.encoding, residents.delimiter) == ("cp1252", ",")
    assert [(r.line, r.name, bool(r.problem)) for r in residents.rows] == [
        (2, "Hélène Œuvrard", False),
        (3, "Bad \ufffd byte", True),
        (4, "Anaïs", False),
    ]


def test_utf8_pasted_into_a_cp1252_file_is_an_error_not_mojibake() -> None:
    data = "name;unit\nHélène;1\nAgnès;2\n".encode("cp1252") + "Zoé;3\n".encode()
    residents = read_residents(data)
    assert residents.encoding == "cp1252"
    assert [bool(r.problem) for r in residents.rows] == [False, False, True]
    assert "UTF-8" in residents.rows[2].problem


def test_utf16_quoted_fields_and_the_line_numbers_of_multi_line_rows() -> None:
    text = 'Name,Street,Mail\r\n"Dupont, Marie","12 rue\r\ndes Lilas",m@x.org\r\nA B,1,\r\n'
    residents = read_residents(text.encode("utf-16"))
    assert residents.encoding == "utf-16"
    assert [(r.line, r.name, r.email) for r in residents.rows] == [
        (2, "Dupont, Marie", "m@x.org"),
        (4, "A B", ""),
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\r\n  \r\n", "empty"),
        (b"\xef\xbb\xbf", "empty"),
        (b"nom;logement\r\n;;\r\n", "no rows"),
        (b"nom;courriel\r\nA;a@b.c\r\n", "unit column"),
        (b"prenom,unit\r\nA,1\r\n", "name column"),
        (b"just one column\r\nA\r\n", "name column"),
    ],
)
def test_files_that_cannot_be_used_at_all(data: bytes, message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        read_residents(data)


# Folding and matching, in memory


def test_names_fold_case_accents_ligatures_spacing_and_order() -> None:
    assert name_key("  CŒUR-de-Lion   Hélène ") == name_key("helene coeur de lion")
    assert name_key("Marie Dupont") != name_key("Marie Claire Dupont")


@pytest.mark.parametrize(
    ("one", "other"),
    [("Appt n° 012B", "12 b"), ("Bât. A, apt 3", "BAT A 3"), ("N°4", "logement 4")],
)
def test_units_fold_the_words_that_only_announce_a_number(one: str, other: str) -> None:
    assert unit_key(one) == unit_key(other)


def test_a_lone_letter_n_is_a_building_not_a_number_sign() -> None:
    assert unit_key("Bât N 3") != unit_key("Bât 3")


def member(member_id: int, name: str, unit: str = "", email: str = "") -> Registered:
    return Registered(member_id, f"m{member_id}", name_key(name), unit_key(unit), email, False)


def outcomes(members: list[Registered], *rows: tuple[str, str, str]) -> list[tuple[Outcome, str]]:
    listed = [ResidentRow(n, *row) for n, row in enumerate(rows, 2)]
    return [(o.outcome, o.reason) for o in match_residents(listed, members)]


def test_namesakes_elsewhere_leave_the_one_without_a_unit() -> None:
    members = [member(1, "Ana Roy", "apt 4"), member(2, "Ana Roy"), member(3, "Ana Roy", "5")]
    assert outcomes(members, ("Roy Ana", "apt 9", "")) == [(Outcome.VERIFIED, "")]
    assert outcomes(members[::2], ("Roy Ana", "apt 9", "")) == [
        (Outcome.AMBIGUOUS, "several members of this name, all in other units: m1, m3")
    ]


def test_an_email_shared_by_namesakes_narrows_and_an_unknown_one_does_not() -> None:
    members = [member(1, "Ana Roy", "4", "a@x.org"), member(2, "Ana Roy", "4", "a@x.org")]
    members.append(member(3, "Ana Roy", "4", "b@x.org"))
    assert outcomes(members, ("Ana Roy", "4", "B@X.ORG")) == [(Outcome.VERIFIED, "")]
    assert outcomes(members, ("Ana Roy", "4", "a@x.org"))[0][1].endswith("m1, m2")
    assert outcomes(members, ("Ana Roy", "4", "c@x.org"))[0][1].endswith("m1, m2, m3")


# The command's failures and its progress bar


def test_help(quartier: Run) -> None:
    assert "import" in ok(quartier("verification", "--help"))
    out = ok(quartier("verification", "import", "--help"))
    assert "--dry-run" in out
    assert "verification" in ok(quartier("--help"))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"name;email\nMarie;m@x.org\n", "needs a name column"),
        (b"name;unit\n", "no rows"),
        (None, "cannot read"),
    ],
    ids=["empty", "no unit column", "header only", "missing file"],
)
def test_unusable_files_fail_clearly(
    quartier: Run, tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "list.csv"
    if content is not None:
        path.write_bytes(content)
    err = failed(quartier("verification", "import", str(path)))
    assert message in err
    assert err.startswith("quartier: ")


def test_a_directory_is_not_a_file(quartier: Run, tmp_path: Path) -> None:
    assert "cannot read" in failed(quartier("verification", "import", str(tmp_path)))


async def test_a_progress_bar_on_a_terminal_only(
    quartier: Run, env: dict[str, str], database_url: str, tmp_path: Path
) -> None:
    await migrate_schema(database_url)
    async with orm(database_url):
        await create_members([Person("lea", "Léa", "Gérard", "3")])
    path = tmp_path / "list.csv"
    path.write_bytes("nom;rue\nGÉRARD Léa;3\nNobody Here;4\n".encode())
    primary, secondary = pty.openpty()
    try:
        result = await asyncio.to_thread(
            subprocess.run,
            [str(QUARTIER), "verification", "import", str(path)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=secondary,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        os.close(secondary)
        secondary = -1
        terminal = b""
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # EIO: the terminal's other end is closed and drained
                break
            if not chunk:
                break
            terminal += chunk
    finally:
        os.close(primary)
        if secondary != -1:
            os.close(secondary)
    assert result.returncode == 0, result.stdout
    assert b"\rverifying [" in terminal
    assert terminal.rstrip().endswith(b"2/2")
    assert "\r" not in result.stdout
    assert counts(result.stdout)["verified"] == 1
