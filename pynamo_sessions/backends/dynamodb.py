"""Django's session contract on a DynamoDB table, through the PynamoDB model.

Each request costs the fewest calls DynamoDB allows: a read is one GetItem, a new session one
conditional PutItem (no existence check first: the condition is the check), a change one GetItem
and one conditional PutItem, a logout one GetItem and one DeleteItem.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth import SESSION_KEY as AUTH_USER_KEY
from django.contrib.sessions.backends.base import (
    VALID_KEY_CHARS,
    CreateError,
    SessionBase,
    UpdateError,
)
from django.utils import timezone
from django.utils.crypto import get_random_string
from pynamodb.exceptions import PynamoDBException

from pynamo_sessions import calls, cleanup, conf, keys, models, usage
from pynamo_sessions.exceptions import (
    SessionStorageError,
    SessionTooLarge,
    is_condition_failure,
)

logger = logging.getLogger("pynamo_sessions")


@dataclass(frozen=True)
class Stored:
    """What DynamoDB holds for one session, as this store last read or wrote it."""

    session_key: str
    item_key: str  # the key itself, its HMAC, or after a SECRET_KEY rotation an HMAC under a fallback
    data: str  # encoded
    expires: datetime


def _aware(value: datetime) -> datetime:
    # With USE_TZ=False Django hands out naive local times, which TTLAttribute refuses.
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class SessionStore(SessionBase):
    """A session stored as one DynamoDB item: key, signed data and an epoch-seconds TTL."""

    # Set by pynamo_sessions.middleware.ClientInfoMiddleware when the client is tracked.
    client_info: tuple[str, str] | None = None

    #: True when DynamoDB was unavailable and DYNAMODB_SESSIONS_ON_UNAVAILABLE = "anonymous"
    #: gave this request an empty session instead of an error: it reads as an anonymous
    #: visitor's, and any attempt to write, delete or cycle it raises SessionStoreUnavailable.
    degraded: bool = False
    #: The storage error this request's read failed with. It is raised again on every later
    #: access instead of reading again: the auth middleware, the view and Django's debug page
    #: may each touch the session, and each retry would wait out the timeouts once more.
    load_failure: SessionStorageError | None = None

    def __init__(self, session_key: str | None = None) -> None:
        # The last item read or written (the touch interval compares with it), and where each
        # session key this store has met lives: cycle_key deletes the old key's item after the
        # new one is written, and after a SECRET_KEY rotation that item may sit under an HMAC
        # that the current secret does not give.
        self._stored: Stored | None = None
        self._item_keys: dict[str, str] = {}
        super().__init__(session_key)

    @classmethod
    def get_model_class(cls) -> type[models.SessionItem]:
        return models.bound_model()

    # Key handling -----------------------------------------------------------------------

    def _validate_session_key(self, key: Any) -> bool:
        return keys.is_valid(key)

    def _get_new_session_key(self) -> str:
        # Django's version reads DynamoDB to rule out a collision; the conditional put in
        # create() already does, for free, so a new session costs one call instead of two.
        return get_random_string(32, VALID_KEY_CHARS)

    async def _aget_new_session_key(self) -> str:
        return self._get_new_session_key()

    def _item_key(self, session_key: str, snapshot: conf.Snapshot) -> str:
        known = self._item_keys.get(session_key)
        return known if known is not None else keys.item_key(session_key, hashed=snapshot.hash_keys)

    def _remember(self, stored: Stored) -> None:
        self._stored = stored
        self._item_keys[stored.session_key] = stored.item_key

    # Reading ----------------------------------------------------------------------------

    def _fetch(self, session_key: str) -> models.SessionItem | None:
        """The live item for ``session_key``, or None if there is none or it has expired."""
        snapshot = conf.current()
        item = self._get(keys.item_key(session_key, hashed=snapshot.hash_keys), snapshot)
        if item is None and snapshot.hash_keys:
            for fallback in keys.fallback_item_keys(session_key):
                item = self._get(fallback, snapshot)
                if item is not None:
                    break
        # DynamoDB deletes expired items lazily, often days after their TTL: an item still
        # there is not necessarily alive.
        if item is None or item.expires <= datetime.now(UTC):
            return None
        return item

    def _get(self, item_key: str, snapshot: conf.Snapshot) -> models.SessionItem | None:
        model = models.bound_model()
        attempt = calls.begin("GetItem", snapshot)
        try:
            item = model.get(item_key, consistent_read=snapshot.consistent_read)
        except model.DoesNotExist:
            attempt.answered("missing", models.capacity_units(0, consistent=snapshot.consistent_read))
            return None
        except PynamoDBException as exc:
            raise attempt.failed(exc) from exc
        capacity = None
        if usage.wanted(snapshot):
            capacity = models.capacity_units(item.size(), consistent=snapshot.consistent_read)
        attempt.answered("ok", capacity)
        return item

    def load(self) -> dict[str, Any]:
        if self.load_failure is not None:
            raise self.load_failure
        try:
            return self._load()
        except SessionStorageError as error:
            if error.outage and conf.current().on_unavailable == "anonymous":
                # Read-only pages render as for an anonymous visitor; the key is kept (and the
                # cookie left alone) because the stored session is still there, to be used
                # again once DynamoDB is back.
                self.degraded = True
                return {}
            self.load_failure = error
            raise

    def _load(self) -> dict[str, Any]:
        """The session's data from where this engine keeps it."""
        session_key = self.session_key
        item = None if session_key is None else self._fetch(session_key)
        if item is None or session_key is None:
            # An unknown, expired or deleted key is never adopted: the next save creates a
            # session under a fresh key (no session fixation).
            self._session_key = None
            return {}
        self._remember(Stored(session_key, item.key, item.data, item.expires))
        return self.decode(item.data)

    def exists(self, session_key: str | None) -> bool:
        return session_key is not None and keys.is_valid(session_key) and self._fetch(session_key) is not None

    # Writing ----------------------------------------------------------------------------

    def _refuse_write(self, operation: str) -> None:
        """A degraded session was never read: writing it would overwrite the stored session
        with an empty one, and a new key would log its owner out. So it is never written."""
        if self.degraded:
            raise calls.unavailable(operation, conf.current(), calls.retry_after())

    def create(self) -> None:
        self._refuse_write("PutItem")
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                # 32 random characters make this all but impossible (or an expired item that TTL
                # has not removed yet holds the key); the condition kept that item intact.
                logger.warning("New session key collided with a stored session; drawing another.")
                continue
            self.modified = True
            return

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        self._refuse_write("PutItem")
        session_key = self.session_key
        snapshot = conf.current()
        model = models.bound_model()
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        expires = _aware(self.get_expiry_date())
        if not must_create and self._touch_can_wait(data, expires, snapshot):
            return
        attributes: dict[str, Any] = {"data": self.encode(data), "expires": expires}
        if snapshot.track_users:
            attributes.update(self._user_attributes(data, snapshot))
        item = model(self._item_key(session_key, snapshot), **attributes)
        size = item.size()
        if size > models.ITEM_SIZE_LIMIT:
            raise SessionTooLarge(size, models.ITEM_SIZE_LIMIT)
        # Creating, a taken key is never overwritten (not even by an expired item that TTL has
        # not removed yet: create() then draws another key). Updating, the item must still
        # exist: if another request deleted it (logout, revocation), this save must not bring
        # the session back, and Django answers SessionInterrupted.
        condition = model.must_not_exist if must_create else model.must_exist
        attempt = calls.begin("PutItem", snapshot)
        try:
            response = item.save(condition=condition)
        except PynamoDBException as exc:
            if not is_condition_failure(exc):
                raise attempt.failed(exc) from exc
            attempt.answered("condition_failed")
            if must_create:
                raise CreateError from exc
            logger.info("Session %s was deleted by another request; not saving it.",
                        keys.redact(session_key))
            raise UpdateError from exc
        attempt.answered("ok", usage.consumed_capacity(response))
        self._remember(Stored(session_key, item.key, item.data, item.expires))

    def _touch_can_wait(
        self, data: dict[str, Any], expires: datetime, snapshot: conf.Snapshot
    ) -> bool:
        """With a touch interval, skip a write that would only slide the expiry a little."""
        stored = self._stored
        if not snapshot.touch_interval or stored is None or stored.session_key != self.session_key:
            return False
        ahead = (expires - stored.expires).total_seconds()
        # Only ever skip a small step forward: a shorter expiry (set_expiry) is always written.
        return 0 <= ahead < snapshot.touch_interval and self.decode(stored.data) == data

    def _user_attributes(self, data: dict[str, Any], snapshot: conf.Snapshot) -> dict[str, Any]:
        user_id = data.get(AUTH_USER_KEY)
        if user_id is None:
            return {}  # anonymous sessions stay out of the sparse user index
        attributes: dict[str, Any] = {"user_id": str(user_id), "updated": int(time.time())}
        if snapshot.track_client and self.client_info is not None:
            attributes["user_agent"], attributes["ip_address"] = self.client_info
        return attributes

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        if not keys.is_valid(session_key):
            return
        self._refuse_write("DeleteItem")
        self.delete_item(self._item_key(session_key, conf.current()))
        self._item_keys.pop(session_key, None)
        if self._stored is not None and self._stored.session_key == session_key:
            self._stored = None

    def delete_item(self, item_key: str) -> None:
        """Delete the session stored under ``item_key`` (the key, or its HMAC when hashed)."""
        model = models.bound_model()
        attempt = calls.begin("DeleteItem", conf.current())
        try:
            response = model(item_key).delete()
        except PynamoDBException as exc:
            raise attempt.failed(exc) from exc
        attempt.answered("ok", usage.consumed_capacity(response))

    @classmethod
    def clear_expired(cls) -> None:
        cleanup.clear_expired()
