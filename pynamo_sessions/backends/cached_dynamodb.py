"""Like Django's ``cached_db``: reads from the cache, writes through to DynamoDB.

A read-only request on a cache hit makes no DynamoDB call. Writes go to DynamoDB with every
conditional guarantee of the plain engine (merges of parallel saves included) and only then to
the cache, which so holds only what DynamoDB has accepted. The cache holds the signed, encoded
data (not a decoded dict) so that what comes back from it is verified like what comes back from
DynamoDB. A failing cache is logged and otherwise ignored: DynamoDB stays the source of truth,
so nothing is lost and no request fails because of it. While DynamoDB is unavailable, a cache
hit still serves the read; writes fail as they do with the plain engine.

A deleted session (logout, revocation, cycle_key) must never come back through the cache,
whatever runs in parallel with the deletion: a save that wrote DynamoDB just before, or a read
that fetched the item just before, will still write its cache entry afterwards. So:

- a deletion tells the cache first: it leaves a mark under a key of its own
  (``<entry key>:deleted``), which no save or read ever writes, and deletes the entry; only then
  does it delete the item in DynamoDB. If the cache cannot be told, the item is not deleted and
  the request fails (``SessionCacheFailure``): a sign-out the cache did not hear of would be
  served again from it once it is back, and must not be reported as done.
- every read fetches the entry and the mark together (one ``get_many``): a marked session is gone.
- whoever writes an entry (a save, or a read that missed, which fills with ``add`` so as never
  to replace what a save wrote meanwhile) looks at the mark once more right after writing, and
  takes its entry back if the session was deleted meanwhile, or if more than
  ``LATE_WRITE_LIMIT`` seconds passed since it asked DynamoDB.

So an entry written late survives only if the cache evicts the deletion mark within
``LATE_WRITE_LIMIT`` seconds of writing it, before the late writer looks: a mark evicted later
(an LRU cache evicts the older mark before a newer entry) no longer matters, as the entry it
guarded is gone by then.

These hold only with a cache that every process shares (Redis, Memcached, the database cache):
a per-process cache (LocMemCache) cannot hear of a deletion made elsewhere, which
``manage.py check --deploy`` reports as pynamo_sessions.E105.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache

from pynamo_sessions import conf
from pynamo_sessions.backends.dynamodb import SessionStore as DynamoDBStore
from pynamo_sessions.backends.dynamodb import Stored, alive
from pynamo_sessions.exceptions import RevocationIncomplete, SessionCacheFailure
from pynamo_sessions.store import ops, sealing
from pynamo_sessions.store.ops import Steps

# Django's cached_db logs cache failures here, at ERROR, as "Error saving to cache (...)": the
# alerts a project already has on Django's session logger keep working when it switches to us.
django_logger = logging.getLogger("django.contrib.sessions")

KEY_PREFIX = "pynamo_sessions.cached_dynamodb"
DELETED = "deleted"
#: A deletion mark outlives every entry of its session: entries live at most SESSION_COOKIE_AGE,
#: and one written late by a request in flight starts at most this much after the mark.
DELETED_GRACE = 300
#: Seconds between asking DynamoDB and looking at the deletion mark after writing the entry,
#: past which a writer takes its entry back rather than trust it (see the module docstring).
LATE_WRITE_LIMIT = 2.0
#: After a save that merged with another request's, how long before looking again whether that
#: request's (older) cache write replaced ours.
MERGED_RECHECK_DELAY = 0.05


def process_local_cache() -> str | None:
    """The class name of SESSION_CACHE_ALIAS's backend when each process has a cache of its
    own (so a logout in one is not seen by the others), else None."""
    cache = caches[settings.SESSION_CACHE_ALIAS]
    return type(cache).__name__ if isinstance(cache, LocMemCache) else None


class SessionStore(DynamoDBStore):
    """Sessions in DynamoDB with a read-through cache (SESSION_CACHE_ALIAS)."""

    cache_key_prefix = KEY_PREFIX

    def __init__(self, session_key: str | None = None) -> None:
        self._cache = caches[settings.SESSION_CACHE_ALIAS]
        super().__init__(session_key)

    def _cache_key(self, session_key: str) -> str:
        # Keyed by the item key (so with hashed keys the cache holds no raw session key either),
        # where the item really is (after a SECRET_KEY rotation, an HMAC under a fallback):
        # delete_item, which knows only the item key, then marks the very entry reads use.
        return self.cache_key_prefix + self._item_key(session_key, conf.current())

    def _load_steps(self) -> Steps[dict[str, Any]]:
        session_key = self.session_key
        if session_key is not None:
            entry_key = self._cache_key(session_key)
            found = (yield ops.cache("get_many", [entry_key, _mark(entry_key)])) or {}
            if found.get(_mark(entry_key)) == DELETED:
                # Logged out or revoked: an unknown key, without asking DynamoDB (but whether
                # it was revoked, with users tracked and someone to tell).
                yield from self._signed_out_elsewhere_steps(session_key)
                self._session_key = None
                self._lifetime_start = None
                return {}
            cached = found.get(entry_key)
            if cached is not None:
                item_key, held, expires, *rest = cached  # older entries carry fewer fields
                created, version = (*rest, None, None)[:2]
                snapshot = conf.current()
                # Encrypted data is cached as the item holds it, so the cache holds nothing a
                # reader of the table could not read either; a value no key opens is a miss.
                encoded = sealing.text_of(held, snapshot, item_key=item_key, attribute="data")
                # The cache entry expires with the session, but a clock or a timeout may lag.
                if encoded is not None and alive(expires, created, snapshot):
                    # A version that another process has moved on since costs the next save
                    # one merge round, never a lost update.
                    sealed = held if isinstance(held, bytes) else None
                    self._remember(Stored(session_key, item_key, encoded, expires, created, version, sealed))
                    return self.decode(encoded)
        asked = time.monotonic()
        data = yield from super()._load_steps()
        entry = self._entry()
        if entry is not None:
            yield ops.cache("add", *entry)  # never over what a save wrote meanwhile
            yield from self._confirm_steps(entry[0], asked)
        return data

    def _save_steps(self, must_create: bool) -> Steps[None]:
        if self.session_key is None:
            yield from self._create_steps()  # which saves (and caches) through this method
            return
        asked = time.monotonic()
        try:
            yield from super()._save_steps(must_create)
        except UpdateError:
            if self.session_key is not None:  # deleted by another request
                yield ops.cache("delete", self._cache_key(self.session_key))
            raise
        entry = self._entry()
        if entry is not None:
            # What DynamoDB accepted (the merge, after a conflict), unless a later save of this
            # session has cached its own already: two saves that finish together may reach the
            # cache in the other order, and an older entry would hand the next request stale
            # data, whose changes would then undo the later save's.
            if not (yield from self._newer_cached_steps(entry[0])):
                yield ops.cache("set", *entry)
            yield from self._confirm_steps(entry[0], asked, entry)
            if self.merged:
                # This save was written on top of another request's, whose cache write may still
                # be on its way and land after ours: look once more a moment later.
                yield ops.Pause(MERGED_RECHECK_DELAY)
                yield from self._confirm_steps(entry[0], asked, entry)

    def _newer_cached_steps(self, entry_key: str) -> Steps[bool]:
        """Whether the cache holds a later version of this session than this request wrote."""
        found = (yield ops.cache("get_many", [entry_key])) or {}
        return _version(found.get(entry_key)) > _version_of(self._stored)

    def _confirm_steps(self, entry_key: str, asked: float, written: tuple[str, Any, int] | None = None) -> Steps[None]:
        """Right after writing ``entry_key``: take it back if the session was deleted since this
        request asked DynamoDB (at ``asked``, monotonic), or if that was too long ago to tell.
        After a save (``written``), put it back once if an older save's entry replaced it."""
        found = (yield ops.cache("get_many", [entry_key, _mark(entry_key)])) or {}
        if found.get(_mark(entry_key)) == DELETED or time.monotonic() - asked > LATE_WRITE_LIMIT:
            yield ops.cache("delete", entry_key)
        elif written is not None and _version(found.get(entry_key)) < _version_of(self._stored):
            yield ops.cache("set", *written)

    def _delete_item_steps(self, item_key: str) -> Steps[None]:
        # The cache first: if it cannot be told, the item stays and the request fails.
        entry_key = self.cache_key_prefix + item_key
        yield ops.cache("set", _mark(entry_key), DELETED, _mark_seconds(), required=True)
        yield ops.cache("delete", entry_key, required=True)
        yield from super()._delete_item_steps(item_key)

    def delete_items(self, item_keys: Sequence[str]) -> list[str]:
        # Every key is marked before DynamoDB deletes any: whatever happens to the batches, no
        # key that DynamoDB deleted can be served from the cache (one that it did not delete
        # reads as signed out here too, and a new attempt finds it in the user index).
        entry_keys = [self.cache_key_prefix + item_key for item_key in item_keys]
        if entry_keys:
            try:
                self._perform(ops.cache("set_many", {_mark(key): DELETED for key in entry_keys}, _mark_seconds(),
                                        required=True))
                self._perform(ops.cache("delete_many", entry_keys, required=True))
            except SessionCacheFailure as exc:
                raise RevocationIncomplete(
                    f"Signed out none of {len(item_keys)} sessions: {exc}", deleted=[], remaining=list(item_keys),
                    cause=exc,
                ) from exc
        return super().delete_items(item_keys)

    def _entry(self) -> tuple[str, Any, int] | None:
        """The cache entry for what DynamoDB holds for this session: key, value, timeout."""
        stored = self._stored
        if stored is None or stored.session_key != self.session_key:
            return None
        timeout = min(_seconds_until(stored.expires), settings.SESSION_COOKIE_AGE)
        if timeout <= 0:
            return None
        held = stored.sealed if stored.sealed is not None else stored.data
        value = (stored.item_key, held, stored.expires, stored.created, stored.version)
        return self._cache_key(stored.session_key), value, timeout

    # The cache is carried out through Django's cache API: sync, or its async twin.

    def _perform(self, op: ops.Op) -> Any:
        if not isinstance(op, ops.CacheOp):
            return super()._perform(op)
        try:
            return getattr(self._cache, op.method)(*op.args)
        except Exception:  # noqa: BLE001 - any cache backend, any failure: DynamoDB decides
            return self._cache_failed(op)

    async def _aperform(self, client: Any, op: ops.Op) -> Any:
        if not isinstance(op, ops.CacheOp):
            return await super()._aperform(client, op)
        try:
            return await getattr(self._cache, "a" + op.method)(*op.args)
        except Exception:  # noqa: BLE001 - any cache backend, any failure: DynamoDB decides
            return self._cache_failed(op)

    def _cache_failed(self, op: ops.CacheOp) -> None:
        """Log exactly as Django's cached_db does; the read then misses, the write is skipped.
        A required call (a deletion's) raises instead."""
        django_logger.exception("%s (%s)", op.failure, self._cache)
        if op.required:
            raise SessionCacheFailure(
                f"the session cache {settings.SESSION_CACHE_ALIAS!r} ({type(self._cache).__name__}) could not "
                f"be told of the deletion ({op.method} failed; see the log line above), so the session was "
                "NOT signed out: it stays as it was in DynamoDB and in the cache. Try again once the cache "
                "answers."
            ) from sys.exc_info()[1]

    @classmethod
    def clear_expired(cls) -> None:
        DynamoDBStore.clear_expired()


def _version(entry: Any) -> int:
    """The version a cache entry holds (-1 for none, or an entry of an older layout)."""
    if not isinstance(entry, tuple) or len(entry) < 5 or not isinstance(entry[4], int):
        return -1
    return entry[4]


def _version_of(stored: Stored | None) -> int:
    return -1 if stored is None or stored.version is None else stored.version


def _mark(entry_key: str) -> str:
    return entry_key + ":deleted"


def _mark_seconds() -> int:
    return int(settings.SESSION_COOKIE_AGE) + DELETED_GRACE


def _seconds_until(moment: datetime) -> int:
    return int(moment.timestamp() - time.time())
