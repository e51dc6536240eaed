"""DYNAMODB_SESSIONS_ABSOLUTE_AGE: no session outlives its creation by more, however active."""

from __future__ import annotations

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
    store.save()
    item = raw_item(store.session_key)
    created, ttl = int(item["created"]["N"]), int(item["ttl"]["N"])
    assert abs(created - time.time()) < 5
    assert ttl <= created + DAY
    assert store.get_expiry_age() <= DAY


@pytest.mark.parametrize("engine", ["pynamo_sessions.backends.dynamodb", "pynamo_sessions.backends.cached_dynamodb"])
def test_activity_never_extends_it(absolute: int, settings: Any, raw: Any, raw_item: Any, engine: str) -> None:
    settings.SESSION_ENGINE = engine
    settings.SESSION_SAVE_EVERY_REQUEST = True
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": engine}}
    client = Client()
    client.get("/increment/")
    key = client.cookies["sessionid"].value
    created = int(raw_item(key)["created"]["N"])
    for _ in range(3):
        response = client.get("/increment/")  # every request slides the idle expiry...
        assert int(raw_item(key)["created"]["N"]) == created  # ...never the creation time
        assert int(response.cookies["sessionid"]["max-age"]) <= DAY
    age_item(raw, settings, key, DAY - 1)  # one second before the deadline
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "x"}}
    response = client.get("/increment/")
    assert int(response.cookies["sessionid"]["max-age"]) <= 1
    assert int(raw_item(key)["ttl"]["N"]) <= created - (DAY - 1) + DAY
    time.sleep(1.1)
    assert client.get("/read/").json() == {"data": {}, "key": None}  # logged out however active


def test_a_lowered_age_applies_to_sessions_already_stored(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_ABSOLUTE_AGE = DAY
    store = SessionStore()
    store["a"] = 1
    store.save()
    assert SessionStore(store.session_key).load() == {"a": 1}
    settings.DYNAMODB_SESSIONS_ABSOLUTE_AGE = 1
    time.sleep(1.1)
    assert SessionStore(store.session_key).load() == {}


def test_a_login_starts_a_new_lifetime(absolute: int, settings: Any, raw: Any, raw_item: Any) -> None:
    client = Client()
    client.get("/increment/")
    anonymous = client.cookies["sessionid"].value
    age_item(raw, settings, anonymous, DAY // 2)  # browsing anonymously for half a day
    client.get("/login/")  # cycle_key, as django.contrib.auth.login does
    key = client.cookies["sessionid"].value
    assert key != anonymous
    assert abs(int(raw_item(key)["created"]["N"]) - time.time()) < 5


async def test_the_async_path_keeps_the_same_deadline(absolute: int, raw_item: Any) -> None:
    from pynamo_sessions import aio

    await aio.connect()
    store = SessionStore()
    await store.aset("a", 1)
    await store.aset_expiry(30 * DAY)
    await store.asave()
    item = raw_item(store.session_key)
    assert int(item["ttl"]["N"]) <= int(item["created"]["N"]) + DAY
    assert await store.aget_expiry_age() <= DAY
