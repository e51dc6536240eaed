"""``manage.py importsessions``: copy Django db/cached_db sessions into DynamoDB before switching."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.exceptions import PynamoSessionsError
from pynamo_sessions.operations import importing

SOURCES = ("db", "cached_db")


class Command(BaseCommand):
    help = (
        "Copy the live sessions of Django's db or cached_db engine (the django_session table) into "
        "the DynamoDB sessions table, keeping keys, data and expiry. Safe to re-run; --resume-after resumes. "
        "Needs 'django.contrib.sessions' in INSTALLED_APPS while it runs (its model reads the table)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="source", choices=SOURCES, default="db",
                            help="The engine the sessions come from (both keep them in django_session).")
        parser.add_argument("--dry-run", action="store_true", help="Count what would be copied; write nothing.")
        parser.add_argument("--resume-after", metavar="POINT",
                            help="Resume after the point a previous run printed (not a session key).")
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument("--workers", type=int, default=8, help="Parallel writes (default 8).")

    def handle(self, *args: Any, source: str, dry_run: bool, resume_after: str | None, batch_size: int,
               workers: int, verbosity: int, **options: Any) -> None:
        if batch_size < 1 or workers < 1:
            raise CommandError(f"--batch-size and --workers must be at least 1; got {batch_size} and {workers}.")
        if not apps.is_installed("django.contrib.sessions"):
            raise CommandError(
                "importsessions reads Django's django_session table through the model of "
                "'django.contrib.sessions', which is not in INSTALLED_APPS. Add it for the import "
                "(with the DATABASES entry that holds the table), run the import, then remove it: "
                "pynamo_sessions itself does not need it."
            )
        show_progress = verbosity >= 1 and self.stdout.isatty()
        try:
            result = importing.import_sessions(
                importing.db_rows(resume_after=resume_after, batch_size=batch_size),
                decoder=SessionStore(), dry_run=dry_run, workers=workers,
                progress=self._progress if show_progress else None,
            )
        except importing.ImportInterrupted as exc:
            last = exc.progress.last_key
            resume = (f"Every row up to resume point {importing.resume_point(last)} was written: re-run with "
                      f"--resume-after {importing.resume_point(last)} to go on from there." if last else
                      "No batch was finished: re-run without --resume-after (what was written is kept).")
            raise CommandError(f"The import stopped: {exc} {exc.progress.copied:,} sessions copied so far. "
                               f"{resume}") from exc
        except PynamoSessionsError as exc:
            raise CommandError(str(exc)) from exc
        if verbosity < 1:
            return
        if show_progress:
            self.stdout.write("")
        verb = "Would copy" if dry_run else "Copied"
        self.stdout.write(
            f"{verb} {result.copied:,} sessions from {source} in {result.seconds:.1f}s; "
            f"kept {result.kept_newer:,} already in DynamoDB with the same or a later expiry and "
            f"{result.copied_before:,} copied by an earlier run (updated only where still signed in); "
            f"skipped {importing.expired_db_rows():,} expired, {result.invalid_key:,} with keys "
            f"pynamo_sessions does not accept and {result.too_large:,} over 400 KB."
        )
        if result.last_key:
            self.stdout.write(f"Resume point: {importing.resume_point(result.last_key)} "
                              "(--resume-after resumes after it)")

    def _progress(self, progress: importing.Progress) -> None:
        rate = progress.done / progress.seconds if progress.seconds else 0
        point = f"; resume point {importing.resume_point(progress.last_key)}" if progress.last_key else ""
        self.stdout.write(f"\r{progress.done:,} sessions done ({rate:,.0f}/s{point})", ending="")
        self.stdout.flush()
