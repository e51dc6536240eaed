"""Requests through Django's real SessionMiddleware, items checked in DynamoDB Local."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.test import Client

from tests.helpers import count_calls


def cookie(client: Client) -> str:
    return client.cookies[django_settings.SESSION_COOKIE_NAME].value


def test_create_read_modify_cycle_flush(raw_item: Any) -> None:
    client = Client()
    with count_calls() as calls:
        assert client.get("/increment/").json() == {"count": 1}
    assert calls == {"PutItem": 1}
    key = cookie(client)
    item = raw_item(key)
    assert set(item) == {"id", "ttl", "session_data", "version"} and item["ttl"]["N"].isdigit()

    with count_calls() as calls:
        assert client.get("/read/").json() == {"data": {"count": 1}, "key": key}
    assert calls == {"GetItem": 1}

    with count_calls() as calls:
        assert client.get("/increment/").json() == {"count": 2}
    assert calls == {"GetItem": 1, "PutItem": 1}

    client.get("/login/")
    new_key = cookie(client)
    assert new_key != key
    assert raw_item(key) is None
    assert client.get("/read/").json()["data"] == {"count": 2, "user": "alice"}

    with count_calls() as calls:
        client.get("/logout/")
    assert calls == {"DeleteItem": 1}  # flush() clears without loading first
    assert raw_item(new_key) is None
    assert cookie(client) == ""


def test_a_view_that_never_touches_the_session_costs_nothing() -> None:
    client = Client()
    client.get("/increment/")
    with count_calls() as calls:
        client.get("/nothing/")
    assert calls == {}


def test_bogus_cookie_on_a_read_only_page_costs_one_read_and_no_write() -> None:
    client = Client()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = "z" * 32
    with count_calls() as calls:
        assert client.get("/read/").json() == {"data": {}, "key": None}
    assert calls == {"GetItem": 1}


def test_interrupted_session_answers_400(raw: Any, settings: Any) -> None:
    client = Client()
    client.get("/increment/")
    other = Client()
    other.cookies[settings.SESSION_COOKIE_NAME] = cookie(client)
    # The item disappears between this request's read and its write, as when the user logs out
    # in another tab: Django answers SessionInterrupted (400) instead of reviving the session.
    from pynamo_sessions.backends.dynamodb import SessionStore

    original = SessionStore.load

    def load_then_vanish(self: SessionStore) -> dict[str, Any]:
        data = original(self)
        SessionStore().delete(self.session_key)
        return data

    SessionStore.load = load_then_vanish  # type: ignore[method-assign]
    try:
        response = other.get("/increment/")
    finally:
        SessionStore.load = original  # type: ignore[method-assign]
    assert response.status_code == 400
    assert raw_item_absent(raw, settings, cookie(client))


def raw_item_absent(raw: Any, settings: Any, key: str) -> bool:
    return "Item" not in raw.get_item(TableName=settings.DYNAMODB_SESSIONS_TABLE, Key={"id": {"S": key}})
