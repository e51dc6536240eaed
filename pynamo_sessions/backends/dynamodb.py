"""Django's session contract on a DynamoDB table, through the PynamoDB model.

Each request costs the fewest calls DynamoDB allows: a read is one GetItem, a new session one
conditional PutItem (no existence check first: the condition is the check), a change one GetItem
and one conditional PutItem, a logout one GetItem and one DeleteItem.

Every rule is written once, in the ``_*_steps`` generators: they yield the DynamoDB (and cache)
operations they need and decide what the answers mean. ``load``/``save``/... run them through the
PynamoDB model; ``aload``/``asave``/... through the running loop's async client, without a
thread hop (see ``pynamo_sessions.store.aio``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from asgiref.sync import sync_to_async
from django.contrib.sessions.backends.base import (
    VALID_KEY_CHARS,
    CreateError,
    SessionBase,
    UpdateError,
)
from django.utils import timezone
from django.utils.crypto import get_random_string

from pynamo_sessions import conf
from pynamo_sessions.backends.lifetime import AbsoluteLifetime
from pynamo_sessions.exceptions import MalformedItem, SessionConflict, SessionStorageError, SessionTooLarge
from pynamo_sessions.store import addresses, aio, calls, keys, models, ops, sealing, transport, wire
from pynamo_sessions.store.ops import Steps, T

logger = logging.getLogger("pynamo_sessions")


class Stored(NamedTuple):
    """What DynamoDB holds for one session, as this store last read or wrote it."""

    session_key: str
    item_key: str  # the key itself, its HMAC, or after a SECRET_KEY rotation an HMAC under a fallback
    data: str  # encoded
    expires: datetime
    created: float | None = None  # epoch seconds, with DYNAMODB_SESSIONS_ABSOLUTE_AGE
    version: int | None = None  # None: the item has no version attribute yet
    sealed: bytes | None = None  # the data as the item holds it, when encrypted (the cache keeps this)


def alive(expires: datetime, created: float | None, snapshot: conf.Snapshot) -> bool:
    """Whether a stored session is still valid. DynamoDB deletes expired items lazily, often
    days after their TTL: an item still there is not necessarily alive. Its TTL never passes the
    absolute deadline, but the deadline is checked too: DYNAMODB_SESSIONS_ABSOLUTE_AGE may have
    been lowered since it was written."""
    now = time.time()
    if expires.timestamp() <= now:
        return False
    age = snapshot.absolute_age
    return age is None or created is None or created + age > now


def _sealed(item: models.SessionItem) -> bytes | None:
    return item.data if isinstance(item.data, bytes) else None


def _aware(value: datetime) -> datetime:
    # With USE_TZ=False Django hands out naive local times, which TTLAttribute refuses.
    return timezone.make_aware(value) if timezone.is_naive(value) else value


class SessionStore(AbsoluteLifetime, SessionBase):
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

    #: True once a save of this store had to merge with another request's (the cached engine
    #: then makes sure the other request's older cache write does not land after its own).
    merged: bool = False

    #: Called (without arguments) when this request's session turns out to have been signed out
    #: from another browser or by staff: our middleware sets it to add a message for the user.
    on_signed_out_elsewhere: Callable[[], None] | None = None

    def __init__(self, session_key: str | None = None) -> None:
        # The last item read or written (the touch interval compares with it), and where each
        # session key this store has met lives: cycle_key deletes the old key's item after the
        # new one is written, and after a SECRET_KEY rotation that item may sit under an HMAC
        # that the current secret does not give.
        self._stored: Stored | None = None
        self._item_keys: dict[str, str] = {}
        self._lifetime_start: float | None = None  # see _created()
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

    def delete_items(self, item_keys: Sequence[str]) -> list[str]:
        """Delete many sessions by item key (signing a user out everywhere): BatchWriteItem, 25
        keys a call, a few calls at once, unconditional as every delete. What DynamoDB leaves
        unprocessed is resent with backoff for a bounded time (``store.deletion``); returns the
        keys deleted, or raises ``RevocationIncomplete``, which lists both the deleted and the
        remaining ones."""
        return transport.delete_all(item_keys)

    @classmethod
    def clear_expired(cls) -> None:
        from pynamo_sessions.operations import cleanup  # a command's job, never a request's: not imported at start-up

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
        if isinstance(op, ops.Pause):
            time.sleep(op.seconds)
            return None
        raise TypeError(f"{type(self).__name__} has no cache; it cannot carry out {op!r}")

    async def _aperform(self, client: Any, op: ops.Op) -> Any:
        if isinstance(op, ops.DynamoDBOp):
            if op.region is not None:
                # The session's home Region: that replica's client on this loop, once it is built.
                client = aio.client(op.region)
                if client is None:
                    return await sync_to_async(transport.send)(op)
            return await aio.send(client, op)
        if isinstance(op, ops.Pause):
            await asyncio.sleep(op.seconds)
            return None
        raise TypeError(f"{type(self).__name__} has no cache; it cannot carry out {op!r}")

    # Key handling -----------------------------------------------------------------------

    def _validate_session_key(self, key: Any) -> bool:
        return keys.is_valid(key)

    def _get_new_session_key(self) -> str:
        # Django's version reads DynamoDB to rule out a collision; the conditional put in
        # create() already does, for free, so a new session costs one call instead of two.
        return keys.new_key(get_random_string(keys.RANDOM_PART, VALID_KEY_CHARS), conf.current().regions)

    async def _aget_new_session_key(self) -> str:
        return self._get_new_session_key()

    def _item_key(self, session_key: str, snapshot: conf.Snapshot) -> str:
        known = self._item_keys.get(session_key)
        return known if known is not None else keys.item_key(session_key, hashed=snapshot.hash_keys,
                                                              prefix=snapshot.key_prefix)

    def _homed_steps(self, op: ops.DynamoDBOp, *, write: bool = False) -> Steps[Any]:
        """Send ``op`` to its session's home Region (``op.region``; an op for this Region's replica
        is yielded as it is, at no cost). When that Region is unavailable (its breaker open, or no
        answer), a read goes to this Region's replica instead (it may lag a little behind), and so
        does a write with DYNAMODB_SESSIONS_HOME_UNAVAILABLE = 'write-locally'; otherwise the error
        stands, and the middleware answers 503."""
        try:
            return (yield op)
        except SessionStorageError as error:
            snapshot = conf.current()
            if not error.outage or (write and snapshot.home_unavailable != conf.WRITE_LOCALLY):
                raise
            # The home breaker's opening was logged once, as a WARNING naming the Region.
            logger.info("Session %s's home Region %s is unavailable; %s in %s instead.",
                        op.operation, op.region, "writing" if write else "reading", snapshot.region)
            return (yield op._replace(region=None))

    def _remember(self, stored: Stored) -> None:
        self._stored = stored
        self._item_keys[stored.session_key] = stored.item_key
        if stored.created is not None:
            self._lifetime_start = stored.created

    # Reading ----------------------------------------------------------------------------

    def _fetch_steps(self, session_key: str) -> Steps[models.SessionItem | None]:
        """The live item for ``session_key``, or None if there is none or it has expired."""
        snapshot = conf.current()
        item_key = keys.item_key(session_key, hashed=snapshot.hash_keys, prefix=snapshot.key_prefix)
        get = ops.Get(item_key, region=keys.home_of_item(item_key, snapshot))
        item = (yield get) if get.region is None else (yield from self._homed_steps(get))
        if item is None and (snapshot.hash_keys or snapshot.unprefixed_fallback):
            for fallback in keys.fallback_item_keys(session_key, hashed=snapshot.hash_keys, prefix=snapshot.key_prefix,
                                                    unprefixed=snapshot.unprefixed_fallback):
                get = ops.Get(fallback, region=keys.home_of_item(fallback, snapshot))
                item = (yield get) if get.region is None else (yield from self._homed_steps(get))
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
            if session_key is not None:
                yield from self._signed_out_elsewhere_steps(session_key)
            # An unknown, expired or deleted key is never adopted: the next save creates a
            # session under a fresh key (no session fixation), with a lifetime of its own.
            self._session_key = None
            self._lifetime_start = None
            return {}
        encoded = self._encoded(item)
        self._remember(Stored(session_key, item.key, encoded, item.expires, getattr(item, "created", None),
                              item.version, _sealed(item)))
        data = self.decode(encoded)
        if conf.current().track_users and getattr(item, "user_id", None) is None and data:
            self._join_user_index(data)
        return data

    def _encoded(self, item: models.SessionItem) -> str:
        """The item's encoded data, opened if it is sealed; a value no key opens (another key,
        tampered with, moved from another item) reads as an empty session, as Django reads data
        whose signature fails."""
        text = sealing.text_of(item.data, conf.current(), item_key=item.key, attribute="data")
        return self.encode({}) if text is None else text

    def _join_user_index(self, data: dict[str, Any]) -> None:
        """A signed-in session stored before DYNAMODB_SESSIONS_TRACK_USERS was on has no user id
        in its item, so the user's list would not show it (not even while viewing it): saving it
        once, at the end of this request, writes the id. Only signed-in sessions, once each."""
        from django.contrib.auth import SESSION_KEY  # only with TRACK_USERS: a cold start skips auth

        if data.get(SESSION_KEY) is not None:
            self.modified = True

    def _signed_out_elsewhere_steps(self, session_key: str) -> Steps[None]:
        """Whether the cookie's session was revoked (users.end, revoke_all), not merely expired
        or unknown: a revocation leaves a small notice item, read here only for a cookie whose
        session is gone, and only when users are tracked (only then are there revocations)."""
        snapshot = conf.current()
        if not snapshot.track_users or self.on_signed_out_elsewhere is None:
            return
        notice_key = keys.internal(keys.SIGNED_OUT_PREFIX, self._item_key(session_key, snapshot), snapshot.key_prefix)
        get = ops.Get(notice_key, region=keys.home_of_item(notice_key, snapshot))
        notice = (yield get) if get.region is None else (yield from self._homed_steps(get))
        if notice is not None and alive(notice.expires, None, snapshot):
            self.on_signed_out_elsewhere()

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
        stored = self._stored if self._stored is not None and self._stored.session_key == session_key else None
        created = self._created()
        version = None if must_create or stored is None else stored.version
        item_key = self._item_key(session_key, snapshot)
        if not must_create and snapshot.key_prefix and not item_key.startswith(snapshot.key_prefix):
            # Read without the prefix (DYNAMODB_SESSIONS_UNPREFIXED_FALLBACK): this save moves it.
            if (yield from self._move_steps(session_key, item_key, data, expires, created, snapshot)):
                return
            item_key = self._item_key(session_key, snapshot)  # moved by a parallel request: merge there
        item, encoded = self._item(item_key, data, expires, created, version, snapshot)
        # Creating, a taken key is never overwritten (not even by an expired item that TTL has
        # not removed yet: create() then draws another key). Updating, the item must still
        # exist at the version this request read: if another request deleted it (logout,
        # revocation), this save must not bring the session back, and Django answers
        # SessionInterrupted; if another request saved it first, the two are merged.
        put = ops.Put(item, must_create, region=keys.home_of_item(item_key, snapshot))
        outcome = (yield put) if put.region is None else (yield from self._homed_steps(put, write=True))
        if outcome != ops.OK:
            if must_create:
                if outcome != ops.RESENT_CONDITION_FAILED:
                    raise CreateError
                yield from self._own_create_steps(item)
                self._remember(Stored(session_key, item.key, encoded, item.expires, created, item.version,
                                      _sealed(item)))
                return
            base = None if stored is None else self.decode(stored.data)
            item, encoded = yield from self._merge_steps(session_key, base, data, created, version, snapshot,
                                                         after=outcome)
            self.merged = True
        self._remember(Stored(session_key, item.key, encoded, item.expires, created, item.version, _sealed(item)))

    def _move_steps(
        self, session_key: str, old_key: str, data: dict[str, Any], expires: datetime, created: float | None,
        snapshot: conf.Snapshot,
    ) -> Steps[bool]:
        """Write the session under its prefixed key (never over one there: a parallel request may
        have moved it first, and then this save merges into that one: False) and delete the
        unprefixed item. True when this save moved it."""
        canonical = keys.item_key(session_key, hashed=snapshot.hash_keys, prefix=snapshot.key_prefix)
        self._item_keys[session_key] = canonical
        item, encoded = self._item(canonical, data, expires, created, None, snapshot)
        put = ops.Put(item, True, region=keys.home_of_item(canonical, snapshot))
        outcome = (yield put) if put.region is None else (yield from self._homed_steps(put, write=True))
        if outcome in (ops.CONDITION_FAILED_OUTCOME, ops.REPLICATED_CONFLICT):
            return False
        if outcome == ops.RESENT_CONDITION_FAILED:
            try:
                yield from self._own_create_steps(item)  # a lost answer to our own write?
            except CreateError:
                return False
        yield from self._delete_item_steps(old_key)
        self._remember(Stored(session_key, canonical, encoded, item.expires, created, item.version, _sealed(item)))
        return True

    def _own_create_steps(self, item: models.SessionItem) -> Steps[None]:
        """A create that botocore sent more than once failed its condition: the key is taken. By
        another session (CreateError: draw another key), or by this very write, when DynamoDB
        carried out the first send but its answer was lost: the item then holds exactly what
        was written, and it is ours. Drawing a new key then would leave it behind, a signed-in
        session no cookie holds. (A create sent once cannot have met itself: CreateError.)"""
        get = ops.Get(item.key, region=keys.home_of_item(item.key, conf.current()))
        current = (yield get) if get.region is None else (yield from self._homed_steps(get))
        same_ttl = current is not None and int(current.expires.timestamp()) == int(item.expires.timestamp())  # whole s
        if current is None or current.data != item.data or not same_ttl:
            raise CreateError
        item.version = current.version  # type: ignore[misc]

    def _merge_steps(
        self, session_key: str, base: dict[str, Any] | None, ours: dict[str, Any], created: float | None,
        conditioned: int | None, snapshot: conf.Snapshot, *, after: str = ops.CONDITION_FAILED_OUTCOME,
    ) -> Steps[tuple[models.SessionItem, str]]:
        """Another request saved this session since it was read (or deleted it): apply the keys
        this request changed to the session as stored now, on its version, a bounded number of
        rounds. Costs one GetItem and one PutItem a round; the fast path costs nothing.
        ``conditioned`` is the version the write that failed was conditioned on, ``after`` how it
        failed (an MRSC replicated write conflict may leave the version where it was)."""
        item_key = self._item_key(session_key, snapshot)
        home = keys.home_of_item(item_key, snapshot)
        for round_number in range(1, ops.MERGE_ROUNDS + 1):
            if round_number > 1:
                yield ops.Pause(ops.pause_before(round_number))
            get = ops.Get(item_key, conflict=ops.REREAD, region=home)
            current = (yield get) if home is None else (yield from self._homed_steps(get))
            if current is None or not alive(current.expires, getattr(current, "created", None), snapshot):
                # Deleted (logout, revocation, cycle_key) or expired: deletion wins, always.
                logger.info("Session %s was deleted by another request; not saving it.", keys.redact(session_key))
                raise UpdateError
            if current.version == conditioned and after != ops.REPLICATED_CONFLICT:
                # Nobody wrote in between (the version would have moved on), so the condition
                # failed on the item itself: every further round would fail the same way.
                raise MalformedItem(
                    f"Session {keys.redact(session_key)}'s item fails the save's condition although no other "
                    f"request changed it (its {snapshot.attr_version!r} attribute reads as {conditioned!r}): "
                    "it was written by another program with values this store cannot condition on. Nothing "
                    "was written; fix or delete the item.", operation="PutItem")
            conditioned = current.version
            merged, changed = ops.merge(base, ours, self.decode(self._encoded(current)))
            logger.debug("Session save conflicted with another request's (round %d); merged keys: %s",
                         round_number, ", ".join(sorted(changed)) or "none")
            # The request's view of the session becomes the merge: its expiry (set_expiry is a
            # key) and user are read from it.
            self._session_cache = merged
            expires = _aware(self.get_expiry_date())
            item, encoded = self._item(current.key, merged, expires, created, current.version, snapshot)
            put = ops.Put(item, False, conflict=ops.MERGED, region=home)
            after = (yield put) if home is None else (yield from self._homed_steps(put, write=True))
            if after == ops.OK:
                return item, encoded
        conflict = SessionConflict(keys.redact(session_key), ops.MERGE_ROUNDS)
        logger.warning("%s", conflict)
        raise conflict

    def _item(
        self, item_key: str, data: dict[str, Any], expires: datetime, created: float | None,
        version: int | None, snapshot: conf.Snapshot,
    ) -> tuple[models.SessionItem, str]:
        """The item to write for ``data``, and the data encoded; raises SessionTooLarge past
        DynamoDB's limit, counting the data as written (sealed, with encryption)."""
        encoded = self.encode(data)
        attributes: dict[str, Any] = {
            "data": sealing.stored_value(encoded, snapshot, item_key=item_key, attribute="data"),
            "expires": expires,
        }
        if created is not None:
            attributes["created"] = created
        if version is not None:
            attributes["version"] = version
        if snapshot.track_users:
            attributes.update(self._user_attributes(data, item_key, snapshot))
        item = wire.new_item(models.bound_model(), item_key, attributes)
        size = item.size()
        if size > models.ITEM_SIZE_LIMIT:
            raise SessionTooLarge(size, models.ITEM_SIZE_LIMIT)
        return item, encoded

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

    def _user_attributes(self, data: dict[str, Any], item_key: str, snapshot: conf.Snapshot) -> dict[str, Any]:
        from django.contrib.auth import SESSION_KEY  # only with TRACK_USERS: a cold start skips auth

        user_id = data.get(SESSION_KEY)
        if user_id is None:
            return {}  # anonymous sessions stay out of the sparse user index
        attributes: dict[str, Any] = {"user_id": keys.user_value(user_id, snapshot.key_prefix),
                                      "updated": int(time.time())}
        if snapshot.track_client and self.client_info is not None:
            user_agent, ip_address = self.client_info
            kept = {"user_agent": user_agent, "ip_address": addresses.kept_address(ip_address, snapshot.client_ip)}
            for name, text in kept.items():
                if text is not None:
                    attributes[name] = sealing.stored_value(text, snapshot, item_key=item_key, attribute=name)
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
        if session_key == self.session_key:
            # This store's own session is gone (flush, logout): the next one is new. cycle_key
            # deletes the old key only after the new one carried the lifetime over.
            self._lifetime_start = None
        self._item_keys.pop(session_key, None)
        if self._stored is not None and self._stored.session_key == session_key:
            self._stored = None

    def _delete_item_steps(self, item_key: str) -> Steps[None]:
        delete = ops.Delete(item_key, region=keys.home_of_item(item_key, conf.current()))
        if delete.region is None:
            yield delete
        else:
            yield from self._homed_steps(delete, write=True)
