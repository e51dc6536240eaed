"""``manage.py createsessiontable``: create (or verify) the sessions table; ``--delete`` drops it."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from pynamo_sessions import conf
from pynamo_sessions.exceptions import PynamoSessionsError
from pynamo_sessions.operations import provision


class Command(BaseCommand):
    help = (
        "Create the DynamoDB sessions table with TTL enabled, or verify an existing one. "
        "Safe to run on every deploy."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--delete", action="store_true",
            help="Delete the sessions table instead (development and test tables).",
        )
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive",
            help="With --delete, do not ask for confirmation.",
        )

    def handle(self, *args: Any, delete: bool, interactive: bool, verbosity: int, **options: Any) -> None:
        table = conf.conf.TABLE
        try:
            if delete:
                self._delete(table, interactive, verbosity)
                return
            report = provision.create_table()
        except PynamoSessionsError as exc:
            raise CommandError(str(exc)) from exc
        if verbosity >= 1:
            if report.created:
                self.stdout.write(self.style.SUCCESS(f"Created table {table!r} with TTL enabled."))
            for note in report.notes:
                self.stdout.write(note)
            if report.ttl_enabled_now and not report.created:
                self.stdout.write(self.style.SUCCESS(f"Enabled TTL on {conf.conf.ATTR_TTL!r}."))
            if report.index_added and not report.created:
                self.stdout.write(self.style.SUCCESS(f"Added the user index {conf.conf.USER_INDEX!r}."))

    def _delete(self, table: str, interactive: bool, verbosity: int) -> None:
        if interactive:
            answer = input(
                f"This deletes DynamoDB table {table!r} and every session in it.\n"
                "Type 'yes' to continue, or 'no' to cancel: "
            )
            if answer != "yes":
                raise CommandError("Deletion cancelled.")
        deleted = provision.delete_table()
        if verbosity >= 1:
            self.stdout.write(f"Deleted table {table!r}." if deleted else f"There is no table {table!r}.")
