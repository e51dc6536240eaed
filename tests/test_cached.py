"""The cached engine: reads from the cache, writes through to DynamoDB, never fails on the cache."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.core.cache import caches
from django.test import Client
from pynamodb.signals import post_dynamodb_send

from pynamo_sessions import SessionStorageError
from pynamo_sessions.backends.cached_dynamodb import DELETED, KEY_PREFIX, SessionStore
from pynamo_sessions.store import ops
from pynamo_sessions.testing import faultproxy
from pynamo_sessions.testing.faultproxy import FaultProxy
from tests.helpers import count_calls

ENGINE = "pynamo_sessions.backends.cached_dynamodb"


@pytest.fixture(autouse=True)
def cached_engine(settings: Any) -> None:
    settings.SESSION_ENGINE = ENGINE


def test_read_only_request_on_a_cache_hit_makes_no_dynamodb_call() -> None:
    client = Client()
    client.get("/increment/")
    with count_calls() as calls:
        assert client.get("/read/").json()["data"] == {"count": 1}
    assert calls == {}


def test_cache_miss_reads_dynamodb_and_fills_the_cache() -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    caches["default"].delete(KEY_PREFIX + store.session_key)
    with count_calls() as calls:
        assert SessionStore(store.session_key).load() == {"a": 1}
    assert calls == {"GetItem": 1}
    with count_calls() as calls:
        assert SessionStore(store.session_key).load() == {"a": 1}
    assert calls == {}


def test_modify_writes_dynamodb_then_the_cache(raw_item: Any) -> None:
    client = Client()
    client.get("/increment/")
    with count_calls() as calls:
        client.get("/increment/")
    assert calls == {"PutItem": 1}  # the read came from the cache
    key = client.cookies["sessionid"].value
    assert SessionStore(key).load() == {"count": 2}
    caches["default"].clear()
    assert SessionStore(key).load() == {"count": 2}  # and DynamoDB has it too


def test_a_failed_write_never_leaves_its_data_in_the_cache(proxy: FaultProxy) -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    store = SessionStore(store.session_key)
    store["a"] = 2
    proxy.fault = faultproxy.THROTTLE
    with pytest.raises(SessionStorageError):
        store.save()
    proxy.fault = faultproxy.PASS
    assert SessionStore(store.session_key).load() == {"a": 1}


def test_delete_clears_dynamodb_and_marks_the_cache(raw_item: Any) -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    key = store.session_key
    SessionStore().delete(key)
    assert deleted_mark(key)
    assert raw_item(key) is None
    with count_calls() as calls:
        assert SessionStore(key).load() == {}
    assert calls == {}  # a logged-out cookie costs no DynamoDB call


# A deletion racing a request never puts the session back into the cache ----------------------

def deleted_mark(key: str) -> bool:
    """Whether the cache holds the deletion mark of ``key``'s session (its own cache key)."""
    return bool(caches["default"].get(KEY_PREFIX + key + ":deleted") == DELETED)


def saved_session() -> str:
    """The key of a session saved with {"a": 1}, through DynamoDB and into the cache."""
    first = SessionStore()
    first["a"] = 1
    first.save()
    assert first.session_key is not None
    return first.session_key


@contextmanager
def revoked_right_after(operation: str, key: str) -> Iterator[list[str]]:
    """Revoke the session (another process: DeleteItem, then the cache) as soon as ``operation``
    has been answered, as a revocation landing in the middle of a request would."""
    done: list[str] = []

    def revoke(sender: Any, operation_name: str, **kwargs: Any) -> None:
        if operation_name == operation and not done:
            done.append(operation_name)
            SessionStore().delete(key)

    post_dynamodb_send.connect(revoke)
    try:
        yield done
    finally:
        post_dynamodb_send.disconnect(revoke)


def test_a_revocation_right_after_a_save_is_not_undone_by_its_cache_write(raw_item: Any) -> None:
    key = saved_session()
    request = SessionStore(key)
    request["a"] = 2  # read from the cache
    with revoked_right_after("PutItem", key) as done:
        request.save()  # written before the revocation: it succeeds
    assert done and raw_item(key) is None
    assert deleted_mark(key)
    assert SessionStore(key).load() == {}  # the revoked session is not served from the cache


def test_a_revocation_before_a_save_wins_and_marks_the_cache(raw_item: Any) -> None:
    key = saved_session()
    request = SessionStore(key)
    request["a"] = 2
    SessionStore().delete(key)
    with pytest.raises(UpdateError):
        request.save()
    assert raw_item(key) is None and deleted_mark(key)
    assert SessionStore(key).load() == {}


def test_a_revocation_during_a_cache_miss_is_not_undone_by_the_read(raw_item: Any) -> None:
    key = saved_session()
    caches["default"].delete(KEY_PREFIX + key)
    with revoked_right_after("GetItem", key) as done:
        assert SessionStore(key).load() == {"a": 1}  # read just before the revocation
    assert done and deleted_mark(key)
    assert SessionStore(key).load() == {}


def test_a_read_never_replaces_what_a_parallel_save_cached() -> None:
    key = saved_session()
    writer = SessionStore(key)
    writer["a"] = 2
    caches["default"].delete(KEY_PREFIX + key)  # the reader misses

    def save_in_between(sender: Any, operation_name: str, **kwargs: Any) -> None:
        post_dynamodb_send.disconnect(save_in_between)
        writer.save()  # after the reader's GetItem, before it fills the cache

    post_dynamodb_send.connect(save_in_between)
    try:
        assert SessionStore(key).load() == {"a": 1}
    finally:
        post_dynamodb_send.disconnect(save_in_between)
    assert SessionStore(key).load() == {"a": 2}  # the cache holds the save, not the older read


def test_logout_elsewhere_interrupts_a_cached_session() -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    racing = SessionStore(store.session_key)
    racing["a"] = 2  # loaded from the cache
    SessionStore(store.session_key).flush()
    with pytest.raises(UpdateError):
        racing.save()
    assert SessionStore(store.session_key).load() == {}


def test_a_failing_cache_is_logged_like_djangos_cached_db_and_never_fails_the_request(
    settings: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "broken": {"BACKEND": "tests.brokencache.BrokenCache"},
    }
    settings.SESSION_CACHE_ALIAS = "broken"
    client = Client()
    with caplog.at_level(logging.ERROR, logger="django.contrib.sessions"):
        assert client.get("/increment/").json() == {"count": 1}
        assert client.get("/increment/").json() == {"count": 2}
        client.get("/logout/")
    # Where Django's cached_db logs it, so alerts on Django's session logger keep working.
    ours = [r for r in caplog.records if r.name == "django.contrib.sessions" and r.levelno == logging.ERROR]
    # Word for word as Django's cached_db logs it (Django's own session tests compare exactly).
    from django.core.cache import caches as all_caches

    broken = all_caches["broken"]
    assert f"Error saving to cache ({broken})" in {r.getMessage() for r in ours}
    assert f"Error reading from cache ({broken})" in {r.getMessage() for r in ours}
    assert all(r.exc_info and r.exc_info[0] is ConnectionError for r in ours)


def test_a_cache_call_the_stores_do_not_make_is_refused_with_its_name() -> None:
    # The failure log line is looked up by method: a new call must be worded first.
    assert ops.cache("set", "k", "v", 5).failure == "Error saving to cache"
    with pytest.raises(ValueError, match="'incr'"):
        ops.cache("incr", "k")


def test_cache_entry_of_an_expired_session_is_ignored(settings: Any) -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    key = store.session_key
    item_key, encoded, *_ = caches["default"].get(KEY_PREFIX + key)
    from datetime import UTC, datetime, timedelta

    caches["default"].set(KEY_PREFIX + key, (item_key, encoded, datetime.now(UTC) - timedelta(seconds=1)))
    with count_calls() as calls:
        assert SessionStore(key).load() == {"a": 1}  # from DynamoDB, which still has it alive
    assert calls == {"GetItem": 1}


def test_hashed_keys_keep_raw_keys_out_of_the_cache(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_HASH_KEYS = True
    store = SessionStore()
    store["a"] = 1
    store.save()
    assert caches["default"].get(KEY_PREFIX + store.session_key) is None
    assert SessionStore(store.session_key).load() == {"a": 1}


def test_two_saves_that_reach_the_cache_in_the_other_order_leave_the_later_one() -> None:
    key = saved_session()
    first, second = SessionStore(key), SessionStore(key)
    first["tab1"] = 1  # both read version 1 from the cache
    second["tab2"] = 1

    def second_saves_first(sender: Any, operation_name: str, **kwargs: Any) -> None:
        if operation_name == "PutItem":  # the first save is written (version 2), not yet cached
            post_dynamodb_send.disconnect(second_saves_first)
            second.save()  # conflicts, merges, writes version 3 and caches it

    post_dynamodb_send.connect(second_saves_first)
    try:
        first.save()
    finally:
        post_dynamodb_send.disconnect(second_saves_first)
    with count_calls() as calls:
        assert SessionStore(key).load() == {"a": 1, "tab1": 1, "tab2": 1}  # from the cache: version 3
    assert calls == {}


def test_a_save_that_merged_puts_its_entry_back_when_the_older_save_lands_after_it() -> None:
    key = saved_session()
    entry_key = KEY_PREFIX + key
    older_entry = caches["default"].get(entry_key)  # what the other request's late write holds
    first, second = SessionStore(key), SessionStore(key)
    first["tab1"] = 1
    second["tab2"] = 1
    first.save()  # version 2: the second, loaded at version 1, will merge on top of it
    perform = second._perform

    def older_write_lands_while_waiting(op: Any) -> Any:
        if isinstance(op, ops.Pause):
            caches["default"].set(entry_key, older_entry)  # the first request's cache write, late
        return perform(op)

    second._perform = older_write_lands_while_waiting  # type: ignore[method-assign]
    second.save()
    assert second.merged
    with count_calls() as calls:
        assert SessionStore(key).load() == {"a": 1, "tab1": 1, "tab2": 1}  # from the cache, not stale
    assert calls == {}
