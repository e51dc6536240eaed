"""Hostile cookies, the 400 KB limit, faults on the wire, races, keys hashed at rest, least privilege."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any

import botocore.session
import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.test import Client, override_settings

from pynamo_sessions import SessionStorageError, SessionThrottled, SessionTooLarge
from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.store import models, transport
from pynamo_sessions.store.keys import item_key
from pynamo_sessions.testing import faultproxy
from pynamo_sessions.testing.faultproxy import FaultProxy
from tests.helpers import count_calls

HOSTILE_KEYS = [
    "", "short", "x" * 5000, "é" * 32, "ключ" * 8, "a\x00" * 16, "a\r\nSet-Cookie: x=1" + "a" * 10,
    "../../../etc/passwd", "'\"; DROP TABLE sessions; --", "A" * 32, "a" * 31 + " ", "\t" * 40,
    "a" * 65, "%00" * 12,
]


# 1. Hostile session keys -------------------------------------------------------------------

@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_key_never_reaches_dynamodb(key: str) -> None:
    with count_calls() as calls:
        store = SessionStore(key)
        assert store.session_key is None
        assert store.load() == {}
        assert not store.exists(key)
        store.delete(key)
    assert calls == {}


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_cookie_never_errors_nor_writes(key: str, settings: Any) -> None:
    client = Client()
    # A WSGI server hands the header's raw bytes over decoded as ISO-8859-1.
    header = f"{settings.SESSION_COOKIE_NAME}={key}".encode().decode("iso-8859-1")
    with count_calls() as calls:
        response = client.get("/read/", HTTP_COOKIE=header)
    assert response.status_code == 200
    assert response.json() == {"data": {}, "key": None}
    assert "PutItem" not in calls and "DeleteItem" not in calls


def test_unknown_well_formed_key_is_not_adopted_on_save(settings: Any) -> None:
    planted = "p" * 32  # an attacker's chosen key (session fixation)
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = planted
    client.get("/increment/")
    issued = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert issued != planted
    assert not SessionStore().exists(planted)


def test_flood_of_bogus_cookies_costs_reads_only(settings: Any) -> None:
    with count_calls() as calls:
        for _ in range(20):
            Client().get("/read/", HTTP_COOKIE=f"{settings.SESSION_COOKIE_NAME}={secrets.token_hex(16)}")
    assert calls == {"GetItem": 20}


# 2. Item size ------------------------------------------------------------------------------

def test_large_but_legal_session_round_trips() -> None:
    store = SessionStore()
    store["blob"] = secrets.token_urlsafe(225_000)  # ~300 KB once signed and encoded
    store.save()
    assert 280_000 < len(store.encode(store._session)) < models.ITEM_SIZE_LIMIT
    assert SessionStore(store.session_key).load()["blob"] == store["blob"]


def test_oversized_session_is_refused_and_the_stored_one_survives() -> None:
    store = SessionStore()
    store["small"] = "kept"
    store.save()
    store = SessionStore(store.session_key)
    store["blob"] = secrets.token_urlsafe(400_000)
    with count_calls() as calls, pytest.raises(SessionTooLarge) as info:
        store.save()
    assert "PutItem" not in calls
    message = str(info.value)
    assert "409,600 bytes" in message and "S3" in message
    assert info.value.size > info.value.limit == 409_600
    assert SessionStore(store.session_key).load() == {"small": "kept"}


def test_size_estimate_is_never_below_what_dynamodb_counts() -> None:
    # Just under our limit, DynamoDB must accept the item: our count may only err high.
    store = SessionStore()
    store["blob"] = ""
    store.save()
    overhead = len(store.encode({"blob": ""}))
    probe = SessionStore(store.session_key)
    probe["blob"] = "a"
    base = len(probe.encode({"blob": "a" * 10}))  # compression makes repeats cheap; use random text
    assert base > 0 and overhead > 0
    size = models.ITEM_SIZE_LIMIT
    blob = secrets.token_urlsafe(300_000)
    while True:
        candidate = SessionStore(store.session_key)
        candidate["blob"] = blob
        item = models.bound_model()(store.session_key, data=candidate.encode(candidate._session),
                                    expires=candidate.get_expiry_date())
        size = item.size()
        if size <= models.ITEM_SIZE_LIMIT:
            break
        blob = blob[: len(blob) - (size - models.ITEM_SIZE_LIMIT) - 64]
    candidate.save()  # DynamoDB Local accepts what we judge to fit
    assert SessionStore(store.session_key).load()["blob"] == blob


# 3. Faults ---------------------------------------------------------------------------------

def _saved_session() -> str:
    store = SessionStore()
    store["cart"] = ["book"]
    store.save()
    assert store.session_key is not None
    return store.session_key


@pytest.mark.parametrize(
    ("fault", "error", "code"),
    [
        (faultproxy.THROTTLE, SessionThrottled, "ProvisionedThroughputExceededException"),
        (faultproxy.SERVER_ERROR, SessionStorageError, "InternalServerError"),
        (faultproxy.DROP, SessionStorageError, None),
        (faultproxy.SLOW, SessionStorageError, None),
    ],
)
def test_fault_on_read_raises_ours_after_the_configured_retries_and_loses_nothing(
    proxy: FaultProxy, fault: str, error: type[Exception], code: str | None, caplog: pytest.LogCaptureFixture,
) -> None:
    key = _saved_session()
    proxy.fault = fault
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="pynamo_sessions"), pytest.raises(error) as info:
        SessionStore(key).load()
    elapsed = time.monotonic() - started
    assert proxy.faulted == 2  # the first attempt and DYNAMODB_SESSIONS_MAX_RETRY_ATTEMPTS = 1 retry
    assert info.value.code == code and info.value.operation == "GetItem"
    assert "GetItem on DynamoDB table" in str(info.value)
    assert elapsed < 8  # bounded by (1 + retries) x timeouts plus backoff, never hanging
    assert any("Session GetItem failed" in r.getMessage() for r in caplog.records)
    proxy.fault = faultproxy.PASS
    assert SessionStore(key).load() == {"cart": ["book"]}


@pytest.mark.parametrize("fault", [faultproxy.THROTTLE, faultproxy.DROP, faultproxy.SLOW])
def test_fault_in_a_request_is_an_error_never_an_empty_session(proxy: FaultProxy, fault: str, settings: Any) -> None:
    key = _saved_session()
    writes = proxy.count("PutItem")
    proxy.fault = fault
    client = Client(raise_request_exception=False)
    client.cookies[settings.SESSION_COOKIE_NAME] = key
    response = client.get("/increment/")
    assert response.status_code == 503 and response["Retry-After"] == "1"
    assert proxy.count("PutItem") == writes  # nothing written over the real data
    proxy.fault = faultproxy.PASS
    assert SessionStore(key).load() == {"cart": ["book"]}


@pytest.mark.parametrize("fault", [faultproxy.THROTTLE, faultproxy.SERVER_ERROR, faultproxy.DROP])
def test_fault_on_write_raises_ours_not_create_or_update_error(proxy: FaultProxy, fault: str, settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_BREAKER_THRESHOLD = 0  # three failures in a row: tests/test_outage.py
    key = _saved_session()
    store = SessionStore(key)
    store.load()
    store["cart"] = ["book", "pen"]
    proxy.fault = fault
    with pytest.raises(SessionStorageError) as info:
        store.save()
    assert info.value.operation == "PutItem"
    fresh = SessionStore()
    fresh["a"] = 1
    with pytest.raises(SessionStorageError):
        fresh.save()  # a failed create is not a key collision: it does not loop
    assert proxy.count("PutItem") == 1 + 2 + 2  # the setup's, then two attempts each
    with pytest.raises(SessionStorageError):
        SessionStore().delete(key)
    proxy.fault = faultproxy.PASS
    assert SessionStore(key).load() == {"cart": ["book"]}


def test_missing_table_is_a_clear_error(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_TABLE = "no-such-table"
    with pytest.raises(SessionStorageError, match=r"does not exist\. Create it with `python manage\.py createsess"):
        SessionStore("a" * 32).load()


def test_unreachable_endpoint_is_a_clear_error(settings: Any) -> None:
    from tests.helpers import closed_port_url

    settings.DYNAMODB_LOCAL_ENDPOINT = closed_port_url()
    settings.DYNAMODB_SESSIONS_MAX_RETRY_ATTEMPTS = 0
    with pytest.raises(SessionStorageError, match="could not be reached"):
        SessionStore("a" * 32).load()


# 4. Races and threads ----------------------------------------------------------------------

def test_logout_racing_a_save_never_revives_the_session() -> None:
    key = _saved_session()
    saving = SessionStore(key)
    saving["cart"] = ["book", "pen"]
    SessionStore(key).flush()
    with pytest.raises(UpdateError):
        saving.save()
    assert not SessionStore().exists(key)


@pytest.fixture
def clients_built(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the threads that build a botocore client from now on."""
    built: list[str] = []
    original = botocore.session.Session.create_client

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        built.append(threading.current_thread().name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(botocore.session.Session, "create_client", counting)
    return built


def test_threads_share_one_model_and_one_client(clients_built: list[str]) -> None:
    transport.build_client()
    clients_built.clear()
    errors: list[BaseException] = []
    keys: list[str] = []

    def worker() -> None:
        try:
            store = SessionStore()
            store["n"] = 0
            store.save()
            for _ in range(15):
                store = SessionStore(store.session_key)
                store["n"] += 1
                store.save()
            keys.append(store.session_key)  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert clients_built == []  # no botocore client per thread, nor per request
    assert [SessionStore(k).load()["n"] for k in keys] == [15] * 16


# 5. Keys hashed at rest --------------------------------------------------------------------

@pytest.fixture
def hashed(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_HASH_KEYS = True


def test_hashed_keys_keep_the_raw_key_out_of_the_table(hashed: None, raw_item: Any, settings: Any) -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    key = store.session_key
    assert raw_item(key) is None
    digest = item_key(key, hashed=True)  # type: ignore[arg-type]
    assert len(digest) == 64 and digest != key
    assert raw_item(digest) is not None
    assert SessionStore(key).load() == {"a": 1}


def test_hashed_keys_through_the_whole_contract(hashed: None, raw_item: Any) -> None:
    client = Client()
    client.get("/increment/")
    key = client.cookies["sessionid"].value
    assert client.get("/increment/").json() == {"count": 2}
    client.get("/login/")
    new_key = client.cookies["sessionid"].value
    assert raw_item(item_key(key, hashed=True)) is None
    assert client.get("/read/").json()["data"] == {"count": 2, "user": "alice"}
    racing = SessionStore(new_key)
    racing["x"] = 1
    client.get("/logout/")
    assert raw_item(item_key(new_key, hashed=True)) is None
    with pytest.raises(UpdateError):
        racing.save()


def saved_under_old_secret() -> str:
    with override_settings(SECRET_KEY="old-secret"):
        store = SessionStore()
        store["a"] = 1
        store.save()
    assert store.session_key is not None
    return store.session_key


def test_hashed_sessions_survive_a_secret_key_rotation_with_fallbacks(hashed: None, raw_item: Any) -> None:
    key = saved_under_old_secret()
    with override_settings(SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=["old-secret"]):
        rotated = SessionStore(key)
        assert rotated.load() == {"a": 1}
        rotated["a"] = 2
        rotated.save()  # updated where it lives; no duplicate under the new hash
        assert SessionStore(key).load() == {"a": 2}
        assert raw_item(item_key(key, hashed=True)) is None  # type: ignore[arg-type]
    with override_settings(SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=[]):
        assert SessionStore(key).load() == {}  # without the fallback, the session is gone


def test_cycle_key_after_a_rotation_retires_the_old_item(hashed: None) -> None:
    old_key = saved_under_old_secret()
    with override_settings(SECRET_KEY="new-secret", SECRET_KEY_FALLBACKS=["old-secret"]):
        login = SessionStore(old_key)
        login.load()
        login.cycle_key()  # login: the pre-login key must stop working
        login.save()
        assert SessionStore(old_key).load() == {}
        assert SessionStore(login.session_key).load() == {"a": 1}


# 6. Least privilege ------------------------------------------------------------------------

def test_the_app_builds_the_client_before_the_first_request(settings: Any, clients_built: list[str]) -> None:
    from django.apps import apps

    settings.DYNAMODB_SESSIONS_CONNECT_TIMEOUT = 0.9  # a fresh bound model, with no client yet
    threads = set(threading.enumerate())
    apps.get_app_config("pynamo_sessions").ready()
    assert clients_built == ["MainThread"]  # in ready(), on the main thread: Lambda's init phase
    # and no thread of ours left running (threads of earlier tests' servers may end meanwhile)
    assert set(threading.enumerate()) - threads == set()
    Client().get("/increment/")
    assert clients_built == ["MainThread"]  # the first request built nothing
