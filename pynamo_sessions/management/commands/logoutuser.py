"""``manage.py logoutuser ID`` or ``--username NAME``: end every session of one user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from pynamo_sessions import signals
from pynamo_sessions.exceptions import PynamoSessionsError, RevocationIncomplete
from pynamo_sessions.operations import users


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
        assert user_id is not None
        try:
            revoked = users.revoke_all(user_id, reason=signals.COMMAND)
        except RevocationIncomplete as exc:
            raise CommandError(f"User {user_id} is NOT logged out of every session. {exc} Run the command "
                               "again to end the rest.") from exc
        except PynamoSessionsError as exc:
            raise CommandError(str(exc)) from exc
        # Sessions can outlive a deleted account, so they are revoked whether or not the user
        # exists; a mistyped id that matches neither a user nor a session is an error.
        exists = username is not None or _user_exists(user_id)
        if not exists and revoked == 0:
            raise CommandError(f"There is no user with id {user_id!r}, and no session of one.")
        gone = "" if exists else f" (there is no user with id {user_id!r} any more)"
        sessions = f"{revoked} session{'s' if revoked != 1 else ''}"
        unreachable = users.unreachable_caches()
        if unreachable is not None and revoked:
            # Deleted in DynamoDB, but not logged out: say so, and fail, rather than claim it.
            raise CommandError(
                f"Deleted {sessions} of user {user_id} from DynamoDB{gone}, but the user is NOT logged "
                f"out yet: {unreachable} Use a shared cache (pynamo_sessions.E105)."
            )
        if verbosity >= 1:
            self.stdout.write(f"Logged user {user_id} out of {sessions}{gone}.")


def _user_exists(user_id: str) -> bool:
    try:
        return get_user_model()._default_manager.filter(pk=user_id).exists()
    except (ValueError, ValidationError):  # not even a valid primary key for this user model
        return False
