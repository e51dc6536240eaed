"""The async session API: native on the event loop, the same contract as the sync path.

Each contract case runs through both transports (``via``): the sync methods through the
PynamoDB model, and the async ones through the loop's aiobotocore client, on both engines.
"""

from __future__ import annotations

import logging
import secrets
import threading
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.sessions.backends.base import CreateError, UpdateError
from django.test import AsyncClient

from pynamo_sessions import SessionStorageError, SessionStoreUnavailable, SessionTooLarge
from pynamo_sessions.backends.dynamodb import SessionStore as PlainStore
from pynamo_sessions.store import aio
from pynamo_sessions.store.usage import dynamodb_call
from pynamo_sessions.testing import faultproxy
from pynamo_sessions.testing.faultproxy import FaultProxy
from tests.helpers import Via, count_calls
from tests.test_hardening import HOSTILE_KEYS


async def saved(store_class: type[Any], via: Via, **data: Any) -> Any:
    store = store_class()
    store.update(data)
    await via(store, "save")
    return store


# The contract, through both transports -------------------------------------------------------

async def test_create_then_load(SessionStore: type[Any], via: Via) -> None:
    store = await saved(SessionStore, via, a=1)
    assert await via(SessionStore(store.session_key), "load") == {"a": 1}
    assert await via(SessionStore(), "exists", store.session_key)


async def test_creating_over_a_taken_key_raises_create_error(SessionStore: type[Any], via: Via) -> None:
    store = await saved(SessionStore, via, a=1)
    again = SessionStore(store.session_key)
    again["b"] = 2
    with pytest.raises(CreateError):
        await via(again, "save", True)
    assert await via(SessionStore(store.session_key), "load") == {"a": 1}


async def test_a_session_deleted_between_load_and_save_raises_update_error(SessionStore: type[Any], via: Via) -> None:
    store = await saved(SessionStore, via, a=1)
    racing = SessionStore(store.session_key)
    assert await via(racing, "get", "a") == 1
    await via(SessionStore(), "delete", store.session_key)  # a logout in another request
    racing["a"] = 2
    with pytest.raises(UpdateError):
        await via(racing, "save")
    assert not await via(SessionStore(), "exists", store.session_key)


async def test_an_expired_session_loads_empty(SessionStore: type[Any], via: Via) -> None:
    store = SessionStore()
    store["a"] = 1
    store.set_expiry(-5)  # already expired; DynamoDB's TTL has not removed it yet
    await via(store, "save")
    assert await via(SessionStore(store.session_key), "load") == {}
    assert not await via(SessionStore(), "exists", store.session_key)


@pytest.mark.parametrize("key", HOSTILE_KEYS[:6])
async def test_hostile_keys_never_reach_dynamodb(
    SessionStore: type[Any], via: Via, proxy: FaultProxy, key: str,
) -> None:
    sent = len(proxy.operations)
    store = SessionStore(key)
    assert await via(store, "load") == {}
    assert not await via(store, "exists", key)
    await via(store, "delete", key)
    assert len(proxy.operations) == sent


async def test_cycle_key_and_flush(SessionStore: type[Any], via: Via) -> None:
    store = await saved(SessionStore, via, a=1)
    old = store.session_key
    await via(store, "cycle_key")
    assert store.session_key != old and not await via(SessionStore(), "exists", old)
    assert await via(SessionStore(store.session_key), "load") == {"a": 1}
    new = store.session_key
    await via(store, "flush")
    assert store.session_key is None and not await via(SessionStore(), "exists", new)


async def test_hashed_keys_and_secret_key_fallbacks(SessionStore: type[Any], via: Via, settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_HASH_KEYS = True
    store = await saved(SessionStore, via, a=1)
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "rotated-" + secrets.token_hex(8)
    assert await via(SessionStore(store.session_key), "load") == {"a": 1}


async def test_touch_interval_skips_a_write_that_only_slides_the_expiry(
    SessionStore: type[Any], via: Via, settings: Any, proxy: FaultProxy,
) -> None:
    settings.DYNAMODB_SESSIONS_TOUCH_INTERVAL = 300
    store = await saved(SessionStore, via, a=1)
    reread = SessionStore(store.session_key)
    assert await via(reread, "get", "a") == 1
    writes = proxy.count("PutItem")
    await via(reread, "save")
    assert proxy.count("PutItem") == writes


async def test_user_tracking_writes_the_user_id(via: Via, settings: Any, raw: Any) -> None:
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    store = await saved(PlainStore, via, _auth_user_id="42")
    item = raw.get_item(TableName=settings.DYNAMODB_SESSIONS_TABLE, Key={"id": {"S": store.session_key}})["Item"]
    assert item["user_id"] == {"S": "42"}


async def test_oversized_session_is_refused_before_sending(
    SessionStore: type[Any], via: Via, proxy: FaultProxy,
) -> None:
    store = await saved(SessionStore, via, small="kept")
    store["blob"] = secrets.token_urlsafe(400_000)
    writes = proxy.count("PutItem")
    with pytest.raises(SessionTooLarge):
        await via(store, "save")
    assert proxy.count("PutItem") == writes


async def test_metrics_signal_reports_each_call(via: Via) -> None:
    seen: list[str] = []

    def record(sender: Any, call: Any, **kwargs: Any) -> None:
        seen.append(f"{call.operation}:{call.outcome}")

    dynamodb_call.connect(record)
    try:
        store = await saved(PlainStore, via, a=1)
        await via(PlainStore(store.session_key), "load")
        await via(PlainStore("m" * 32), "load")
    finally:
        dynamodb_call.disconnect(record)
    assert seen == ["PutItem:ok", "GetItem:ok", "GetItem:missing"]


async def test_outage_breaker_and_degraded_mode(via: Via, proxy: FaultProxy, settings: Any) -> None:
    store = await saved(PlainStore, via, a=1)
    proxy.set_fault(faultproxy.DROP)
    for _ in range(3):
        with pytest.raises(SessionStorageError):
            await via(PlainStore(store.session_key), "load")
    sent = len(proxy.operations)
    with pytest.raises(SessionStoreUnavailable):
        await via(PlainStore(store.session_key), "load")
    assert len(proxy.operations) == sent
    settings.DYNAMODB_SESSIONS_ON_UNAVAILABLE = "anonymous"  # a new breaker with the new settings
    degraded = PlainStore(store.session_key)
    assert await via(degraded, "load") == {} and degraded.degraded
    with pytest.raises(SessionStoreUnavailable):
        await via(degraded, "save")


# Native means native ------------------------------------------------------------------------

@pytest.mark.needs_aiobotocore
async def test_native_calls_run_on_the_event_loop_thread(SessionStore: type[Any]) -> None:
    await aio.connect()
    client = aio.client()
    threads: list[int] = []

    def record(**kwargs: Any) -> None:
        threads.append(threading.get_ident())

    client.meta.events.register("before-send.dynamodb", record)
    try:
        with count_calls() as sync_calls:
            store = SessionStore()
            await store.aset("a", 1)
            await store.asave()
            assert await SessionStore(store.session_key).aget("a") == 1
            await store.aflush()
    finally:
        client.meta.events.unregister("before-send.dynamodb", record)
    assert sync_calls == {}
    assert len(threads) >= 2 and set(threads) == {threading.get_ident()}  # the cached engine reads its cache


@pytest.mark.needs_aiobotocore
async def test_the_first_call_on_a_new_loop_does_not_wait_for_the_client() -> None:
    store = PlainStore()
    store["a"] = 1
    with count_calls() as sync_calls:
        await store.asave()  # the client is being built: this one goes through the warm sync one
    assert sync_calls == {"PutItem": 1}
    await aio.connect()
    with count_calls() as sync_calls:
        assert await PlainStore(store.session_key).aload() == {"a": 1}
    assert sync_calls == {}


@pytest.mark.needs_aiobotocore
def test_short_lived_loops_leave_no_client_behind() -> None:
    store = PlainStore()
    store["a"] = 1
    store.save()

    async def load_natively() -> dict[str, Any]:
        await aio.connect()
        assert aio.client() is not None
        return await PlainStore(store.session_key).aload()

    before = aio.open_clients()  # the loops of other tests are theirs to close
    for _ in range(5):
        assert async_to_sync(load_natively)() == {"a": 1}  # a new loop each time
        assert aio.open_clients() == before


def test_without_the_extra_async_methods_run_their_sync_twins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aio, "available", lambda: False)
    assert not aio.available()

    async def roundtrip() -> dict[str, Any]:
        store = PlainStore()
        store["a"] = 1
        await store.asave()
        return await PlainStore(store.session_key).aload()

    with count_calls() as sync_calls:
        assert async_to_sync(roundtrip)() == {"a": 1}
    assert sync_calls == {"PutItem": 1, "GetItem": 1}


# The middleware under ASGI --------------------------------------------------------------------

@pytest.mark.needs_aiobotocore
async def test_async_views_and_the_middleware_use_the_native_path() -> None:
    await aio.connect()
    client = AsyncClient()
    with count_calls() as sync_calls:
        assert (await client.get("/aincrement/")).json() == {"count": 1}
        assert (await client.get("/aincrement/")).json() == {"count": 2}
        assert (await client.get("/aread/")).json() == {"count": 2}
    assert sync_calls == {}


async def test_asgi_503_when_dynamodb_fails(proxy: FaultProxy) -> None:
    await aio.connect()
    client = AsyncClient(raise_request_exception=False)
    await client.get("/aincrement/")
    proxy.set_fault(faultproxy.DROP)
    response = await client.get("/aincrement/")
    assert response.status_code == 503 and response["Retry-After"] == "1"


@pytest.mark.needs_aiobotocore
async def test_a_client_that_cannot_be_built_is_tried_once(
    settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    settings.DYNAMODB_LOCAL_ENDPOINT = None
    settings.DYNAMODB_REGION = None
    with caplog.at_level(logging.WARNING, logger="pynamo_sessions"):
        await aio.connect()  # fails: no region
        for _ in range(3):
            assert aio.client() is None
            with pytest.raises(SessionStorageError, match="no AWS region"):
                await PlainStore("a" * 32).aload()  # the sync path, which says what is wrong
    assert sum("Could not build the async DynamoDB client" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize(
    ("on_lambda", "transport", "native"),
    [
        pytest.param(False, "auto", True, marks=pytest.mark.needs_aiobotocore),
        (True, "auto", False),
        pytest.param(True, "native", True, marks=pytest.mark.needs_aiobotocore),
        (False, "thread", False),
    ],
)
async def test_the_async_transport_on_and_off_lambda(
    settings: Any, monkeypatch: pytest.MonkeyPatch, on_lambda: bool, transport: str, native: bool,
) -> None:
    # On Lambda a process serves one request at a time: native async would only cost aiohttp and
    # a second client at every cold start, so 'auto' runs the sync twins there.
    if on_lambda:
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "sessions")
    else:
        monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    settings.DYNAMODB_SESSIONS_ASYNC_TRANSPORT = transport
    await aio.connect()
    store = PlainStore()
    await store.aset("a", 1)
    with count_calls() as sync_calls:
        await store.asave()
    assert (sync_calls == {}) is native
    assert (aio.client() is not None) is native
    assert await PlainStore(store.session_key).aload() == {"a": 1}
