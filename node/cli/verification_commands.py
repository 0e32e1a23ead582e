"""``quartier verification import FILE [--dry-run]``: a landlord's or town hall's list of
residents verifies the members it names (the rules: node/verification/residents.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from node.app import verification_service
from node.cli.common import _database, _settings
from node.cli.progress import ProgressBar
from node.clock import utc_now
from node.errors import NodeError
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
