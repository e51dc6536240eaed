"""What a login does beyond Django's: the per-user cap, and the signal that a login was stored.

Connected to Django's ``user_logged_in`` by the app. When it is sent, ``login()`` has cycled the
session's key (so the new session exists) and put the user in it, but nothing has saved that
yet: it is saved here first, so the login is stored before anything reads the user's sessions
(one PutItem more per login: the response saves it again, as it must to send the new cookie,
with whatever the view changed afterwards). Then, with users
tracked, one Query on the user index (most recently used first) finds the user's live sessions:
whether the device was seen among them, and, past DYNAMODB_SESSIONS_MAX_PER_USER, the least
recently used to sign out (at most ``CAP_BATCH``: one batch of deletes).

Parallel logins of one user. The index is eventually consistent: a login may not see another's
new session yet. So each login first joins a short-lived roster item of the user's recent
logins (an UpdateItem, strongly consistent, answering every earlier entry), then reads the index.
A login counts the earlier logins it was told of even where the index does not show them, and
never signs out its own session or one of a login that joined after it (read again from the
roster before deleting): the last of two parallel logins sees both and trims to the cap, and
the first can never remove the second. So two logins at once never leave more than the cap once
both finish, and never remove both new sessions.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings

from pynamo_sessions import conf, signals
from pynamo_sessions.exceptions import DYNAMODB_ERRORS, RevocationIncomplete
from pynamo_sessions.operations import devices, users
from pynamo_sessions.store import addresses, keys, models

logger = logging.getLogger("pynamo_sessions")

#: The most sessions one login signs out (one BatchWriteItem). A user far past a newly lowered
#: cap is trimmed by this many at each login.
CAP_BATCH = 25
#: How many of the user's most recent sessions the new-device check looks at without a cap.
RECENT = 50
#: Seconds a login stays on the user's roster: far longer than the user index takes to show it.
LOGIN_WINDOW = 60.0
ROSTER_PREFIX = "pynamo_sessions:logins:"
ROSTER_ATTRIBUTE = "pynamo_sessions_logins"
#: A roster longer than this (a script logging in non-stop) starts again from the login at hand.
ROSTER_LENGTH = 32


def on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    """``user_logged_in`` receiver: store the login, apply the cap, send ``session_started``."""
    session = getattr(request, "session", None)
    if settings.SESSION_ENGINE not in conf.ENGINES or session is None or session.session_key is None:
        return
    snapshot = conf.current()
    listened = signals.session_started.has_listeners()
    if not listened and not (snapshot.track_users and snapshot.max_per_user):
        return  # nothing to tell and no cap: a login costs what it always did
    user_agent, address = getattr(session, "client_info", None) or (None, None)
    known = None
    if snapshot.track_users:
        known = _govern(request, user, session, snapshot, user_agent, address)
    else:
        session.save()  # stored, as the signal promises
    if not listened:
        return
    answers = signals.session_started.send_robust(
        sender=type(session), request=request, user=user, device=devices.describe(user_agent), known_device=known)
    users.log_failed_receivers("session_started", answers)


def _govern(
    request: Any, user: Any, session: Any, snapshot: conf.Snapshot, user_agent: str | None, address: str | None,
) -> bool | None:
    """Store the login, then: whether its device was known, and the cap. Returns the former."""
    item_key = users.current_key(session)
    assert item_key is not None
    cap = snapshot.max_per_user
    roster = Roster(user.pk) if cap else None
    earlier = roster.join(item_key) if roster else []
    session.save()
    recent, _ = users.recent_sessions(user.pk, cap + CAP_BATCH if cap else RECENT)
    others = [s for s in recent if s.key != item_key]
    known = None if not user_agent else any(_same_device(s, user_agent, address) for s in others)
    if cap:
        assert roster is not None
        _cap(request, user, item_key, cap, others, earlier, roster)
    return known


def _same_device(session: users.UserSession, user_agent: str, address: str | None) -> bool:
    """The same browser family and operating system and, where both addresses are kept, the
    same network."""
    if devices.describe(session.user_agent) != devices.describe(user_agent):
        return False
    theirs, ours = addresses.network_of(session.ip_address), addresses.network_of(address)
    return theirs is None or ours is None or theirs == ours


def _cap(
    request: Any, user: Any, item_key: str, cap: int, others: list[users.UserSession], earlier: list[str],
    roster: Roster,
) -> None:
    listed = {s.key for s in others}
    # Earlier parallel logins the index does not show yet: as recent as this one (one
    # consistent read each, so that a session ended since is not counted).
    pending = [key for key in earlier if key not in listed and key != item_key and _exists(key)]
    excess = 1 + len(others) + len(pending) - cap
    if excess <= 0:
        return
    later = roster.after(item_key)
    # Least recently used first; a later login's session is that login's to keep.
    removable = [s.key for s in reversed(others) if s.key not in later] + pending
    doomed = removable[:min(excess, CAP_BATCH)]
    if not doomed:
        return
    agents = {s.key: s.user_agent for s in others}
    try:
        deleted = users.engine().delete_items(doomed)
    except RevocationIncomplete as exc:
        logger.error("The login of user %s could not sign out every session past DYNAMODB_SESSIONS_MAX_PER_USER "
                     "= %d: %d signed out, %d still signed in (the next login tries again). Cause: %s",
                     user.pk, cap, len(exc.deleted), len(exc.remaining), exc.cause or exc)
        deleted = exc.deleted
    users.leave_notices(deleted)
    logger.info("The login of user %s signed out %d session%s past DYNAMODB_SESSIONS_MAX_PER_USER = %d.",
                user.pk, len(deleted), "" if len(deleted) == 1 else "s", cap)
    users.announce_revoked(user.pk, {key: agents.get(key) for key in deleted}, by=None, reason=signals.CAP,
                           request=request)


def _exists(item_key: str) -> bool:
    """Whether the session is stored and alive (an expired one TTL has not deleted yet is gone)."""
    snapshot = conf.current()
    model = models.bound_model(region=keys.home_of_item(item_key, snapshot))
    try:
        raw = model._get_connection().get_item(item_key, consistent_read=True).get("Item")
    except DYNAMODB_ERRORS:
        return True  # counted: at worst the cap signs out one session too many, never one too few
    item = None if raw is None else models.from_raw(model, raw)
    return item is not None and item.expires.timestamp() > time.time()


class Roster:
    """The user's logins of the last LOGIN_WINDOW seconds, in the order they joined: one item,
    read and written strongly consistently. A failure to reach it is logged and leaves the cap
    to the index alone (as if no login ran in parallel)."""

    def __init__(self, user_id: Any) -> None:
        self.snapshot = conf.current()
        self.key = self.snapshot.key_prefix + ROSTER_PREFIX + str(user_id)

    def join(self, item_key: str) -> list[str]:
        """Add this login; the item keys of the logins that joined before it, oldest first."""
        now = time.time()
        me = {"S": f"{now:.3f}|{item_key}"}
        common = {
            "TableName": self.snapshot.table_name,
            "Key": {self.snapshot.attr_id: {"S": self.key}},
            "ExpressionAttributeNames": {"#logins": ROSTER_ATTRIBUTE, "#ttl": self.snapshot.attr_ttl},
        }
        client = self._client()
        if client is None:
            return []
        try:
            try:
                answer = client.update_item(
                    **common, ReturnValues="ALL_NEW",
                    UpdateExpression="SET #logins = list_append(if_not_exists(#logins, :none), :me), #ttl = :ttl",
                    ConditionExpression="attribute_not_exists(#logins) OR size(#logins) < :most",
                    ExpressionAttributeValues={":none": {"L": []}, ":me": {"L": [me]},
                                               ":ttl": {"N": str(int(now + LOGIN_WINDOW))},
                                               ":most": {"N": str(ROSTER_LENGTH)}},
                )
            except client.exceptions.ConditionalCheckFailedException:
                answer = client.update_item(  # too long: start again from this login, reading the old
                    **common, ReturnValues="ALL_OLD", UpdateExpression="SET #logins = :me, #ttl = :ttl",
                    ExpressionAttributeValues={":me": {"L": [me]}, ":ttl": {"N": str(int(now + LOGIN_WINDOW))}},
                )
                return self._recent(answer.get("Attributes", {}), now)
        except DYNAMODB_ERRORS as exc:
            self._failed(exc)
            return []
        entries = self._recent(answer.get("Attributes", {}), now)
        return entries[:-1] if entries and entries[-1] == item_key else entries

    def after(self, item_key: str) -> set[str]:
        """The item keys of the logins that joined after ``item_key``'s."""
        client = self._client()
        if client is None:
            return set()
        try:
            answer = client.get_item(TableName=self.snapshot.table_name, ConsistentRead=True,
                                     Key={self.snapshot.attr_id: {"S": self.key}})
        except DYNAMODB_ERRORS as exc:
            self._failed(exc)
            return set()
        entries = self._recent(answer.get("Item", {}), time.time())
        # Not there any more: a later login started the roster again, so every entry is later.
        return set(entries[entries.index(item_key) + 1:] if item_key in entries else entries)

    def _recent(self, attributes: dict[str, Any], now: float) -> list[str]:
        found = []
        for entry in (attributes.get(ROSTER_ATTRIBUTE) or {}).get("L", []):
            at, _, key = str(entry.get("S", "")).partition("|")
            try:
                if key and float(at) > now - LOGIN_WINDOW:
                    found.append(key)
            except ValueError:
                continue
        return found

    def _client(self) -> Any:
        try:
            return models.bound_model()._get_connection().connection.client
        except DYNAMODB_ERRORS as exc:
            self._failed(exc)
            return None

    def _failed(self, exc: Exception) -> None:
        logger.warning("The roster of recent logins could not be read or written (%s); the per-user cap counts "
                       "the user index alone for this login.", exc)
