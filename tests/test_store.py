"""Django's session contract on DynamoDB Local: create, load, save, delete, expiry, races.

Tests that take the ``SessionStore`` fixture run against both engines, the plain one and the
cached one; the others count DynamoDB calls or edit items behind the engine's back, which only
means something for the plain engine.
"""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.utils import timezone as dj_timezone

from pynamo_sessions.backends.dynamodb import SessionStore
from tests.helpers import count_calls


def expires_in(ttl: int, started: float, seconds: int) -> bool:
    """Whether a stored TTL (whole epoch seconds) is ``seconds`` after some moment between
    ``started`` and now: exact, however long the machine took in between."""
    return int(started + seconds) <= ttl <= time.time() + seconds


def test_new_session_is_created_with_one_conditional_put(raw_item: Any) -> None:
    store = SessionStore()
    store["colour"] = "blue"
    with count_calls() as calls:
        store.save()
    assert calls == {"PutItem": 1}
    assert store.session_key is not None
    item = raw_item(store.session_key)
    assert item is not None
    assert set(item) == {"id", "ttl", "session_data", "version"}
    assert SessionStore(store.session_key).load() == {"colour": "blue"}


def test_ttl_is_integer_epoch_seconds_of_the_expiry(raw_item: Any) -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    ttl = raw_item(store.session_key)["ttl"]["N"]
    assert ttl.isdigit()
    expected = store.get_expiry_date().timestamp()
    assert abs(int(ttl) - expected) <= 1


def test_load_is_one_get_item() -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    with count_calls() as calls:
        assert SessionStore(store.session_key).load() == {"a": 1}
    assert calls == {"GetItem": 1}


def test_modify_is_one_get_and_one_put() -> None:
    first = SessionStore()
    first["a"] = 1
    first.save()
    with count_calls() as calls:
        second = SessionStore(first.session_key)
        second["a"] = 2
        second.save()
    assert calls == {"GetItem": 1, "PutItem": 1}
    assert SessionStore(first.session_key).load() == {"a": 2}


def test_unknown_key_loads_empty_and_is_not_adopted(SessionStore: type[Any]) -> None:
    store = SessionStore("a" * 32)
    assert store.load() == {}
    assert store.session_key is None
    store["x"] = 1
    store.save()
    assert store.session_key != "a" * 32
    assert not SessionStore().exists("a" * 32)


def test_loading_creates_nothing(SessionStore: type[Any], raw_item: Any) -> None:
    store = SessionStore("b" * 32)
    store.load()
    assert raw_item("b" * 32) is None


def test_exists(SessionStore: type[Any]) -> None:
    store = SessionStore()
    store.save()
    assert store.exists(store.session_key)
    assert not store.exists("c" * 32)


def test_delete_removes_the_item(SessionStore: type[Any], raw_item: Any) -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    key = store.session_key
    store.delete()
    assert raw_item(key) is None
    SessionStore().delete(key)  # deleting again is harmless


def test_delete_by_key(SessionStore: type[Any]) -> None:
    store = SessionStore()
    store.save()
    SessionStore().delete(store.session_key)
    assert not SessionStore().exists(store.session_key)


def test_flush_deletes_and_forgets_the_key(SessionStore: type[Any], raw_item: Any) -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    key = store.session_key
    store = SessionStore(key)
    store.flush()
    assert store.session_key is None
    assert raw_item(key) is None


def test_cycle_key_keeps_data_under_a_new_key(SessionStore: type[Any], raw_item: Any) -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    old = store.session_key
    store = SessionStore(old)
    store.cycle_key()
    store.save()
    assert store.session_key != old
    assert raw_item(old) is None
    assert SessionStore(store.session_key).load() == {"a": 1}


def test_expired_item_still_in_the_table_loads_as_empty(raw: Any, settings: Any) -> None:
    # DynamoDB's TTL deletes lazily: the item may sit there for days after it expired.
    store = SessionStore()
    store["secret"] = "x"
    store.save()
    raw.update_item(
        TableName=settings.DYNAMODB_SESSIONS_TABLE,
        Key={"id": {"S": store.session_key}},
        UpdateExpression="SET #t = :past",
        ExpressionAttributeNames={"#t": "ttl"},
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 5)}},
    )
    reloaded = SessionStore(store.session_key)
    assert reloaded.load() == {}
    assert reloaded.session_key is None
    assert not SessionStore().exists(store.session_key)


def test_key_of_an_expired_item_is_not_reused(SessionStore: type[Any], raw: Any, settings: Any,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    # An expired item TTL has not removed yet still holds its key: create() draws another.
    key, fresh = secrets.token_hex(16), secrets.token_hex(16)
    raw.put_item(TableName=settings.DYNAMODB_SESSIONS_TABLE, Item={
        "id": {"S": key}, "ttl": {"N": str(int(time.time()) - 60)}, "session_data": {"S": "old"},
    })
    keys = iter([key, fresh])
    store = SessionStore()
    monkeypatch.setattr(store, "_get_new_session_key", lambda: next(keys))
    store["new"] = True
    store.save()
    assert store.session_key == fresh
    assert SessionStore(fresh).load() == {"new": True}


def test_undecodable_data_gives_an_empty_session(SessionStore: type[Any], raw: Any, settings: Any) -> None:
    key = "d" * 32
    raw.put_item(TableName=settings.DYNAMODB_SESSIONS_TABLE, Item={
        "id": {"S": key}, "ttl": {"N": str(int(time.time()) + 600)},
        "session_data": {"S": "not a signed session"},
    })
    assert SessionStore(key).load() == {}


def test_item_written_by_the_original_snippet_loads(SessionStore: type[Any], raw: Any, settings: Any) -> None:
    # dynamodb_session.py wrote the TTL as Decimal(datetime.timestamp()): a float number.
    encoded = SessionStore().encode({"_auth_user_id": "7", "cart": [1, 2]})
    key = "f" * 32
    raw.put_item(TableName=settings.DYNAMODB_SESSIONS_TABLE, Item={
        "id": {"S": key}, "ttl": {"N": f"{time.time() + 3600:.6f}"}, "session_data": {"S": encoded},
    })
    store = SessionStore(key)
    assert store.load() == {"_auth_user_id": "7", "cart": [1, 2]}
    store["cart"] = [1, 2, 3]
    store.save()  # an existing snippet session is updated in place: nobody is logged out
    assert store.session_key == key
    assert SessionStore(key).load()["cart"] == [1, 2, 3]


def test_create_never_overwrites_a_live_session(SessionStore: type[Any]) -> None:
    first = SessionStore()
    first["owner"] = "alice"
    first.save()
    intruder = SessionStore()
    intruder._session_key = first.session_key
    intruder["owner"] = "mallory"
    with pytest.raises(CreateError):
        intruder.save(must_create=True)
    assert SessionStore(first.session_key).load() == {"owner": "alice"}


def test_create_draws_a_new_key_after_a_collision(SessionStore: type[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    taken = SessionStore()
    taken.save()
    fresh = secrets.token_hex(16)
    keys = iter([taken.session_key, fresh])
    store = SessionStore()
    monkeypatch.setattr(store, "_get_new_session_key", lambda: next(keys))
    store.create()
    assert store.session_key == fresh


def test_save_after_another_request_logged_out_raises_update_error(SessionStore: type[Any]) -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    request_one = SessionStore(store.session_key)
    request_two = SessionStore(store.session_key)
    request_one.load()
    request_two["a"] = 2  # loads too
    request_one.flush()  # logout in one request
    with pytest.raises(UpdateError):
        request_two.save()  # must not resurrect the session
    assert not SessionStore().exists(store.session_key)


@pytest.mark.parametrize("age", [timedelta(seconds=90), 90])
def test_set_expiry_is_stored_in_ttl(SessionStore: type[Any], raw_item: Any, age: Any) -> None:
    store = SessionStore()
    store.set_expiry(age)
    started = time.time()
    store.save()
    assert expires_in(int(raw_item(store.session_key)["ttl"]["N"]), started, 90)
    assert SessionStore(store.session_key).get_expiry_age() <= 90


def test_set_expiry_datetime(SessionStore: type[Any], raw_item: Any) -> None:
    when = dj_timezone.now() + timedelta(hours=3)
    store = SessionStore()
    store.set_expiry(when)
    store.save()
    assert int(raw_item(store.session_key)["ttl"]["N"]) == int(when.timestamp())


def test_session_cookie_age_sets_the_default_expiry(SessionStore: type[Any], raw_item: Any, settings: Any) -> None:
    settings.SESSION_COOKIE_AGE = 1234
    store = SessionStore()
    started = time.time()
    store.save()
    assert expires_in(int(raw_item(store.session_key)["ttl"]["N"]), started, 1234)


def test_expire_at_browser_close_still_expires_on_the_server(SessionStore: type[Any], settings: Any) -> None:
    settings.SESSION_EXPIRE_AT_BROWSER_CLOSE = True
    store = SessionStore()
    store.save()
    loaded = SessionStore(store.session_key)
    assert loaded.get_expire_at_browser_close()
    assert loaded.exists(store.session_key)


def test_short_expiry_really_expires(SessionStore: type[Any]) -> None:
    store = SessionStore()
    store["a"] = 1
    store.set_expiry(1)
    store.save()
    time.sleep(2.1)
    assert SessionStore(store.session_key).load() == {}


@pytest.mark.parametrize("time_zone", ["UTC", "America/New_York", "Asia/Kolkata"])
def test_naive_datetimes_with_use_tz_false(
    SessionStore: type[Any], settings: Any, raw_item: Any, time_zone: str
) -> None:
    settings.USE_TZ = False
    settings.TIME_ZONE = time_zone
    store = SessionStore()
    store["a"] = 1
    store.set_expiry(600)
    started = time.time()
    store.save()
    assert expires_in(int(raw_item(store.session_key)["ttl"]["N"]), started, 600)
    loaded = SessionStore(store.session_key)
    assert loaded.load() == {"a": 1, "_session_expiry": 600}
    started = time.time()
    naive_expiry = dj_timezone.now() + timedelta(seconds=300)
    assert naive_expiry.tzinfo is None
    loaded.set_expiry(naive_expiry)
    loaded.save()
    assert expires_in(int(raw_item(store.session_key)["ttl"]["N"]), started, 300)


def test_custom_attribute_names(SessionStore: type[Any], settings: Any, own_table: str, raw: Any) -> None:
    from pynamo_sessions import create_table

    settings.DYNAMODB_SESSIONS_ATTR_ID = "session_id"
    settings.DYNAMODB_SESSIONS_ATTR_TTL = "expires_at"
    settings.DYNAMODB_SESSIONS_ATTR_SESSION_DATA = "payload"
    settings.DYNAMODB_SESSIONS_ATTR_VERSION = "rev"
    create_table()
    store = SessionStore()
    store["a"] = 1
    store.save()
    item = raw.get_item(TableName=own_table, Key={"session_id": {"S": store.session_key}})["Item"]
    assert set(item) == {"session_id", "expires_at", "payload", "rev"}
    assert item["expires_at"]["N"].isdigit()
    assert SessionStore(store.session_key).load() == {"a": 1}


def test_eventually_consistent_reads_when_asked(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_CONSISTENT_READ = False
    store = SessionStore()
    store["a"] = 1
    store.save()
    time.sleep(0.05)
    assert SessionStore(store.session_key).load() == {"a": 1}


def test_clear_expired_is_a_noop_with_ttl_enabled() -> None:
    store = SessionStore()
    store.save()
    SessionStore.clear_expired()
    assert store.exists(store.session_key)


def test_async_api_round_trip(SessionStore: type[Any]) -> None:
    import asyncio

    async def scenario() -> tuple[dict[str, Any], bool]:
        store = SessionStore()
        await store.aset("a", 1)
        await store.asave()
        loaded = SessionStore(store.session_key)
        data = await loaded.aload()
        await loaded.adelete()
        return data, await SessionStore().aexists(store.session_key)

    data, exists = asyncio.run(scenario())
    assert data == {"a": 1}
    assert exists is False


def test_get_expiry_date_is_aware_with_use_tz(SessionStore: type[Any]) -> None:
    store = SessionStore()
    assert store.get_expiry_date().tzinfo is not None
    assert store.get_expiry_date() > datetime.now(UTC)
