"""``quartier verification``: a landlord's or town hall's list of residents verifies the
members it names (``import``, the rules in node/verification/residents.py); a member verified or
unverified by hand (``set``); the managers' review list (``review``); the endorsements a
municipality node gives (``endorse``, ``endorsements``, ``unendorse``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from node.app import verification_service
from node.cli.common import _database, _member_service, _settings
from node.cli.progress import ProgressBar
from node.clock import utc_now
from node.config import Settings
from node.errors import NodeError
from node.verification.credentials import CredentialIssuer
from node.verification.residents import (
    MAX_BYTES,
    ImportReport,
    Outcome,
    import_residents,
    read_residents,
)

# The summary's lines, in order, and how each count is introduced.
_COUNTED = (
    (Outcome.VERIFIED, "verified now"),
    (Outcome.ALREADY_VERIFIED, "already verified"),
    (Outcome.AMBIGUOUS, "ambiguous"),
    (Outcome.NOT_FOUND, "no registration"),
    (Outcome.DUPLICATE, "duplicates"),
    (Outcome.ERROR, "errors"),
)
# The rows listed one by one after the counts (the others need nobody's attention).
_LISTED = (
    (Outcome.AMBIGUOUS, "ambiguous"),
    (Outcome.ERROR, "errors"),
    (Outcome.DUPLICATE, "duplicates"),
)
DRY_RUN_NOTE = "dry run: nothing was changed"


async def _verification_import(args: argparse.Namespace) -> int:
    settings = _settings(args)
    # Read and checked before the database is opened: a wrong file fails fast, and its
    # content stays in this process's memory (never copied, stored or logged).
    residents = read_residents(_read(args.file))
    async with _database(settings):
        bar = ProgressBar(sys.stderr, "checking" if args.dry_run else "verifying")
        try:
            report = await import_residents(
                residents,
                verification_service(settings, utc_now),
                dry_run=args.dry_run,
                progress=bar,
            )
        finally:
            bar.close()
    _print(report, args.file)
    return 0


def _read(path: Path) -> bytes:
    try:
        # Measured first, so a wrong path to a huge file is refused without reading it.
        if path.stat().st_size > MAX_BYTES:
            raise NodeError(f"{path} is larger than {MAX_BYTES // 1_048_576} MiB")
        return path.read_bytes()
    except OSError as exc:
        raise NodeError(f"cannot read {path}: {exc.strerror or exc}") from None


def _print(report: ImportReport, path: Path) -> None:
    delimiter = "a tab" if report.delimiter == "\t" else f"'{report.delimiter}'"
    if report.dry_run:
        print(DRY_RUN_NOTE)
    print(
        f"{path.name}: {len(report.outcomes)} rows "
        f"({report.encoding}, columns separated by {delimiter})"
    )
    for outcome, label in _COUNTED:
        if report.dry_run and outcome is Outcome.VERIFIED:
            label = "would be verified"
        print(f"  {label + ':':<20}{report.count(outcome):>7}")
    for outcome, title in _LISTED:
        rows = report.rows(outcome)
        if rows:
            print(f"{title}:")
            for row in rows:
                print(f"  line {row.line}: {row.reason}")
    if report.dry_run:
        print(DRY_RUN_NOTE)


async def _verification_set(args: argparse.Namespace) -> int:
    settings = _settings(args)
    async with _database(settings):
        member = await _member_service(settings).get(args.username)
        member = await verification_service(settings, utc_now).set_by_manager(
            member,
            verified=args.verified,
            by=None,
            reason=args.reason,
            false=args.found_false,
        )
    method = member.verification_method.value if member.verification_method else "-"
    print(f"{member.username}: {member.verification.value} ({method})")
    return 0


async def _verification_review(args: argparse.Namespace) -> int:
    settings = _settings(args)
    async with _database(settings):
        members = await verification_service(settings, utc_now).review_list()
    if not members:
        print("nobody is waiting for a review")
    for member in members:
        since = member.review_since.isoformat() if member.review_since else ""
        print(f"{member.username}\t{member.verification.value}\t{since}\t{member.review_reason}")
    return 0


def _credential_issuer(settings: Settings) -> CredentialIssuer:
    return CredentialIssuer(settings.uris, utc_now, settings.community, settings.verification)


async def _verification_endorse(args: argparse.Namespace) -> int:
    settings = _settings(args)
    issuer = _credential_issuer(settings)
    async with _database(settings):
        credential = await issuer.endorse(args.node, args.name, args.area)
    print(f"endorsed {args.node} for {args.name!r} until {credential.valid_until.isoformat()}")
    return 0


async def _verification_endorsements(args: argparse.Namespace) -> int:
    settings = _settings(args)
    issuer = _credential_issuer(settings)
    async with _database(settings):
        given = await issuer.endorsements()
    if not given:
        print("this node endorses no other node")
    for credential in given:
        print(f"{credential.subject}\tuntil {credential.valid_until.isoformat()}")
    return 0


async def _verification_unendorse(args: argparse.Namespace) -> int:
    settings = _settings(args)
    issuer = _credential_issuer(settings)
    async with _database(settings):
        if not await issuer.end_endorsement(args.node):
            raise NodeError(f"{args.node} is not endorsed by this node")
    print(f"the endorsement of {args.node} is revoked")
    return 0
