"""``manage.py logoutuser ID`` or ``--username NAME``: end every session of one user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pynamo_sessions import users
from pynamo_sessions.exceptions import PynamoSessionsError


class Command(BaseCommand):
    help = "Log a user out of every session (needs DYNAMODB_SESSIONS_TRACK_USERS = True)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user_id", nargs="?", help="The user's primary key.")
        parser.add_argument("--username", help="Find the user by username instead.")

    def handle(self, *args: Any, user_id: str | None, username: str | None, verbosity: int, **options: Any) -> None:
        if (user_id is None) == (username is None):
            raise CommandError("Give either a user id or --username, not both and not neither.")
        if username is not None:
            user_model = get_user_model()
            try:
                user = user_model._default_manager.get_by_natural_key(username)
            except user_model.DoesNotExist:
                raise CommandError(f"There is no user with username {username!r}.") from None
            user_id = str(user.pk)
        try:
            revoked = users.revoke_all(user_id)
        except PynamoSessionsError as exc:
            raise CommandError(str(exc)) from exc
        if verbosity >= 1:
            self.stdout.write(f"Logged user {user_id} out of {revoked} session{'s' if revoked != 1 else ''}.")
