"""A user's sessions: list them and log them out, through the user index, without a scan.

With DYNAMODB_SESSIONS_TRACK_USERS on, every session of a logged-in user carries the user's id
in its own attribute, and a sparse global secondary index on it lists them in one query.
Revoking deletes through the session engine's own delete path (clearing the cache of the cached
engine too), so a request in flight on a revoked session gets SessionInterrupted when it tries
to save, instead of bringing the session back.

    from pynamo_sessions.operations import users

    users.list_sessions(request.user.pk)
    users.revoke_all(request.user.pk, keep=request.session)   # "log out other devices"
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ImproperlyConfigured

from pynamo_sessions import conf, signals
from pynamo_sessions.exceptions import DYNAMODB_ERRORS, RevocationIncomplete, storage_error
from pynamo_sessions.operations import devices
from pynamo_sessions.store import deletion, keys, models, sealing

logger = logging.getLogger("pynamo_sessions")
#: One structured line per session ended (who, whose, why, which device; never the key), for a
#: site's audit log: ``LOGGING = {"loggers": {"pynamo_sessions.audit": {...}}}``.
audit_logger = logging.getLogger("pynamo_sessions.audit")


@dataclass(frozen=True)
class UserSession:
    """One live session of a user.

    ``key`` is what the session is stored under: the session key itself, or its HMAC when
    DYNAMODB_SESSIONS_HASH_KEYS is on. Pass it to ``revoke``. ``ref`` is a one-way digest of
    it, what pages and URLs show: without hashed keys the item key is a live session key, a
    bearer credential that has no place in HTML.
    """

    key: str
    expires: datetime
    last_seen: datetime | None
    user_agent: str | None
    ip_address: str | None
    created: datetime | None = None

    @property
    def ref(self) -> str:
        return reference(self.key)


REF_LENGTH = 16


def reference(item_key: str) -> str:
    return hashlib.sha256(item_key.encode()).hexdigest()[:REF_LENGTH]


def _tracked_model() -> type[models.SessionItem]:
    if not conf.current().track_users:
        raise ImproperlyConfigured(
            "Listing and revoking a user's sessions needs DYNAMODB_SESSIONS_TRACK_USERS = True "
            "(then run `python manage.py createsessiontable` to add the user index)."
        )
    return models.bound_model()


def engine() -> Any:
    if settings.SESSION_ENGINE not in conf.ENGINES:
        raise ImproperlyConfigured(
            f"SESSION_ENGINE is {settings.SESSION_ENGINE!r}; per-user sessions need "
            "'pynamo_sessions.backends.dynamodb' or '...cached_dynamodb'."
        )
    return import_module(settings.SESSION_ENGINE).SessionStore()


def _query(user_id: Any, limit: int | None = None) -> list[dict[str, Any]]:
    """The user's items in the user index, as DynamoDB returns them (at most ``limit``), most
    recently used first where the index is ordered.

    Raw, so that one item written by another program with a value PynamoDB cannot read leaves
    out that item only (``models.from_raw``) instead of failing the whole list, and can still be
    revoked: its key is read without the rest."""
    found: list[dict[str, Any]] = []
    for value in _user_values(user_id):
        start = None
        while limit is None or len(found) < limit:
            items, start = _query_page(value, None if limit is None else limit - len(found), start)
            found.extend(items)
            if not start:
                break
    return found


def _user_values(user_id: Any) -> list[str]:
    """The user index values the user's sessions are under: with the site's key prefix and,
    while DYNAMODB_SESSIONS_UNPREFIXED_FALLBACK moves a site under one, without it."""
    snapshot = conf.current()
    prefixed = keys.user_value(user_id, snapshot.key_prefix)
    if snapshot.unprefixed_fallback and snapshot.key_prefix:
        return [prefixed, keys.user_value(user_id, "")]
    return [prefixed]


def _query_page(value: str, limit: int | None, start: dict[str, Any] | None) -> tuple[list[dict[str, Any]], Any]:
    """One page of the index items under user index value ``value``, newest first, and the key to
    go on from (None: the end)."""
    model = _tracked_model()
    snapshot = conf.current()
    try:
        page = model._get_connection().query(
            value, index_name=snapshot.user_index, exclusive_start_key=start, limit=limit,
            scan_index_forward=False,
        )
    except DYNAMODB_ERRORS as exc:
        error = storage_error("Query", snapshot.table_name, exc, key_attribute=snapshot.attr_id,
                              index=snapshot.user_index)
        logger.error("Session Query failed: %s", error)
        raise error from exc
    return page.get("Items") or [], page.get("LastEvaluatedKey")


def _key(raw: dict[str, Any]) -> str | None:
    value = raw.get(conf.current().attr_id) or {}
    return value.get("S") if isinstance(value.get("S"), str) else None


#: The most sessions of one user that the pages read (one Query of the index's small projected
#: items). A person has a handful; thousands are a script or an attack, and no page should do
#: unbounded work for them: list_sessions(user_id) (no limit) reads them all.
PAGE_READ_LIMIT = 1000


def list_sessions(user_id: Any, *, limit: int | None = None) -> list[UserSession]:
    """The user's live sessions, most recently used first; with ``limit``, only among the first
    ``limit`` the index returns. Expired items are left out even when DynamoDB's TTL has not
    deleted them yet."""
    return _live(_query(user_id, limit))


def recent_sessions(user_id: Any, count: int) -> tuple[list[UserSession], int | None]:
    """The user's ``count`` most recently used live sessions, and how many live ones there are:
    None when there are more than ``count`` (not counted, so as not to read them).

    The user index answers in last-use order (its sort key), so this reads about ``count``
    items, whatever the user has. An index made by an earlier release has no sort key: its first
    page says so (the key it ends at has no last-use time), and then up to PAGE_READ_LIMIT are
    read and sorted here, as before."""
    if len(_user_values(user_id)) > 1:  # moving under a key prefix: both, read and sorted here
        found = _live(_query(user_id, PAGE_READ_LIMIT))
        return found[:count], len(found)
    value = keys.user_value(user_id, conf.current().key_prefix)
    sessions: list[UserSession] = []
    read, start, ordered = 0, None, False
    while True:
        page_limit = count + 1 if start is None or models.USER_INDEX_SORT_KEY in start else PAGE_READ_LIMIT - read
        items, start = _query_page(value, page_limit, start)
        read += len(items)
        sessions += _live(items)
        if not start:
            break  # every one read
        ordered = models.USER_INDEX_SORT_KEY in start
        if (ordered and len(sessions) > count) or (not ordered and read >= PAGE_READ_LIMIT):
            break
    # Sorted here too when every one was read: an index without the sort key answers in no
    # order, and a last page cannot say which kind of index it came from.
    sessions.sort(key=_last_use, reverse=True)
    return sessions[:count], None if start and ordered else len(sessions)


def _last_use(session: UserSession) -> datetime:
    return session.last_seen or session.expires


def _live(raws: list[dict[str, Any]]) -> list[UserSession]:
    now = datetime.now(UTC)
    model = models.bound_model()
    snapshot = conf.current()
    items = (models.from_raw(model, raw, with_data=False) for raw in raws)
    sessions = [
        UserSession(
            key=item.key,
            expires=item.expires,
            last_seen=_datetime(item.updated),
            # Opened for the page when encrypted; one no key opens shows as an unknown device.
            user_agent=sealing.text_of(item.user_agent, snapshot, item_key=item.key, attribute="user_agent"),
            ip_address=sealing.text_of(item.ip_address, snapshot, item_key=item.key, attribute="ip_address"),
            created=_datetime(getattr(item, "created", None)),
        )
        for item in items
        if item is not None and item.expires > now
    ]
    sessions.sort(key=_last_use, reverse=True)
    return sessions


def _datetime(epoch: float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, UTC) if epoch else None


def find(user_id: Any, ref: str, *, limit: int | None = None) -> UserSession | None:
    """The user's live session whose ``ref`` is ``ref``; None for another user's or no one's."""
    return next((s for s in list_sessions(user_id, limit=limit) if s.ref == ref), None)


def current_key(session: SessionBase) -> str | None:
    """What ``session`` is stored under, to compare with ``UserSession.key``."""
    if session.session_key is None:
        return None
    snapshot = conf.current()
    stored_under = getattr(session, "_item_key", None)  # ours knows where it read it (a fallback key)
    if stored_under is not None:
        return stored_under(session.session_key, snapshot)  # type: ignore[no-any-return]
    return keys.item_key(session.session_key, hashed=snapshot.hash_keys, prefix=snapshot.key_prefix)


def revoke(user_id: Any, key: str, *, by: Any = None, reason: str = signals.BY_USER, request: Any = None) -> bool:
    """Log one session of the user out; False when the user has no such session. ``by`` (the
    user or staff member doing it) is named in the log line and the audit trail."""
    agents = _agents(_query(user_id))
    if key not in agents:
        return False
    end(user_id, key, by=by, reason=reason, user_agent=agents[key], request=request)
    return True


def end(
    user_id: Any, key: str, *, by: Any = None, reason: str = signals.BY_USER, user_agent: str | None = None,
    request: Any = None,
) -> None:
    """Delete the session stored under ``key``, which the caller has just found among the user's
    own (``find``, ``list_sessions``, with its ``user_agent``): no second query."""
    engine().delete_item(key)
    logger.info("%s signed out session %s of user %s.", _who(by), reference(key), user_id)
    leave_notices([key])
    announce_revoked(user_id, {key: user_agent}, by=by, reason=reason, request=request)


def announce_revoked(
    user_id: Any, ended: dict[str, str | None], *, by: Any, reason: str, request: Any = None,
) -> None:
    """The audit trail of sessions just ended (by item key, with their user agents): a line on
    ``pynamo_sessions.audit`` and ``signals.session_revoked`` for each. A receiver that fails
    is logged; the sessions are signed out all the same."""
    for key, user_agent in ended.items():
        device, ref = devices.describe(user_agent), reference(key)
        audit_logger.info(
            "session_revoked user_id=%s by=%s reason=%s device=%r ref=%s", user_id, _actor(by), reason, device, ref,
            extra={"event": "session_revoked", "user_id": str(user_id), "by": _actor(by), "reason": reason,
                   "device": device, "ref": ref},
        )
        answers = signals.session_revoked.send_robust(
            sender=None, user_id=user_id, by=by, reason=reason, device=device, ref=ref, request=request)
        log_failed_receivers("session_revoked", answers)


def log_failed_receivers(signal: str, answers: list[tuple[Any, Any]]) -> None:
    for receiver, answer in answers:
        if isinstance(answer, Exception):
            logger.error("A %s receiver (%s) failed: %r", signal, getattr(receiver, "__qualname__", receiver), answer,
                         exc_info=answer)


def _actor(by: Any) -> str:
    """Who did it, for the audit line: ``staff:alice(7)``, ``user:bob(8)`` or ``application``."""
    if by is None:
        return "application"
    return f"{'staff' if getattr(by, 'is_staff', False) else 'user'}:{by.get_username()}({by.pk})"


def _agents(raws: list[dict[str, Any]]) -> dict[str, str | None]:
    """Each listed item's key and user agent (opened when encrypted; None when unreadable)."""
    model, snapshot = models.bound_model(), conf.current()
    found: dict[str, str | None] = {}
    for raw in raws:
        key = _key(raw)
        if key is None:
            continue
        item = models.from_raw(model, raw, with_data=False)
        agent = None if item is None else getattr(item, "user_agent", None)
        found[key] = sealing.text_of(agent, snapshot, item_key=key, attribute="user_agent")
    return found


#: How long a revoked browser can still be told, on its next request, that it was signed out.
NOTICE_SECONDS = 14 * 24 * 3600


def leave_notices(item_keys: list[str]) -> None:
    """Leave word under each revoked session's key that it was signed out from elsewhere, for
    the browser's next request to show (``SessionStore.on_signed_out_elsewhere``). A courtesy,
    not a guarantee: the sessions are already deleted, so a failure here is logged, not raised."""
    if not item_keys:
        return
    snapshot = conf.current()
    until = datetime.now(UTC) + timedelta(seconds=min(NOTICE_SECONDS, settings.SESSION_COOKIE_AGE))
    try:
        # Each in the session's home Region, where its next request reads it.
        for region, group in deletion.by_home(item_keys, snapshot).items():
            model = models.bound_model(region=region)
            with model.batch_write() as batch:
                for key in group:
                    notice = keys.internal(keys.SIGNED_OUT_PREFIX, key, snapshot.key_prefix)
                    batch.save(model(notice, data=sealing.stored_value("", snapshot, item_key=notice,
                                                                       attribute="data"), expires=until))
    except DYNAMODB_ERRORS as exc:
        logger.warning("Could not leave the signed-out notice of %d revoked session%s (%s); they are signed out "
                       "all the same.", len(item_keys), "" if len(item_keys) == 1 else "s", exc)


def revoke_all(
    user_id: Any, *, keep: SessionBase | None = None, by: Any = None, limit: int | None = None,
    reason: str = signals.EVERYWHERE, request: Any = None,
) -> int:
    """Log the user out everywhere (but in ``keep``, the current session, if given); with
    ``limit``, of at most that many sessions (a page's bounded share: press again for the rest).
    Returns how many were signed out. Deleted in batches of 25, several batches at once.

    Raises ``RevocationIncomplete`` when DynamoDB (or the cache) did not let every one be
    deleted in time: it says how many were and were not, is logged with the real cause, and a
    new call finds exactly the ones left."""
    spared = current_key(keep) if keep is not None else None
    # With a limit, the index is read for no more than that (and the spared one).
    agents = _agents(_query(user_id, None if limit is None else limit + 1))
    doomed = [key for key in agents if key != spared][:limit]
    but = " (all but the current one)" if spared else ""
    try:
        deleted = engine().delete_items(doomed) if doomed else []
    except RevocationIncomplete as exc:
        leave_notices(exc.deleted)
        announce_revoked(user_id, {key: agents[key] for key in exc.deleted}, by=by, reason=reason, request=request)
        logger.error("%s could not sign out every session of user %s%s: %d signed out, %d still signed in. "
                     "Cause: %s", _who(by), user_id, but, len(exc.deleted), len(exc.remaining),
                     _cause(exc))
        raise
    leave_notices(deleted)
    announce_revoked(user_id, {key: agents[key] for key in deleted}, by=by, reason=reason, request=request)
    revoked = len(deleted)
    logger.info("%s signed out %d session%s of user %s%s.", _who(by), revoked, "" if revoked == 1 else "s",
                user_id, but)
    return revoked


def _cause(exc: RevocationIncomplete) -> str:
    cause = exc.cause
    return str(exc) if cause is None else f"{type(cause).__name__}: {cause}"


def unreachable_caches() -> str | None:
    """Why a logout or revocation made here cannot reach the other processes of the site, or
    None when it can: with the cached engine on a per-process cache (LocMemCache), every other
    process keeps serving the session from its own cache until the entry expires."""
    if settings.SESSION_ENGINE != conf.CACHED_ENGINE:
        return None
    from pynamo_sessions.backends.cached_dynamodb import process_local_cache

    backend = process_local_cache()
    if backend is None:
        return None
    return (
        f"SESSION_ENGINE is the cached engine and SESSION_CACHE_ALIAS {settings.SESSION_CACHE_ALIAS!r} "
        f"is a {backend}, a cache of each process's own: a logout or revocation is seen only by the "
        "process that makes it, and every other process (each server worker; for manage.py "
        "logoutuser, all of them) keeps serving the session from its own cache until it expires."
    )


def _who(by: Any) -> str:
    if by is None:
        return "The application"
    return f"{'Staff member' if getattr(by, 'is_staff', False) else 'User'} {by.get_username()} (id {by.pk})"


def logout_on_password_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``post_save`` receiver: a user whose password changed is logged out everywhere.

    Connected by the app when DYNAMODB_SESSIONS_LOGOUT_ON_PASSWORD_CHANGE is on. Django's
    ``set_password`` keeps the new raw password in ``_password`` until the save is over, so a
    password change is told from any other save without a query. The session that changes the
    password survives when the view calls ``update_session_auth_hash`` (Django's own views
    do), which moves it to a new key.
    """
    if getattr(instance, "_password", None) is not None and instance.pk is not None:
        revoke_all(instance.pk, reason=signals.PASSWORD_CHANGE)
