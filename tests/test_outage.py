"""When DynamoDB fails: the breaker, the 503, degraded sessions, the cached engine, on the wire.

Every fault is injected by the fault proxy between botocore and DynamoDB Local.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.core.exceptions import ImproperlyConfigured
from django.test import AsyncClient, Client

from pynamo_sessions import SessionStorageError, SessionStoreUnavailable, SessionTableMissing, conf
from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.store import calls, models
from pynamo_sessions.store.breaker import CLOSED, OPEN
from pynamo_sessions.testing import faultproxy
from pynamo_sessions.testing.faultproxy import FaultProxy
from tests.helpers import count_calls

COOKIE = "sessionid"


@pytest.fixture
def saved(proxy: FaultProxy) -> str:
    store = SessionStore()
    store["count"] = 7
    store.save()
    assert store.session_key is not None
    return store.session_key


def client_with(key: str) -> Client:
    client = Client(raise_request_exception=False)
    client.cookies[COOKIE] = key
    return client


def fail_reads(key: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(SessionStorageError):
            SessionStore(key).load()


# The breaker ---------------------------------------------------------------------------------

def test_breaker_opens_fails_fast_probes_and_closes(
    proxy: FaultProxy, saved: str, settings: Any, caplog: pytest.LogCaptureFixture,
) -> None:
    settings.DYNAMODB_SESSIONS_BREAKER_THRESHOLD = 3
    settings.DYNAMODB_SESSIONS_BREAKER_COOLDOWN = 1.0
    proxy.set_fault(faultproxy.DROP)
    with caplog.at_level(logging.INFO, logger="pynamo_sessions"):
        fail_reads(saved, 3)
        assert calls.breaker().state == OPEN
        sent = len(proxy.operations)
        started = time.monotonic()
        for _ in range(20):
            with pytest.raises(SessionStoreUnavailable) as info:
                SessionStore(saved).load()
        assert time.monotonic() - started < 1.5  # no network, no timeouts
        assert len(proxy.operations) == sent
        assert info.value.retry_after == 1 and info.value.operation == "GetItem"
        assert "considered unavailable" in str(info.value) and "BREAKER_COOLDOWN" in str(info.value)
        time.sleep(1.05)
        proxy.set_fault(faultproxy.PASS)
        assert SessionStore(saved).load() == {"count": 7}  # the trial call
        assert calls.breaker().state == CLOSED
    messages = [r.getMessage() for r in caplog.records if "circuit breaker" in r.getMessage()]
    assert len(messages) == 3  # one line per change of state, none per request
    assert messages[0].startswith("Session store circuit breaker opened: 3 of 3 calls")
    assert messages[1].startswith("Session store circuit breaker probing")
    assert messages[2].startswith("Session store circuit breaker closed")


def test_a_failed_trial_opens_it_again(proxy: FaultProxy, saved: str, settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_BREAKER_THRESHOLD = 1
    settings.DYNAMODB_SESSIONS_BREAKER_COOLDOWN = 0.5
    proxy.set_fault(faultproxy.THROTTLE)
    fail_reads(saved, 1)
    time.sleep(0.55)
    sent = proxy.count("GetItem")
    with pytest.raises(SessionStorageError) as info:
        SessionStore(saved).load()  # the trial, throttled through its retries
    assert not isinstance(info.value, SessionStoreUnavailable)
    assert proxy.count("GetItem") == sent + 2
    with pytest.raises(SessionStoreUnavailable):
        SessionStore(saved).load()


@pytest.mark.parametrize("engine", ["pynamo_sessions.backends.dynamodb", "pynamo_sessions.backends.cached_dynamodb"])
def test_failed_conditions_never_count_as_failures(proxy: FaultProxy, settings: Any, engine: str) -> None:
    from importlib import import_module

    settings.SESSION_ENGINE = engine
    settings.DYNAMODB_SESSIONS_BREAKER_THRESHOLD = 1
    store_class = import_module(engine).SessionStore
    for _ in range(3):
        store = store_class()
        store["a"] = 1
        store.save()
        SessionStore().delete(store.session_key)  # logged out elsewhere
        store["a"] = 2
        with pytest.raises(UpdateError):
            store.save()
    assert calls.breaker().state == CLOSED


def test_errors_that_are_not_outages_never_open_it(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_TABLE = "no-such-table"
    settings.DYNAMODB_SESSIONS_BREAKER_THRESHOLD = 1
    for _ in range(3):
        with pytest.raises(SessionTableMissing):
            SessionStore("a" * 32).load()
    assert calls.breaker().state == CLOSED


def test_a_hang_is_bounded_by_the_default_timeouts(proxy: FaultProxy, saved: str, settings: Any) -> None:
    for setting in (conf.Conf.CONNECT_TIMEOUT, conf.Conf.READ_TIMEOUT, conf.Conf.MAX_RETRY_ATTEMPTS):
        setattr(settings, setting.name, setting.default)  # production's, not the proxy fixture's
    config = models.bound_model()._get_connection().connection.client.meta.config
    assert (config.connect_timeout, config.read_timeout, config.retries["total_max_attempts"]) == (0.5, 0.5, 2)
    proxy.set_fault(faultproxy.BLACKHOLE)
    started = time.monotonic()
    with pytest.raises(SessionStorageError) as info:
        SessionStore(saved).load()
    elapsed = time.monotonic() - started
    proxy.set_fault(faultproxy.PASS)
    assert info.value.outage and proxy.count("GetItem") == 2  # two attempts, each cut at 0.5 s
    assert elapsed < 5  # not the 6-9 s of the old defaults; `make soak` prints the real figures


def test_a_5xx_from_dynamodb_is_an_outage(proxy: FaultProxy, saved: str, settings: Any) -> None:
    # PynamoDB re-raises botocore's error without its status code; the original still has it.
    settings.DYNAMODB_SESSIONS_BREAKER_THRESHOLD = 1
    proxy.set_fault(faultproxy.SERVER_ERROR)
    with pytest.raises(SessionStorageError) as info:
        SessionStore(saved).load()
    assert info.value.code == "InternalServerError" and info.value.outage
    assert calls.breaker().state == OPEN


# A hot key is not an outage ------------------------------------------------------------------

@pytest.mark.parametrize(
    ("reasons", "hot"),
    [
        (["TableReadKeyRangeThroughputExceeded"], True),
        (["TableWriteKeyRangeThroughputExceeded", "IndexWriteKeyRangeThroughputExceeded"], True),
        (["TableReadProvisionedThroughputExceeded"], False),
        (["TableWriteMaxOnDemandThroughputExceeded"], False),
        (["IndexReadAccountLimitExceeded"], False),
        (["TableReadKeyRangeThroughputExceeded", "TableReadProvisionedThroughputExceeded"], False),
        ([], False),  # no reasons (DynamoDB Local, older endpoints): the table's, as before
    ],
)
def test_only_throttling_of_a_key_range_alone_is_a_hot_key(reasons: list[str], hot: bool) -> None:
    from pynamo_sessions.exceptions import is_hot_key

    assert is_hot_key(reasons) is hot


def hot_key_beside_another_session(proxy: FaultProxy, hot: str, **data: Any) -> SessionStore:
    """Another visitor's session holding ``data``, saved; then only ``hot``'s key is throttled."""
    other = SessionStore()
    other.update(data)
    other.save()
    proxy.hot_keys = {hot}
    proxy.set_fault(faultproxy.HOT_KEY)
    return other


def test_a_hot_key_is_throttled_alone_and_never_opens_the_breaker(
    proxy: FaultProxy, saved: str, settings: Any,
) -> None:
    from pynamo_sessions import SessionThrottled

    settings.DYNAMODB_SESSIONS_BREAKER_THRESHOLD = 1
    other = hot_key_beside_another_session(proxy, saved, count=1)
    for _ in range(5):
        with pytest.raises(SessionThrottled) as info:
            SessionStore(saved).load()
        assert info.value.hot_key and not info.value.outage
        assert "this one session's key (TableReadKeyRangeThroughputExceeded)" in str(info.value)
    assert calls.breaker().state == CLOSED
    assert SessionStore(other.session_key).load() == {"count": 1}  # everyone else is served
    hot_response = client_with(saved).get("/increment/")
    assert hot_response.status_code == 503 and hot_response["Retry-After"] == "1"
    assert client_with(other.session_key).get("/increment/").json() == {"count": 2}
    proxy.set_fault(faultproxy.PASS)
    assert SessionStore(saved).load() == {"count": 7}  # nothing was lost


def test_table_wide_throttling_still_opens_the_breaker(proxy: FaultProxy, saved: str, settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_BREAKER_THRESHOLD = 1
    proxy.throttling_reasons = ["TableReadProvisionedThroughputExceeded"]
    proxy.set_fault(faultproxy.THROTTLE)
    with pytest.raises(SessionStorageError) as info:
        SessionStore(saved).load()
    assert info.value.outage and "TableReadProvisionedThroughputExceeded" in str(info.value)
    assert calls.breaker().state == OPEN


async def test_a_hot_key_on_the_async_path(proxy: FaultProxy, saved: str, settings: Any) -> None:
    from pynamo_sessions import SessionThrottled
    from pynamo_sessions.store import aio

    settings.DYNAMODB_SESSIONS_BREAKER_THRESHOLD = 1
    await aio.connect()
    proxy.hot_keys = {saved}
    proxy.set_fault(faultproxy.HOT_KEY)
    with pytest.raises(SessionThrottled) as info:
        await SessionStore(saved).aload()
    assert info.value.hot_key and calls.breaker().state == CLOSED


def test_the_retry_mode_reaches_botocore_and_adaptive_is_refused_with_why(settings: Any) -> None:
    client = models.bound_model()._get_connection().connection.client
    assert client.meta.config.retries == {"total_max_attempts": 2, "mode": "standard"}
    admin = models.bound_model(admin=True)._get_connection().connection.client
    assert admin.meta.config.retries["mode"] == "standard"
    assert admin.meta.config.read_timeout == 30.0
    settings.DYNAMODB_SESSIONS_RETRY_MODE = "adaptive"
    with pytest.raises(ImproperlyConfigured, match="rate limiter per process, which slows every visitor"):
        conf.current()


def test_a_hot_key_never_drains_the_retry_quota_other_sessions_need(proxy: FaultProxy, saved: str) -> None:
    """botocore's standard mode keeps one retry quota per client (500; a throttled retry that fails
    again costs 5 and gives nothing back). A hundred and ten throttled requests on one key would
    leave other sessions' transient errors without a retry."""
    from pynamo_sessions import SessionThrottled

    other = hot_key_beside_another_session(proxy, saved, n=1)
    for _ in range(110):
        with pytest.raises(SessionThrottled):
            SessionStore(saved).load()
    assert proxy.faulted == 220  # the hot key is still retried as configured
    proxy.fail_next(1, faultproxy.SERVER_ERROR)  # another visitor's read meets one 500: retried
    assert SessionStore(other.session_key).load() == {"n": 1}


@pytest.mark.needs_aiobotocore
async def test_the_async_client_spares_the_quota_too(proxy: FaultProxy) -> None:
    from pynamo_sessions.store import aio

    await aio.connect()
    events = aio.client().meta.events
    handler = getattr(events, "_emitter", events)._unique_id_handlers["retry-config-dynamodb"]["handler"]
    assert getattr(handler, "pynamo_sessions_wrapped", False)


# One request, one failed read ----------------------------------------------------------------

def test_a_failed_read_is_remembered_for_the_rest_of_the_request(proxy: FaultProxy, saved: str) -> None:
    proxy.set_fault(faultproxy.DROP)
    store = SessionStore(saved)
    with pytest.raises(SessionStorageError) as first:
        store.get("count")
    sent = len(proxy.operations)
    for _ in range(3):
        with pytest.raises(SessionStorageError) as again:
            store.get("count")
        assert again.value is first.value
    assert len(proxy.operations) == sent


def test_debug_page_does_not_read_again(proxy: FaultProxy, saved: str, settings: Any) -> None:
    settings.DEBUG = True
    proxy.set_fault(faultproxy.DROP)
    response = client_with(saved).get("/whoami/")
    assert response.status_code == 503
    assert proxy.count("GetItem") == 2  # one read: the first attempt and its one retry


# The HTTP answer -----------------------------------------------------------------------------

@pytest.mark.parametrize("fault", [faultproxy.DROP, faultproxy.RESET, faultproxy.THROTTLE, faultproxy.SERVER_ERROR])
def test_a_failed_read_in_a_view_answers_503_with_retry_after(proxy: FaultProxy, saved: str, fault: str) -> None:
    proxy.set_fault(fault)
    response = client_with(saved).get("/increment/")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert "no-store" in response["Cache-Control"]
    assert "Set-Cookie" not in response.headers
    assert proxy.count("PutItem") == 1  # only the fixture's


def test_a_failed_save_in_the_middleware_answers_503(proxy: FaultProxy, saved: str) -> None:
    proxy.set_fault(faultproxy.SERVER_ERROR, only="PutItem")
    response = client_with(saved).get("/increment/")
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert "Set-Cookie" not in response.headers
    proxy.set_fault(faultproxy.PASS)
    assert SessionStore(saved).load() == {"count": 7}


def test_retry_after_is_the_cooldown_left_while_open(proxy: FaultProxy, saved: str, settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_BREAKER_THRESHOLD = 2
    settings.DYNAMODB_SESSIONS_BREAKER_COOLDOWN = 30.0
    proxy.set_fault(faultproxy.DROP)
    fail_reads(saved, 2)
    response = client_with(saved).get("/read/")
    assert response.status_code == 503
    assert 29 <= int(response["Retry-After"]) <= 30


def test_a_500_from_an_inner_layer_that_read_the_session_becomes_503(
    proxy: FaultProxy, saved: str, settings: Any,
) -> None:
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.middleware.ReadsUserMiddleware"]
    proxy.set_fault(faultproxy.DROP)
    response = client_with(saved).get("/nothing/")
    assert response.status_code == 503 and response["Retry-After"] == "1"


def test_the_page_that_never_touches_the_session_is_unaffected(proxy: FaultProxy, saved: str) -> None:
    proxy.set_fault(faultproxy.BLACKHOLE)
    with count_calls() as sent:
        response = client_with(saved).get("/nothing/")
    proxy.set_fault(faultproxy.PASS)
    assert response.status_code == 200 and sent == {}


async def test_503_under_asgi_too(proxy: FaultProxy, saved: str) -> None:
    proxy.set_fault(faultproxy.DROP)
    client = AsyncClient(raise_request_exception=False)
    client.cookies[COOKIE] = saved
    response = await client.get("/increment/")
    assert response.status_code == 503 and response["Retry-After"] == "1"


# Degraded mode -------------------------------------------------------------------------------

@pytest.fixture
def degraded(settings: Any, proxy: FaultProxy, saved: str) -> str:
    settings.DYNAMODB_SESSIONS_ON_UNAVAILABLE = "anonymous"
    proxy.set_fault(faultproxy.DROP)
    return saved


def test_degraded_read_only_page_answers_200_as_anonymous(degraded: str, proxy: FaultProxy) -> None:
    response = client_with(degraded).get("/whoami/")
    assert response.status_code == 200
    assert response.json() == {"user": "AnonymousUser", "degraded": True}
    assert "Set-Cookie" not in response.headers  # the cookie is kept, not deleted


def test_degraded_read_only_page_is_not_saved_even_when_saving_every_request(
    degraded: str, proxy: FaultProxy, settings: Any,
) -> None:
    settings.SESSION_SAVE_EVERY_REQUEST = True
    response = client_with(degraded).get("/read/")
    assert response.status_code == 200 and response.json()["data"] == {}
    assert proxy.count("PutItem") == 1  # only the fixture's


@pytest.mark.parametrize("path", ["/increment/", "/login/", "/logout/"])
def test_degraded_writes_answer_503_and_write_nothing(degraded: str, proxy: FaultProxy, path: str) -> None:
    response = client_with(degraded).get(path)
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert "Set-Cookie" not in response.headers  # no new key handed out, none taken away
    assert proxy.count("PutItem") == 1  # only the fixture's
    proxy.set_fault(faultproxy.PASS)
    assert SessionStore(degraded).load() == {"count": 7}  # the stored session is intact


@pytest.mark.parametrize("method", ["save", "create", "cycle_key", "flush"])
def test_a_degraded_session_is_never_written(degraded: str, proxy: FaultProxy, method: str) -> None:
    store = SessionStore(degraded)
    assert store.load() == {} and store.degraded
    proxy.set_fault(faultproxy.PASS)  # even once DynamoDB is back, this request's copy is empty
    with pytest.raises(SessionStoreUnavailable):
        getattr(store, method)()
    assert store.session_key == degraded
    assert SessionStore(degraded).load() == {"count": 7}


def test_degraded_mode_still_raises_on_errors_that_are_not_outages(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_ON_UNAVAILABLE = "anonymous"
    settings.DYNAMODB_SESSIONS_TABLE = "no-such-table"
    with pytest.raises(SessionTableMissing):
        SessionStore("a" * 32).load()


# The cached engine ---------------------------------------------------------------------------

def test_cached_engine_serves_hits_while_dynamodb_is_down_and_refuses_writes(proxy: FaultProxy, settings: Any) -> None:
    settings.SESSION_ENGINE = "pynamo_sessions.backends.cached_dynamodb"
    client = Client(raise_request_exception=False)
    client.get("/increment/")
    proxy.set_fault(faultproxy.DROP)
    assert client.get("/read/").json()["data"] == {"count": 1}
    response = client.get("/increment/")
    assert response.status_code == 503 and response["Retry-After"] == "1"
    proxy.set_fault(faultproxy.PASS)
    assert client.get("/read/").json()["data"] == {"count": 1}
