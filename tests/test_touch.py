"""DYNAMODB_SESSIONS_TOUCH_INTERVAL: no write just to slide the expiry a little."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from pynamo_sessions.backends.dynamodb import SessionStore
from tests.helpers import count_calls


@pytest.fixture
def save_every_request(settings: Any) -> None:
    settings.SESSION_SAVE_EVERY_REQUEST = True


def test_without_a_touch_interval_every_request_writes(save_every_request: None) -> None:
    client = Client()
    client.get("/increment/")
    with count_calls() as calls:
        client.get("/read/")
    assert calls == {"GetItem": 1, "PutItem": 1}


def test_touch_interval_skips_writes_that_only_slide_the_expiry(save_every_request: None, settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_TOUCH_INTERVAL = 300
    client = Client()
    client.get("/increment/")
    with count_calls() as calls:
        for _ in range(5):
            client.get("/read/")
    assert calls == {"GetItem": 5}
    with count_calls() as calls:
        client.get("/increment/")  # changed data is always written
    assert calls == {"GetItem": 1, "PutItem": 1}


def test_touch_interval_writes_once_the_expiry_would_move_enough(save_every_request: None, settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_TOUCH_INTERVAL = 1
    client = Client()
    client.get("/increment/")
    time.sleep(1.1)
    with count_calls() as calls:
        client.get("/read/")
    assert calls == {"GetItem": 1, "PutItem": 1}


def test_set_expiry_is_a_change_and_is_written(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_TOUCH_INTERVAL = 60
    store = SessionStore()
    store["a"] = 1
    store.set_expiry(1000)
    store.save()
    loaded = SessionStore(store.session_key)
    with count_calls() as calls:
        loaded.set_expiry(1000 + 59)  # Django keeps a custom expiry in the data itself
        loaded.save()
    assert calls == {"GetItem": 1, "PutItem": 1}


def test_a_shorter_expiry_is_always_written(settings: Any, raw_item: Any) -> None:
    settings.DYNAMODB_SESSIONS_TOUCH_INTERVAL = 3600
    store = SessionStore()
    store["a"] = 1
    store.save()
    loaded = SessionStore(store.session_key)
    loaded.load()
    loaded.set_expiry(30)
    loaded.save()
    assert int(raw_item(store.session_key)["ttl"]["N"]) <= time.time() + 31
