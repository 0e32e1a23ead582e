"""A landlord's or town hall's list of residents: the members it names become verified by
``manager``.

Reading the file (:func:`read_residents`)
    Encoding: one for the whole file. A byte-order mark says it (UTF-8, or UTF-16 for the
    "Unicode text" spreadsheets export). Otherwise every line holding non-ASCII bytes votes,
    valid UTF-8 or not: UTF-8 when at least as many are valid as not (text in another
    encoding is almost never valid UTF-8 by chance, and pure ASCII is both), else cp1252,
    what spreadsheet software on Windows saves (it agrees with latin-1 on every letter).
    A line whose bytes are not valid in that encoding, or, in a cp1252 file, a line that is
    UTF-8 pasted from elsewhere, makes its row an error to fix by hand. Never a guess per
    row: a wrong guess ("Ã©" for "é") matches nobody, or somebody else, silently.
    Delimiter: ``,`` ``;`` or tab, whichever splits the header into known columns (the most
    frequent in the header tried first). The header is the first non-blank line.
    Columns, named in any case, with or without accents, spaces or punctuation (other
    columns are ignored):
        name:  name, full name, nom complet, nom et prénom ...; or nom / last name / surname
               with prénom / first name beside it (without one, "nom" is the whole name; with
               one, a row without a last name has no name)
        unit:  unit, flat, apartment, appartement, logement, building, bâtiment, street, rue,
               address, adresse ... (the first such column)
        email (optional): email, e-mail, mail, courriel, adresse e-mail ...
    An empty file, a header without rows, a header without a name or a unit column, or a
    file over ``MAX_BYTES`` is refused as a whole. Blank rows are skipped. Line numbers are
    the file's own (the header is line 1; a row spanning lines has the number of its first).

Matching (:func:`match_residents`), row after row in the file's order
    Names are folded: case, accents, ligatures, punctuation and spacing aside, words in any
    order ("DUPONT  Marie" is "Marie Dupont"). No partial match: a missing middle name makes
    another name. Units are folded alike but keep their order, without words such as "apt",
    "appartement" or "n°", letters apart from digits, numbers without leading zeros ("Appt
    n° 012B" is "12 b"). E-mail addresses are compared lowercased.
    1. No name, or bytes not valid in the file's encoding: error.
    2. The same folded name and unit as an earlier row: duplicate of that line (not applied
       twice).
    3. The row's e-mail address is exactly one member's: it decides. That member, if their
       name is the row's; otherwise error (the e-mail belongs to another name).
    4. Otherwise the members of the row's name. None: no registration (not an error: they
       may register later). One: matched if the row or the member gives no unit or the
       units are the same, else ambiguous (another unit). Several: those in the row's unit
       if it gives one (when none is, those who gave no unit), then, if more than one is
       left, those with the row's e-mail address; one left is matched, more (or none) is
       ambiguous, naming their usernames.
    5. A member an earlier row matched: ambiguous for this row. A member already verified:
       counted, left as they are. Anyone else matched is verified by ``manager``, by the
       node (no manager in person), the audit trail saying "residents list, line N".

Privacy: the list lives in memory only: no copy on disk, nothing of it in the database (the
audit event and the member's notification give the line number alone), nothing of it in logs
(counts only). Reports name members by username, never by what the list says.
"""

from __future__ import annotations

import codecs
import csv
import logging
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from tortoise.transactions import in_transaction

from node.errors import NotFound, ValidationFailed
from node.members.models import Member, Verification
from node.verification.service import VerificationService

log = logging.getLogger(__name__)

# About 200,000 rows: more than any one node's neighbourhood; larger is another file.
MAX_BYTES = 20 * 1_048_576
FALLBACK_ENCODING = "cp1252"
DELIMITERS = (";", ",", "\t")
# Verifications per transaction: few enough that a running node waits for SQLite's write lock
# a fraction of a second at most.
BATCH = 100

# Header names, folded (see _key): which column is which.
_NAME = frozenset(
    {"name", "fullname", "nomcomplet", "nometprenom", "prenometnom", "nomprenom", "prenomnom"}
    | {"resident", "residente", "locataire", "tenant", "occupant"}
)
_LAST_NAME = frozenset({"nom", "lastname", "surname", "familyname", "nomdefamille"})
_FIRST_NAME = frozenset({"prenom", "firstname", "givenname", "forename"})
_UNIT = frozenset(
    {"unit", "flat", "apartment", "apt", "appartement", "appart", "appt", "logement", "lot"}
    | {"building", "batiment", "street", "rue", "address", "adresse", "adressepostale"}
)
_EMAIL = frozenset(
    {"email", "mail", "courriel", "mel", "emailaddress", "adressemail", "adresseemail"}
    | {"adressecourriel", "adresseelectronique"}
)
# Words that only say "this is a unit number": "Appt 12", "n° 12" and "12" are one unit.
_UNIT_FILLER = frozenset(
    {"apt", "appt", "app", "appart", "appartement", "apartment", "flat", "unit", "logement"}
    | {"lgt", "log", "no", "nr", "num", "numero", "number"}
)
# "n°" too, taken out before folding: a lone "n" may be a building's letter.
_NUMERO_SIGN = re.compile(r"\b[nN]\s*[°º]")
# Letters NFKD does not take apart (and the Turkish dotless i, written as an escape).
_LIGATURES = str.maketrans(
    {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss", "ø": "o", "Ø": "O", "ł": "l"}
    | {"Ł": "L", "đ": "d", "Đ": "D", "\u0131": "i"}
)
_WORD = re.compile(r"[^\W_]+")
_UNIT_PIECE = re.compile(r"\d+|[^\W\d_]+")
_LINE_END = re.compile(rb"\r\n|\r|\n")
_TEXT_LINE_END = re.compile(r"\r\n|\r|\n")
_NOT_VALID = "bytes that are not {} like the rest of the file: retype this row"


# Reading


@dataclass(frozen=True)
class ResidentRow:
    """One row of the list, as read (kept in memory only)."""

    line: int
    name: str
    unit: str
    email: str
    problem: str = ""  # why the row cannot be used as it is (undecodable bytes, bad quoting)


@dataclass(frozen=True)
class ResidentsList:
    """A list of residents, read: how, and its rows (blank ones left out)."""

    encoding: str
    delimiter: str
    rows: tuple[ResidentRow, ...]


@dataclass(frozen=True)
class _Columns:
    name: tuple[int, ...]  # joined with a space: (full name,) or (first name, last name)
    unit: int
    email: int | None


def read_residents(data: bytes) -> ResidentsList:
    """Read a list of residents (CSV) by the rules of the module docstring; raises
    ``ValidationFailed`` for a file that cannot be used at all."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed(f"the file is larger than {MAX_BYTES // 1_048_576} MiB")
    encoding, lines, damaged = _decode(data)
    header_at = next((i for i, line in enumerate(lines) if line.strip()), None)
    if header_at is None:
        raise ValidationFailed("the file is empty")
    delimiter, columns = _header(lines[header_at], header_at + 1)
    rows: list[ResidentRow] = []
    reader = csv.reader((f"{line}\n" for line in lines[header_at + 1 :]), delimiter=delimiter)
    done = header_at + 1  # lines read so far
    while True:
        first = done + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:  # a field past csv's size limit, an unclosed quote swallowing lines
            done = header_at + 1 + reader.line_num
            rows.append(ResidentRow(first, "", "", "", problem="a row CSV cannot read"))
            continue
        done = header_at + 1 + reader.line_num
        if any(cell.strip() for cell in cells):
            problem = next((damaged[n] for n in range(first, done + 1) if n in damaged), "")
            rows.append(_row(first, cells, columns, problem))
    if not rows:
        raise ValidationFailed(f"the file has a header (line {header_at + 1}) but no rows")
    return ResidentsList(encoding, delimiter, tuple(rows))


def _decode(data: bytes) -> tuple[str, list[str], dict[int, str]]:
    """The file's encoding, its lines decoded, and what is wrong with the lines (by number)
    that are not valid in that encoding."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        lines = _TEXT_LINE_END.split(data.decode("utf-16", errors="replace"))
        wrong = {n: _NOT_VALID.format("UTF-16") for n, ln in enumerate(lines, 1) if "\ufffd" in ln}
        return "utf-16", lines, _without_nul(lines, wrong)
    with_bom = data.startswith(codecs.BOM_UTF8)
    raw_lines = _LINE_END.split(data[len(codecs.BOM_UTF8) :] if with_bom else data)
    utf8: list[str | None] = []
    valid = invalid = 0
    for raw in raw_lines:
        try:
            utf8.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            utf8.append(None)
            invalid += 1
        else:
            valid += not raw.isascii()
    if with_bom or valid >= invalid:
        lines = [
            text if text is not None else raw.decode("utf-8", errors="replace")
            for text, raw in zip(utf8, raw_lines, strict=True)
        ]
        wrong = {n: _NOT_VALID.format("UTF-8") for n, text in enumerate(utf8, 1) if text is None}
        return "utf-8", lines, _without_nul(lines, wrong)
    lines, wrong = [], {}
    for number, (raw, text) in enumerate(zip(raw_lines, utf8, strict=True), 1):
        try:
            lines.append(raw.decode(FALLBACK_ENCODING))
        except UnicodeDecodeError:  # one of the five bytes cp1252 leaves undefined
            lines.append(raw.decode(FALLBACK_ENCODING, errors="replace"))
            wrong[number] = _NOT_VALID.format(FALLBACK_ENCODING)
        if text is not None and not raw.isascii():
            wrong[number] = f"UTF-8 text in a {FALLBACK_ENCODING} file (most of its lines)"
    return FALLBACK_ENCODING, lines, _without_nul(lines, wrong)


def _without_nul(lines: list[str], wrong: dict[int, str]) -> dict[int, str]:
    """Take NUL characters out of ``lines`` (csv refuses them) and count theirs as wrong."""
    for number, line in enumerate(lines, 1):
        if "\0" in line:
            lines[number - 1] = line.replace("\0", "")
            wrong.setdefault(number, "a NUL character (not text)")
    return wrong


def _header(line: str, number: int) -> tuple[str, _Columns]:
    """The delimiter and the columns of the header ``line``; ``ValidationFailed`` when no
    delimiter gives a name and a unit column."""
    tried = sorted(DELIMITERS, key=line.count, reverse=True)
    for delimiter in tried:
        if delimiter in line:
            columns = _columns(next(csv.reader([line], delimiter=delimiter)))
            if columns is not None:
                return delimiter, columns
    cells = next(csv.reader([line], delimiter=tried[0]))
    shown = ", ".join(f'"{cell.strip()}"' for cell in cells)
    raise ValidationFailed(
        f"the header (line {number}) needs a name column (name, nom ...) and a unit column "
        f"(unit, logement, appartement, street, rue, adresse ...); it has {shown} "
        f"(columns separated by ',', ';' or a tab)"
    )


def _columns(cells: list[str]) -> _Columns | None:
    keys = [_key(cell) for cell in cells]

    def first(names: frozenset[str]) -> int | None:
        return next((i for i, key in enumerate(keys) if key in names), None)

    full, last, given = first(_NAME), first(_LAST_NAME), first(_FIRST_NAME)
    unit, email = first(_UNIT), first(_EMAIL)
    if full is not None:
        name: tuple[int, ...] = (full,)
    elif last is not None:
        name = (last,) if given is None else (given, last)
    else:
        return None
    return None if unit is None else _Columns(name, unit, email)


def _row(line: int, cells: list[str], columns: _Columns, problem: str) -> ResidentRow:
    def cell(index: int | None) -> str:
        return cells[index].strip() if index is not None and index < len(cells) else ""

    # With a first-name column beside it, the last name is the name: a first name alone
    # would match any namesake's first name.
    parts = [cell(i) for i in columns.name]
    name = " ".join(part for part in parts if part) if parts[-1] else ""
    return ResidentRow(line, name, cell(columns.unit), cell(columns.email), problem)


# Folding


def fold_words(text: str) -> tuple[str, ...]:
    """``text``'s words without case, accents, ligatures or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return tuple(_WORD.findall(bare))


def name_key(name: str) -> tuple[str, ...]:
    """What two names that are the same person's have in common: their words, in any order."""
    return tuple(sorted(fold_words(name)))


def unit_key(unit: str) -> tuple[str, ...]:
    """What two ways of writing a unit have in common (empty: no unit given)."""
    words = fold_words(_NUMERO_SIGN.sub(" ", unit))
    pieces = (piece for word in words for piece in _UNIT_PIECE.findall(word))
    return tuple(
        (piece.lstrip("0") or "0") if piece.isdecimal() else piece
        for piece in pieces
        if piece not in _UNIT_FILLER
    )


def _key(header: str) -> str:
    return "".join(fold_words(header))


# Matching


class Outcome(StrEnum):
    """What became of a row."""

    VERIFIED = "verified"  # matched and verified now (in a dry run: would be)
    ALREADY_VERIFIED = "already verified"
    AMBIGUOUS = "ambiguous"
    NOT_FOUND = "no registration"
    DUPLICATE = "duplicate"
    ERROR = "error"


@dataclass(frozen=True)
class RowOutcome:
    """A row's outcome: its line, and why (a reason names members by username only)."""

    line: int
    outcome: Outcome
    reason: str = ""
    member_id: int | None = None


@dataclass(frozen=True)
class Registered:
    """What matching needs to know of a member."""

    id: int
    username: str
    name: tuple[str, ...]
    unit: tuple[str, ...]
    email: str
    verified: bool


def match_residents(rows: Sequence[ResidentRow], members: Iterable[Registered]) -> list[RowOutcome]:
    """Each row's outcome by the rules of the module docstring (nothing is changed here)."""
    matcher = _Matcher(members)
    return [matcher.match(row) for row in rows]


class _Matcher:
    """The members indexed by name and e-mail, and what earlier rows took."""

    def __init__(self, members: Iterable[Registered]) -> None:
        self.by_name: defaultdict[tuple[str, ...], list[Registered]] = defaultdict(list)
        self.by_email: defaultdict[str, list[Registered]] = defaultdict(list)
        for member in members:
            self.by_name[member.name].append(member)
            if member.email:
                self.by_email[member.email].append(member)
        self.seen: dict[tuple[tuple[str, ...], tuple[str, ...]], int] = {}
        self.claimed: dict[int, int] = {}  # member id -> the line that matched them

    def match(self, row: ResidentRow) -> RowOutcome:
        if row.problem:
            return RowOutcome(row.line, Outcome.ERROR, row.problem)
        name, unit, email = name_key(row.name), unit_key(row.unit), row.email.lower()
        if not name:
            return RowOutcome(row.line, Outcome.ERROR, "no name")
        earlier = self.seen.setdefault((name, unit), row.line)
        if earlier != row.line:
            return RowOutcome(row.line, Outcome.DUPLICATE, f"duplicate of line {earlier}")
        owners = self.by_email.get(email, []) if email else []
        if len(owners) == 1:
            if owners[0].name != name:
                reason = f"the e-mail address belongs to another name ({owners[0].username})"
                return RowOutcome(row.line, Outcome.ERROR, reason)
            return self._take(row.line, owners[0])
        namesakes = self.by_name.get(name, [])
        if not namesakes:
            return RowOutcome(row.line, Outcome.NOT_FOUND)
        if len(namesakes) == 1:
            member = namesakes[0]
            if unit and member.unit and member.unit != unit:
                reason = f"the only member of this name ({member.username}) gives another unit"
                return RowOutcome(row.line, Outcome.AMBIGUOUS, reason)
            return self._take(row.line, member)
        left = namesakes
        if unit:
            left = [m for m in namesakes if m.unit == unit] or [m for m in namesakes if not m.unit]
        if len(left) > 1 and email:
            left = [m for m in left if m.email == email] or left
        if len(left) == 1:
            return self._take(row.line, left[0])
        where = "of this name" if left else "of this name, all in other units"
        usernames = ", ".join(m.username for m in left or namesakes)
        return RowOutcome(row.line, Outcome.AMBIGUOUS, f"several members {where}: {usernames}")

    def _take(self, line: int, member: Registered) -> RowOutcome:
        earlier = self.claimed.setdefault(member.id, line)
        if earlier != line:
            reason = f"{member.username} was matched by line {earlier} already"
            return RowOutcome(line, Outcome.AMBIGUOUS, reason)
        if member.verified:
            return RowOutcome(line, Outcome.ALREADY_VERIFIED, member_id=member.id)
        return RowOutcome(line, Outcome.VERIFIED, member_id=member.id)


# Applying

Progress = Callable[[int, int], None]


def _no_progress(done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, in a dry run, would do), row by row."""

    encoding: str
    delimiter: str
    dry_run: bool
    outcomes: tuple[RowOutcome, ...]

    def count(self, outcome: Outcome) -> int:
        """How many rows had ``outcome``."""
        return sum(1 for row in self.outcomes if row.outcome is outcome)

    def rows(self, outcome: Outcome) -> list[RowOutcome]:
        """The rows that had ``outcome``, in the file's order."""
        return [row for row in self.outcomes if row.outcome is outcome]


async def import_residents(
    residents: ResidentsList,
    verification: VerificationService,
    *,
    dry_run: bool,
    progress: Progress = _no_progress,
) -> ImportReport:
    """Match ``residents`` against the members and verify those matched (not in a
    ``dry_run``); ``progress(done, total)`` follows the rows.

    Verifications are committed ``BATCH`` at a time (one commit each made the import of a
    town's list take minutes on SQLite): an import stopped half-way leaves whole
    verifications, and running it again counts them as already verified.
    """
    members = [
        Registered(
            id=row["id"],
            username=row["username"],
            name=name_key(row["real_name"]),
            unit=unit_key(row["unit"]),
            email=row["email"].lower(),
            verified=row["verification"] == Verification.VERIFIED,
        )
        for row in await Member.all()
        .order_by("id")
        .values("id", "username", "real_name", "unit", "email", "verification")
    ]
    outcomes = match_residents(residents.rows, members)
    total = len(outcomes)
    to_verify = (
        [] if dry_run else [i for i, o in enumerate(outcomes) if o.outcome is Outcome.VERIFIED]
    )
    for start in range(0, len(to_verify), BATCH):
        async with in_transaction():
            for index in to_verify[start : start + BATCH]:
                outcomes[index] = await _verify(verification, outcomes[index])
                progress(index + 1, total)
    progress(total, total)
    report = ImportReport(residents.encoding, residents.delimiter, dry_run, tuple(outcomes))
    log.info(
        "residents list%s: %s",
        " (dry run)" if dry_run else "",
        ", ".join(f"{kind.value} {report.count(kind)}" for kind in Outcome),
    )
    return report


async def _verify(verification: VerificationService, outcome: RowOutcome) -> RowOutcome:
    assert outcome.member_id is not None
    try:
        verified = await verification.verify_listed(
            outcome.member_id, detail=f"residents list, line {outcome.line}"
        )
    except NotFound:  # deleted since the members were read
        return replace(outcome, outcome=Outcome.NOT_FOUND, member_id=None)
    return outcome if verified else replace(outcome, outcome=Outcome.ALREADY_VERIFIED)
