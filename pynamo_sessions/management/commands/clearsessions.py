"""``manage.py clearsessions`` with progress and a summary for the DynamoDB engine.

Django's own command calls ``SessionStore.clear_expired()`` silently. When pynamo_sessions is
listed above django.contrib.sessions in INSTALLED_APPS this one replaces it; with any other
engine it behaves exactly like Django's.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pynamo_sessions import conf
from pynamo_sessions.exceptions import PynamoSessionsError
from pynamo_sessions.operations import cleanup


class Command(BaseCommand):
    help = "Deletes expired sessions (a no-op when the DynamoDB table has TTL enabled)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--segments", type=int, default=4, help="Parallel scan segments (default 4).")
        parser.add_argument(
            "--ignore-ttl", action="store_true",
            help="Sweep even when TTL is enabled, to purge a backlog of expired items now.",
        )

    def handle(self, *args: Any, segments: int, ignore_ttl: bool, verbosity: int, **options: Any) -> None:
        if settings.SESSION_ENGINE not in conf.ENGINES:
            engine = import_module(settings.SESSION_ENGINE)
            try:
                engine.SessionStore.clear_expired()
            except NotImplementedError:
                raise CommandError(
                    f"Session engine '{settings.SESSION_ENGINE}' doesn't support clearing expired sessions."
                ) from None
            return
        if segments < 1:
            raise CommandError(f"--segments must be at least 1; got {segments}.")
        show_progress = verbosity >= 1 and self.stdout.isatty()
        try:
            sweep = cleanup.clear_expired(
                segments=segments, ignore_ttl=ignore_ttl, progress=self._progress if show_progress else None
            )
        except PynamoSessionsError as exc:
            raise CommandError(str(exc)) from exc
        if verbosity < 1:
            return
        if show_progress:
            self.stdout.write("")
        if sweep.skipped:
            self.stdout.write(sweep.skipped)
            return
        self.stdout.write(
            f"Deleted {sweep.deleted:,} expired sessions in {sweep.seconds:.1f}s "
            f"({sweep.rate:,.0f}/s); {sweep.refreshed:,} were refreshed meanwhile and kept."
        )

    def _progress(self, sweep: cleanup.Sweep) -> None:
        self.stdout.write(
            f"\rFound {sweep.found:,} expired, deleted {sweep.deleted:,} ({sweep.rate:,.0f}/s)", ending=""
        )
        self.stdout.flush()
