"""manage.py import_school --kind KIND FILE [--dry-run]: bulk import from CSV or XLSX."""

import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import URLValidator

from accounts.imports.rows import CHANGED, ERROR, NEW, UNCHANGED
from accounts.imports.run import KINDS, ImportConflict, import_school


class ProgressBar:
    """A one-line bar on stderr, redrawn at most ten times a second."""

    def __init__(self, stream, label: str):
        self.stream = stream
        self.label = label
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done != total and now - self.last < 0.1:
            return
        self.last = now
        width = 30
        filled = width * done // max(total, 1)
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} rows"
        )
        if done == total:
            self.stream.write("\n")
        self.stream.flush()


class Command(BaseCommand):
    help = (
        "Import students, lecturers, courses, enrollments or payments from a CSV or XLSX file. "
        "All or nothing: any bad row and nothing is written; each bad row is reported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=sorted(KINDS))
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and report; write nothing."
        )
        parser.add_argument(
            "--base-url",
            default=settings.SITE_URL,
            help="The site's address for invitation links (default: SITE_URL).",
        )

    def handle(self, *args, kind: str, file: Path, dry_run: bool, base_url: str, **options):
        try:
            # It starts every invitation link the import mails.
            URLValidator(schemes=["http", "https"])(base_url)
        except ValidationError:
            self.stderr.write(
                f"import_school: --base-url {base_url!r} is not an http:// or https:// address"
            )
            sys.exit(2)
        if not file.is_file():
            self.stderr.write(f"import_school: no such file: {file}")
            sys.exit(2)
        size = file.stat().st_size
        if size > settings.IMPORT_MAX_BYTES:
            limit = settings.IMPORT_MAX_BYTES / (1024 * 1024)
            raise CommandError(
                f"{file} is {size / (1024 * 1024):.1f} MB; the limit is {limit:.1f} MB."
            )
        started = time.monotonic()
        try:
            result = import_school(
                kind=kind,
                data=file.read_bytes(),
                filename=file.name,
                dry_run=dry_run,
                base_url=base_url,
                progress=ProgressBar(self.stderr, f"Checking {kind}"),
            )
        except ImportConflict as exc:
            raise CommandError(str(exc)) from exc
        counts = result.counts
        self.stdout.write(
            f"{kind}: {counts[NEW]} new, {counts[CHANGED]} changed, "
            f"{counts[UNCHANGED]} unchanged, {counts[ERROR]} with errors "
            f"({time.monotonic() - started:.1f} s)"
        )
        if result.errors:
            for error in result.errors:
                self.stdout.write(f"  {error}")
            raise CommandError(f"Nothing was imported: {len(result.errors)} problem(s) above.")
        if dry_run:
            self.stdout.write("Dry run: nothing was written.")
            return
        extra = ", ".join(f"{value} {name}" for name, value in result.done.items())
        self.stdout.write(self.style.SUCCESS("Imported." + (f" ({extra})" if extra else "")))
