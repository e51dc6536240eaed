"""Signals a site connects its own receivers to: a login stored, a session ended by someone.

Both are sent with ``send_robust``: a receiver that raises is logged on ``pynamo_sessions`` and
never fails the login or the sign-out that sent it.
"""

from __future__ import annotations

from django.dispatch import Signal

#: Sent once per login, after the new session has been stored (and the per-user cap applied):
#: never for a ``cycle_key`` or a SECRET_KEY rotation. Arguments: ``request``, ``user``,
#: ``device`` ("Firefox on Linux"), and ``known_device``: whether a live session of the user
#: already had that device (the same browser family and operating system and, where IP
#: addresses are kept, the same network); None when users are not tracked, so it cannot be
#: known. Sender: the session store's class.
session_started = Signal()

#: Sent for each session a revocation ended. Arguments: ``user_id`` (whose session), ``by``
#: (the user or staff member who did it, or None: the application, a command, the cap),
#: ``reason`` (one of ``REASONS``), ``device``, ``ref`` (the session's one-way reference, as
#: the pages show it; never its key) and ``request`` (None outside a request). Sender: None.
session_revoked = Signal()

#: Why a session was revoked.
BY_USER = "user"  # from the user's own sessions page
BY_STAFF = "staff"  # from the staff view
EVERYWHERE = "everywhere"  # "sign out everywhere" (the page, or revoke_all from code)
COMMAND = "command"  # manage.py logoutuser
PASSWORD_CHANGE = "password_change"  # noqa: S105 - a reason, not a password: LOGOUT_ON_PASSWORD_CHANGE
CAP = "cap"  # DYNAMODB_SESSIONS_MAX_PER_USER, at a login past it
REASONS = (BY_USER, BY_STAFF, EVERYWHERE, COMMAND, PASSWORD_CHANGE, CAP)
