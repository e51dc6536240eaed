"""Like Django's ``cached_db``: reads from the cache, writes through to DynamoDB.

A read-only request on a cache hit makes no DynamoDB call. Writes go to DynamoDB first, with
every conditional guarantee of the plain engine, and only then to the cache; a delete clears
both. The cache holds the signed, encoded data (not a decoded dict) so that what comes back from
it is verified like what comes back from DynamoDB. A failing cache is logged and otherwise
ignored: DynamoDB stays the source of truth, so nothing is lost and no request fails because
of it. While DynamoDB is unavailable, a cache hit still serves the read; writes fail as they do
with the plain engine.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.core.cache import caches

from pynamo_sessions import conf, ops
from pynamo_sessions.backends.dynamodb import SessionStore as DynamoDBStore
from pynamo_sessions.backends.dynamodb import Stored, alive
from pynamo_sessions.ops import Steps

# Django's cached_db logs cache failures here, at ERROR, as "Error saving to cache (...)": the
# alerts a project already has on Django's session logger keep working when it switches to us.
django_logger = logging.getLogger("django.contrib.sessions")

KEY_PREFIX = "pynamo_sessions.cached_dynamodb"


class SessionStore(DynamoDBStore):
    """Sessions in DynamoDB with a read-through cache (SESSION_CACHE_ALIAS)."""

    cache_key_prefix = KEY_PREFIX

    def __init__(self, session_key: str | None = None) -> None:
        self._cache = caches[settings.SESSION_CACHE_ALIAS]
        super().__init__(session_key)

    def _cache_key(self, session_key: str) -> str:
        # Keyed by the item key (so with hashed keys the cache holds no raw session key either),
        # where the item really is (after a SECRET_KEY rotation, an HMAC under a fallback):
        # delete_item, which knows only the item key, then clears the very entry reads use.
        return self.cache_key_prefix + self._item_key(session_key, conf.current())

    def _load_steps(self) -> Steps[dict[str, Any]]:
        session_key = self.session_key
        if session_key is not None:
            cached = yield ops.CacheGet(self._cache_key(session_key))
            if cached is not None:
                item_key, encoded, expires, *rest = cached  # older entries carry fewer fields
                created, version = (*rest, None, None)[:2]
                # The cache entry expires with the session, but a clock or a timeout may lag.
                if alive(expires, created, conf.current()):
                    # A version that another process has moved on since costs the next save
                    # one merge round, never a lost update.
                    self._remember(Stored(session_key, item_key, encoded, expires, created, version))
                    return self.decode(encoded)
        data = yield from super()._load_steps()
        yield from self._cache_stored_steps()
        return data

    def _save_steps(self, must_create: bool) -> Steps[None]:
        if self.session_key is None:
            yield from self._create_steps()  # which saves (and caches) through this method
            return
        try:
            yield from super()._save_steps(must_create)
        except UpdateError:
            if self.session_key is not None:
                yield ops.CacheDelete(self._cache_key(self.session_key))
            raise
        yield from self._cache_stored_steps()

    def _delete_item_steps(self, item_key: str) -> Steps[None]:
        yield from super()._delete_item_steps(item_key)
        yield ops.CacheDelete(self.cache_key_prefix + item_key)

    def _cache_stored_steps(self) -> Steps[None]:
        """Put what DynamoDB holds for this session into the cache, until it expires."""
        stored = self._stored
        if stored is None or stored.session_key != self.session_key:
            return
        timeout = int(stored.expires.timestamp() - time.time())
        if timeout > 0:
            value = (stored.item_key, stored.data, stored.expires, stored.created, stored.version)
            yield ops.CacheSet(self._cache_key(stored.session_key), value, timeout)

    # The cache is carried out through Django's cache API: sync, or its async twin.

    def _perform(self, op: ops.Op) -> Any:
        if not isinstance(op, ops.CacheOp):
            return super()._perform(op)
        try:
            return getattr(self._cache, op.method)(*op.args())
        except Exception:  # noqa: BLE001 - any cache backend, any failure: DynamoDB decides
            return self._cache_failed(op)

    async def _aperform(self, client: Any, op: ops.Op) -> Any:
        if not isinstance(op, ops.CacheOp):
            return await super()._aperform(client, op)
        try:
            return await getattr(self._cache, "a" + op.method)(*op.args())
        except Exception:  # noqa: BLE001 - any cache backend, any failure: DynamoDB decides
            return self._cache_failed(op)

    def _cache_failed(self, op: ops.CacheOp) -> None:
        """Log as Django's cached_db does; the read then misses, the write is skipped."""
        django_logger.exception("%s (%s)", op.failure, self._cache)

    @classmethod
    def clear_expired(cls) -> None:
        DynamoDBStore.clear_expired()
