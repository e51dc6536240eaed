"""A sign-out is final, under the partial failures that would break it: DynamoDB leaving deletes
unprocessed or throttling a batch, a cache that cannot be written, a cache that evicts marks."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.core.cache import caches
from django.core.management import CommandError, call_command
from pynamodb.signals import post_dynamodb_send

from pynamo_sessions import create_table
from pynamo_sessions.backends import cached_dynamodb
from pynamo_sessions.exceptions import RevocationIncomplete, SessionCacheFailure
from pynamo_sessions.operations import users
from pynamo_sessions.store import deletion
from pynamo_sessions.testing.faultproxy import PASS, THROTTLE, UNPROCESSED, FaultProxy
from tests.brokencache import FlakyCache

USER = "41"


@pytest.fixture
def tracked(settings: Any, own_table: str) -> Iterator[str]:
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    create_table()
    yield own_table


@pytest.fixture
def flaky_cache(settings: Any) -> Iterator[None]:
    settings.CACHES = {"default": {"BACKEND": "tests.brokencache.FlakyCache", "LOCATION": "flaky"}}
    settings.SESSION_ENGINE = "pynamo_sessions.backends.cached_dynamodb"
    yield
    FlakyCache.down = False


def signed_in(store_class: type[Any], count: int, user: str = USER) -> list[str]:
    keys = []
    for _ in range(count):
        store = store_class()
        store[SESSION_KEY] = user
        store.save()
        keys.append(store.session_key)
    return keys


def still_signed_in(store_class: type[Any], keys: list[str]) -> set[str]:
    return {key for key in keys if store_class(key).load()}


# DynamoDB answers part of a batch ------------------------------------------------------------

def test_unprocessed_deletes_are_resent_until_every_session_is_signed_out(
    SessionStore: type[Any], proxy: FaultProxy, tracked: str,
) -> None:
    keys = signed_in(SessionStore, 30)
    proxy.fail_next(3, UNPROCESSED)  # the first three BatchWriteItem calls do half their deletes
    assert users.revoke_all(USER) == 30
    assert still_signed_in(SessionStore, keys) == set()
    assert users.list_sessions(USER) == []
    assert proxy.count("BatchWriteItem") > 2  # the unprocessed ones were sent again


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deletion, "RESEND_DEADLINE", 0.3)


@pytest.fixture
def stalls_after_one_delete(proxy: FaultProxy, short_deadline: None) -> Iterator[None]:
    """DynamoDB does one delete of the first batch call, then none: whatever the machine's speed,
    a revocation ends with some sessions deleted and some not."""
    proxy.batch_keep = 1
    proxy.set_fault(UNPROCESSED)

    def stall(sender: Any, operation_name: str, **kwargs: Any) -> None:
        if operation_name == "BatchWriteItem":
            proxy.batch_keep = 0

    post_dynamodb_send.connect(stall)
    yield
    post_dynamodb_send.disconnect(stall)


def test_a_revocation_that_cannot_finish_says_what_was_and_was_not_done_and_a_retry_ends_the_rest(
    SessionStore: type[Any], proxy: FaultProxy, tracked: str, stalls_after_one_delete: None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    keys = signed_in(SessionStore, 30)
    with caplog.at_level(logging.ERROR, logger="pynamo_sessions"), pytest.raises(RevocationIncomplete) as raised:
        users.revoke_all(USER)
    error = raised.value
    assert error.deleted and error.remaining
    assert sorted(error.deleted + error.remaining) == sorted(keys)
    assert f"Signed out {len(error.deleted)} of 30 sessions; {len(error.remaining)} are STILL signed in" in str(error)
    assert "UnprocessedItems" in str(error)
    logged = [r.getMessage() for r in caplog.records if r.name == "pynamo_sessions" and r.levelno == logging.ERROR]
    assert any(f"{len(error.deleted)} signed out, {len(error.remaining)} still signed in" in m for m in logged)
    assert not any("NoneType" in m for m in logged)
    # What DynamoDB deleted is signed out everywhere, the cached engine's cache included.
    assert still_signed_in(SessionStore, error.deleted) == set()
    # A new attempt finds exactly what is left.
    assert {s.key for s in users.list_sessions(USER)} == set(error.remaining)
    proxy.set_fault(PASS)
    assert users.revoke_all(USER) == len(error.remaining)
    assert still_signed_in(SessionStore, keys) == set()


def test_a_throttled_table_stops_a_revocation_with_the_real_cause(
    proxy: FaultProxy, tracked: str, short_deadline: None,
) -> None:
    from pynamo_sessions.backends.dynamodb import SessionStore

    signed_in(SessionStore, 3)
    proxy.set_fault(THROTTLE, only="BatchWriteItem")
    with pytest.raises(RevocationIncomplete, match=r"Signed out 0 of 3 sessions.*ProvisionedThroughputExceeded"):
        users.revoke_all(USER)
    proxy.set_fault(PASS)
    assert users.revoke_all(USER) == 3


@pytest.mark.django_db
def test_the_page_and_the_command_say_a_sign_out_did_not_finish(
    proxy: FaultProxy, tracked: str, stalls_after_one_delete: None, django_user_model: Any, client: Any,
) -> None:
    from pynamo_sessions.backends.dynamodb import SessionStore

    user = django_user_model.objects.create_user("pat", password="pw-1234567")
    signed_in(SessionStore, 8, user=str(user.pk))
    client.force_login(user)
    response = client.post("/account/sessions/revoke-others/")
    assert response.status_code == 503
    page = response.content.decode()
    assert "Signed out 1 other session. 7 are STILL signed in" in page and 'role="alert"' in page
    other = django_user_model.objects.create_user("sam", password="pw-1234567")
    signed_in(SessionStore, 8, user=str(other.pk))
    with pytest.raises(CommandError, match=f"User {other.pk} is NOT logged out of every session"):
        call_command("logoutuser", str(other.pk), stdout=StringIO())
    proxy.set_fault(PASS)
    response = client.post("/account/sessions/revoke-others/")
    assert response.status_code == 200
    assert len(users.list_sessions(user.pk)) == 1  # the current one


# The cache must hear of a deletion, or it did not happen ------------------------------------

def test_a_logout_while_the_cache_is_down_is_not_reported_done_and_cannot_come_back(
    flaky_cache: None, raw_item: Any,
) -> None:
    store = cached_dynamodb.SessionStore()
    store["a"] = 1
    store.save()
    key = store.session_key
    FlakyCache.down = True
    with pytest.raises(SessionCacheFailure, match="NOT signed out"):
        cached_dynamodb.SessionStore(key).delete()
    assert raw_item(key) is not None  # not deleted in DynamoDB either: nothing half done
    FlakyCache.down = False
    assert cached_dynamodb.SessionStore(key).load() == {"a": 1}  # as it was, everywhere
    cached_dynamodb.SessionStore(key).delete()  # once the cache answers, it is final
    assert raw_item(key) is None and cached_dynamodb.SessionStore(key).load() == {}


def test_a_logout_request_while_the_cache_is_down_answers_503(flaky_cache: None, client: Any) -> None:
    assert client.get("/increment/").json() == {"count": 1}
    FlakyCache.down = True
    assert client.get("/logout/").status_code == 503
    FlakyCache.down = False
    assert client.get("/increment/").json() == {"count": 2}  # still signed in, as the 503 said


def test_sign_out_everywhere_while_the_cache_is_down_signs_out_none_and_says_so(
    flaky_cache: None, tracked: str,
) -> None:
    keys = signed_in(cached_dynamodb.SessionStore, 3)
    FlakyCache.down = True
    with pytest.raises(RevocationIncomplete, match="Signed out none of 3 sessions") as raised:
        users.revoke_all(USER)
    assert raised.value.deleted == [] and sorted(raised.value.remaining) == sorted(keys)
    FlakyCache.down = False
    assert still_signed_in(cached_dynamodb.SessionStore, keys) == set(keys)
    assert users.revoke_all(USER) == 3
    assert still_signed_in(cached_dynamodb.SessionStore, keys) == set()


# Eviction order never brings a signed-out session back ---------------------------------------

@pytest.fixture
def tiny_cache(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "tiny", "OPTIONS": {"MAX_ENTRIES": 8, "CULL_FREQUENCY": 8}}}
    settings.SESSION_ENGINE = "pynamo_sessions.backends.cached_dynamodb"


def evict_the_mark(key: str) -> None:
    """Write other keys until the LRU cache has evicted the deletion mark of ``key``."""
    cache = caches["default"]
    mark = cached_dynamodb.KEY_PREFIX + key + ":deleted"
    for i in range(50):
        if not cache.has_key(mark):  # looks without touching it (a get would make it recent)
            return
        cache.set(f"pressure-{i}", "x")
    raise AssertionError("the mark was never evicted")


@pytest.mark.parametrize("operation", ["GetItem", "PutItem"])
def test_a_late_cache_write_does_not_outlive_an_evicted_mark(tiny_cache: None, operation: str) -> None:
    first = cached_dynamodb.SessionStore()
    first["a"] = 1
    first.save()
    key = first.session_key
    late = cached_dynamodb.SessionStore(key)
    if operation == "GetItem":
        caches["default"].delete(cached_dynamodb.KEY_PREFIX + key)  # the late writer is a read that missed
    else:
        late["a"] = 2  # the late writer is a save

    def revoke_in_between(sender: Any, operation_name: str, **kwargs: Any) -> None:
        if operation_name == operation:
            post_dynamodb_send.disconnect(revoke_in_between)
            cached_dynamodb.SessionStore().delete(key)  # lands after DynamoDB answered the late writer

    post_dynamodb_send.connect(revoke_in_between)
    try:
        late.load() if operation == "GetItem" else late.save()
    finally:
        post_dynamodb_send.disconnect(revoke_in_between)
    caches["default"].get(cached_dynamodb.KEY_PREFIX + key)  # the worst order: the entry is the recent one
    evict_the_mark(key)  # memory pressure: the older mark goes first
    assert cached_dynamodb.SessionStore(key).load() == {}


@pytest.mark.django_db
def test_the_staff_view_says_a_sign_out_did_not_finish(
    proxy: FaultProxy, tracked: str, stalls_after_one_delete: None, django_user_model: Any, client: Any,
) -> None:
    from pynamo_sessions.backends.dynamodb import SessionStore

    staff = django_user_model.objects.create_superuser("root", password="pw-1234567")
    subject = django_user_model.objects.create_user("kim", password="pw-1234567")
    signed_in(SessionStore, 6, user=str(subject.pk))
    client.force_login(staff)
    response = client.post(f"/account/sessions/staff/user/{subject.pk}/")
    assert response.status_code == 503
    assert "Signed kim out of 1 session. 5 are STILL signed in" in response.content.decode()
    proxy.set_fault(PASS)
    assert client.post(f"/account/sessions/staff/user/{subject.pk}/").status_code == 200
    assert users.list_sessions(subject.pk) == []
