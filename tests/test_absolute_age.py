"""DYNAMODB_SESSIONS_ABSOLUTE_AGE: no session outlives its creation by more, however active."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from django.test import Client

from pynamo_sessions.backends.dynamodb import SessionStore

DAY = 24 * 3600


@pytest.fixture
def absolute(settings: Any) -> int:
    settings.DYNAMODB_SESSIONS_ABSOLUTE_AGE = DAY
    return DAY


def age_item(raw: Any, settings: Any, key: str, seconds: int) -> None:
    """Move the stored creation time ``seconds`` into the past, as if the session were older."""
    raw.update_item(
        TableName=settings.DYNAMODB_SESSIONS_TABLE, Key={"id": {"S": key}},
        UpdateExpression="SET #c = #c - :s", ExpressionAttributeNames={"#c": "created"},
        ExpressionAttributeValues={":s": {"N": str(seconds)}},
    )


def test_off_by_default_and_then_nothing_is_stored(raw_item: Any) -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    assert "created" not in raw_item(store.session_key)


def test_the_stored_expiry_never_passes_the_deadline(absolute: int, raw_item: Any) -> None:
    store = SessionStore()
    store["a"] = 1
    store.set_expiry(30 * DAY)  # "remember me" asks for a month
    started = time.time()
    store.save()
    item = raw_item(store.session_key)
    created, ttl = float(item["created"]["N"]), int(item["ttl"]["N"])
    assert started - 0.001 <= created <= time.time()
    assert ttl == math.ceil(created + DAY)  # whole seconds, never before the deadline
    assert store.get_expiry_age() <= DAY


def fresh_cache(settings: Any, name: str) -> None:
    """A new, empty LocMemCache: the next read of the cached engine goes to DynamoDB, which
    holds what age_item changed behind the engine's back."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": name}}


@pytest.mark.parametrize("engine", ["pynamo_sessions.backends.dynamodb", "pynamo_sessions.backends.cached_dynamodb"])
def test_activity_never_extends_it(absolute: int, settings: Any, raw: Any, raw_item: Any, engine: str) -> None:
    settings.SESSION_ENGINE = engine
    settings.SESSION_SAVE_EVERY_REQUEST = True
    fresh_cache(settings, engine)
    client = Client()
    client.get("/increment/")
    key = client.cookies["sessionid"].value
    created = float(raw_item(key)["created"]["N"])
    for _ in range(3):
        response = client.get("/increment/")  # every request slides the idle expiry...
        assert float(raw_item(key)["created"]["N"]) == created  # ...never the creation time
        assert int(response.cookies["sessionid"]["max-age"]) <= DAY
    # A minute before the deadline (ample for a slow, busy machine to make the next request):
    age_item(raw, settings, key, DAY - 60)
    fresh_cache(settings, engine + "-aged")
    response = client.get("/increment/")
    assert 0 < int(response.cookies["sessionid"]["max-age"]) <= 60
    assert int(raw_item(key)["ttl"]["N"]) <= math.ceil(created - (DAY - 60) + DAY)
    age_item(raw, settings, key, 60)  # and now past it: no sleeping, no race with the clock
    fresh_cache(settings, engine + "-past")
    assert client.get("/read/").json() == {"data": {}, "key": None}  # logged out however active


def test_the_deadline_is_kept_to_the_second(absolute: int, raw: Any, raw_item: Any, settings: Any) -> None:
    store = SessionStore()
    store["a"] = 1
    started = time.time()
    store.save()
    assert started - 0.001 <= float(raw_item(store.session_key)["created"]["N"]) <= time.time()  # not floored
    age_item(raw, settings, store.session_key, DAY - 100)
    deadline = float(raw_item(store.session_key)["created"]["N"]) + DAY
    before = time.time()
    loaded = SessionStore(store.session_key)
    loaded["b"] = 1
    age = loaded.get_expiry_age()
    loaded.save()
    after = time.time()
    # Neither the creation time nor the seconds left are rounded down: the cookie lasts until the
    # deadline, rounded up to the whole second, and so does the TTL.
    assert math.ceil(deadline - after) <= age <= math.ceil(deadline - before)
    assert int(raw_item(store.session_key)["ttl"]["N"]) == math.ceil(deadline)


def test_cycling_the_key_keeps_the_lifetime(absolute: int, raw: Any, raw_item: Any, settings: Any) -> None:
    # Django cycles the key after a SECRET_KEY rotation and in update_session_auth_hash: neither
    # is a login, and neither may give a session more time.
    store = SessionStore()
    store["a"] = 1
    store.save()
    age_item(raw, settings, store.session_key, DAY // 2)
    aged = float(raw_item(store.session_key)["created"]["N"])
    for _ in range(3):
        loaded = SessionStore(store.session_key)
        loaded.cycle_key()
        assert float(raw_item(loaded.session_key)["created"]["N"]) == aged
        assert loaded.get_expiry_age() <= DAY // 2
        store = loaded


def test_a_lowered_age_applies_to_sessions_already_stored(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_ABSOLUTE_AGE = DAY
    store = SessionStore()
    store["a"] = 1
    store.save()
    assert SessionStore(store.session_key).load() == {"a": 1}
    settings.DYNAMODB_SESSIONS_ABSOLUTE_AGE = 1
    time.sleep(1.1)
    assert SessionStore(store.session_key).load() == {}


@pytest.mark.django_db
@pytest.mark.parametrize("same_user", [False, True])
def test_a_login_starts_a_new_lifetime(
    absolute: int, settings: Any, raw: Any, raw_item: Any, django_user_model: Any, same_user: bool,
) -> None:
    user = django_user_model.objects.create_user("lifetime", password="x")
    client = Client()
    if same_user:
        client.force_login(user)  # signed in half a day ago; now authenticating again
    else:
        client.get("/increment/")  # browsing anonymously for half a day
    before = client.cookies["sessionid"].value
    age_item(raw, settings, before, DAY // 2)
    started = time.time()
    client.force_login(user)  # django.contrib.auth.login: user_logged_in (and cycle_key, when anonymous)
    key = client.cookies["sessionid"].value
    assert (key == before) is same_user  # Django keeps the key when the same user signs in again
    assert started - 0.001 <= float(raw_item(key)["created"]["N"]) <= time.time()


async def test_the_async_path_keeps_the_same_deadline(absolute: int, raw_item: Any) -> None:
    from pynamo_sessions.store import aio

    await aio.connect()
    store = SessionStore()
    await store.aset("a", 1)
    await store.aset_expiry(30 * DAY)
    await store.asave()
    item = raw_item(store.session_key)
    assert int(item["ttl"]["N"]) == math.ceil(float(item["created"]["N"]) + DAY)
    assert await store.aget_expiry_age() <= DAY
