"""Django's session contract on a DynamoDB table, through the PynamoDB model.

Each request costs the fewest calls DynamoDB allows: a read is one GetItem, a new session one
conditional PutItem (no existence check first: the condition is the check), a change one GetItem
and one conditional PutItem, a logout one GetItem and one DeleteItem.

Every rule is written once, in the ``_*_steps`` generators: they yield the DynamoDB (and cache)
operations they need and decide what the answers mean. ``load``/``save``/... run them through the
PynamoDB model; ``aload``/``asave``/... through the running loop's async client, without a
thread hop (see ``pynamo_sessions.aio``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth import SESSION_KEY as AUTH_USER_KEY
from django.contrib.sessions.backends.base import (
    VALID_KEY_CHARS,
    CreateError,
    SessionBase,
    UpdateError,
)
from django.utils import timezone
from django.utils.crypto import get_random_string

from pynamo_sessions import aio, calls, cleanup, conf, keys, models, ops, transport
from pynamo_sessions.exceptions import SessionStorageError, SessionTooLarge
from pynamo_sessions.ops import Steps, T

logger = logging.getLogger("pynamo_sessions")


@dataclass(frozen=True)
class Stored:
    """What DynamoDB holds for one session, as this store last read or wrote it."""

    session_key: str
    item_key: str  # the key itself, its HMAC, or after a SECRET_KEY rotation an HMAC under a fallback
    data: str  # encoded
    expires: datetime
    created: int | None = None  # epoch seconds, with DYNAMODB_SESSIONS_ABSOLUTE_AGE


def alive(expires: datetime, created: int | None, snapshot: conf.Snapshot) -> bool:
    """Whether a stored session is still valid. DynamoDB deletes expired items lazily, often
    days after their TTL: an item still there is not necessarily alive. Its TTL never passes the
    absolute deadline, but the deadline is checked too: DYNAMODB_SESSIONS_ABSOLUTE_AGE may have
    been lowered since it was written."""
    now = time.time()
    if expires.timestamp() <= now:
        return False
    age = snapshot.absolute_age
    return age is None or created is None or created + age > now


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

    # The contract, sync and async: each runs the same steps --------------------------------

    def load(self) -> dict[str, Any]:
        return self._run(self._guarded_load_steps())

    async def aload(self) -> dict[str, Any]:
        return await self._arun(self._guarded_load_steps)

    def exists(self, session_key: str | None) -> bool:
        return self._run(self._exists_steps(session_key))

    async def aexists(self, session_key: str | None) -> bool:
        return await self._arun(lambda: self._exists_steps(session_key))

    def create(self) -> None:
        self._run(self._create_steps())

    async def acreate(self) -> None:
        await self._arun(self._create_steps)

    def save(self, must_create: bool = False) -> None:
        self._run(self._save_steps(must_create))

    async def asave(self, must_create: bool = False) -> None:
        await self._arun(lambda: self._save_steps(must_create))

    def delete(self, session_key: str | None = None) -> None:
        self._run(self._delete_steps(session_key))

    async def adelete(self, session_key: str | None = None) -> None:
        await self._arun(lambda: self._delete_steps(session_key))

    def delete_item(self, item_key: str) -> None:
        """Delete the session stored under ``item_key`` (the key, or its HMAC when hashed)."""
        self._run(self._delete_item_steps(item_key))

    async def adelete_item(self, item_key: str) -> None:
        await self._arun(lambda: self._delete_item_steps(item_key))

    @classmethod
    def clear_expired(cls) -> None:
        cleanup.clear_expired()

    @classmethod
    async def aclear_expired(cls) -> None:
        # The sweep is a parallel scan with threads of its own, run from a command or a cron
        # job, never on a request: it stays sync and runs in a thread.
        await sync_to_async(cls.clear_expired, thread_sensitive=False)()

    # The drivers: the only places that send ---------------------------------------------

    def _run(self, steps: Steps[T]) -> T:
        return ops.drive(steps, self._perform)

    async def _arun(self, make_steps: Callable[[], Steps[T]]) -> T:
        client = aio.client()
        if client is None:
            # No async extra, or this loop's client is still being built: run the same steps
            # through the sync transport in a thread, as Django's own backends do.
            return await sync_to_async(self._run)(make_steps())
        run = ops.Run(make_steps())
        while (op := run.next()) is not None:
            try:
                run.answered(await self._aperform(client, op))
            except Exception as exc:  # noqa: BLE001 - handed to the steps, which decide
                run.failed(exc)
        return run.value  # type: ignore[return-value]

    def _perform(self, op: ops.Op) -> Any:
        if isinstance(op, ops.DynamoDBOp):
            return transport.send(op)
        raise TypeError(f"{type(self).__name__} has no cache; it cannot carry out {op!r}")

    async def _aperform(self, client: Any, op: ops.Op) -> Any:
        if isinstance(op, ops.DynamoDBOp):
            return await aio.send(client, op)
        raise TypeError(f"{type(self).__name__} has no cache; it cannot carry out {op!r}")

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

    def _fetch_steps(self, session_key: str) -> Steps[models.SessionItem | None]:
        """The live item for ``session_key``, or None if there is none or it has expired."""
        snapshot = conf.current()
        item = yield ops.Get(keys.item_key(session_key, hashed=snapshot.hash_keys))
        if item is None and snapshot.hash_keys:
            for fallback in keys.fallback_item_keys(session_key):
                item = yield ops.Get(fallback)
                if item is not None:
                    break
        if item is None or not alive(item.expires, getattr(item, "created", None), snapshot):
            return None
        return item  # type: ignore[no-any-return]

    def _guarded_load_steps(self) -> Steps[dict[str, Any]]:
        if self.load_failure is not None:
            raise self.load_failure
        try:
            return (yield from self._load_steps())
        except SessionStorageError as error:
            if error.outage and conf.current().on_unavailable == "anonymous":
                # Read-only pages render as for an anonymous visitor; the key is kept (and the
                # cookie left alone) because the stored session is still there, to be used
                # again once DynamoDB is back.
                self.degraded = True
                return {}
            self.load_failure = error
            raise

    def _load_steps(self) -> Steps[dict[str, Any]]:
        """The session's data from where this engine keeps it."""
        session_key = self.session_key
        item = None if session_key is None else (yield from self._fetch_steps(session_key))
        if item is None or session_key is None:
            # An unknown, expired or deleted key is never adopted: the next save creates a
            # session under a fresh key (no session fixation).
            self._session_key = None
            return {}
        self._remember(Stored(session_key, item.key, item.data, item.expires, getattr(item, "created", None)))
        return self.decode(item.data)

    def _session_steps(self, no_load: bool) -> Steps[dict[str, Any]]:
        """Django's ``_get_session``, loading through the steps so that async code does not
        fall back to a sync read."""
        self.accessed = True
        try:
            return self._session_cache  # type: ignore[no-any-return,has-type]
        except AttributeError:
            if self.session_key is None or no_load:
                self._session_cache = {}
            else:
                self._session_cache = yield from self._guarded_load_steps()
            return self._session_cache

    def _exists_steps(self, session_key: str | None) -> Steps[bool]:
        if session_key is None or not keys.is_valid(session_key):
            return False
        return (yield from self._fetch_steps(session_key)) is not None

    # Writing ----------------------------------------------------------------------------

    def _refuse_write(self, operation: str) -> None:
        """A degraded session was never read: writing it would overwrite the stored session
        with an empty one, and a new key would log its owner out. So it is never written."""
        if self.degraded:
            raise calls.unavailable(operation, conf.current(), calls.retry_after())

    def _create_steps(self) -> Steps[None]:
        self._refuse_write("PutItem")
        while True:
            self._session_key = self._get_new_session_key()
            try:
                yield from self._save_steps(must_create=True)
            except CreateError:
                # 32 random characters make this all but impossible (or an expired item that TTL
                # has not removed yet holds the key); the condition kept that item intact.
                logger.warning("New session key collided with a stored session; drawing another.")
                continue
            self.modified = True
            return

    def _save_steps(self, must_create: bool) -> Steps[None]:
        if self.session_key is None:
            yield from self._create_steps()
            return
        self._refuse_write("PutItem")
        session_key = self.session_key
        snapshot = conf.current()
        data = yield from self._session_steps(no_load=must_create)
        expires = _aware(self.get_expiry_date())
        if not must_create and self._touch_can_wait(data, expires, snapshot):
            return
        attributes: dict[str, Any] = {"data": self.encode(data), "expires": expires}
        created = self._created()
        if created is not None:
            attributes["created"] = created
        if snapshot.track_users:
            attributes.update(self._user_attributes(data, snapshot))
        item = models.bound_model()(self._item_key(session_key, snapshot), **attributes)
        size = item.size()
        if size > models.ITEM_SIZE_LIMIT:
            raise SessionTooLarge(size, models.ITEM_SIZE_LIMIT)
        # Creating, a taken key is never overwritten (not even by an expired item that TTL has
        # not removed yet: create() then draws another key). Updating, the item must still
        # exist: if another request deleted it (logout, revocation), this save must not bring
        # the session back, and Django answers SessionInterrupted.
        outcome = yield ops.Put(item, must_create)
        if outcome == ops.CONDITION_FAILED_OUTCOME:
            if must_create:
                raise CreateError
            logger.info("Session %s was deleted by another request; not saving it.", keys.redact(session_key))
            raise UpdateError
        self._remember(Stored(session_key, item.key, item.data, item.expires, created))

    # The absolute lifetime ----------------------------------------------------------------

    def _created(self) -> int | None:
        """When this session was created (epoch seconds), with DYNAMODB_SESSIONS_ABSOLUTE_AGE
        set: as stored, or now for a session not stored yet. A login cycles the key into a new
        session, so it starts a new lifetime (see the README)."""
        if conf.current().absolute_age is None:
            return None
        stored = self._stored
        if stored is not None and stored.session_key == self.session_key and stored.created is not None:
            return stored.created
        return int(time.time())

    def _seconds_left(self) -> int | None:
        age = conf.current().absolute_age
        created = self._created()
        if age is None or created is None:
            return None
        return max(0, int(created + age - time.time()))

    def _cap_age(self, age: int) -> int:
        left = self._seconds_left()
        return age if left is None else min(age, left)

    def _cap_date(self, expiry: datetime) -> datetime:
        left = self._seconds_left()
        return expiry if left is None else min(expiry, timezone.now() + timedelta(seconds=left))

    # The cookie's max-age and the stored TTL both stop at the absolute deadline.

    def get_expiry_age(self, **kwargs: Any) -> int:
        return self._cap_age(super().get_expiry_age(**kwargs))

    async def aget_expiry_age(self, **kwargs: Any) -> int:
        return self._cap_age(await super().aget_expiry_age(**kwargs))

    def get_expiry_date(self, **kwargs: Any) -> datetime:
        return self._cap_date(super().get_expiry_date(**kwargs))

    async def aget_expiry_date(self, **kwargs: Any) -> datetime:
        return self._cap_date(await super().aget_expiry_date(**kwargs))

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

    def _delete_steps(self, session_key: str | None) -> Steps[None]:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        if not keys.is_valid(session_key):
            return
        self._refuse_write("DeleteItem")
        yield from self._delete_item_steps(self._item_key(session_key, conf.current()))
        self._item_keys.pop(session_key, None)
        if self._stored is not None and self._stored.session_key == session_key:
            self._stored = None

    def _delete_item_steps(self, item_key: str) -> Steps[None]:
        yield ops.Delete(item_key)
