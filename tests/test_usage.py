"""The per-call usage hook: the dynamodb_call signal and DYNAMODB_SESSIONS_METRICS_CALLBACK."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.sessions.backends.base import UpdateError

from pynamo_sessions import SessionStorageError
from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.store.usage import Call, dynamodb_call
from pynamo_sessions.testing import faultproxy
from pynamo_sessions.testing.faultproxy import FaultProxy
from tests.helpers import Via

received: list[Call] = []


def remember(call: Call) -> None:
    received.append(call)


def explode(call: Call) -> None:
    raise RuntimeError("metrics backend down")


@pytest.fixture
def calls() -> Iterator[list[Call]]:
    seen: list[Call] = []

    def receiver(sender: Any, call: Call, **kwargs: Any) -> None:
        seen.append(call)

    dynamodb_call.connect(receiver)
    yield seen
    dynamodb_call.disconnect(receiver)


def test_signal_reports_each_call_with_outcome_and_capacity(calls: list[Call], settings: Any) -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    SessionStore(store.session_key).load()
    SessionStore("m" * 32).load()
    SessionStore().delete(store.session_key)
    assert [(c.operation, c.outcome, c.capacity_units) for c in calls] == [
        ("PutItem", "ok", 1.0), ("GetItem", "ok", 1.0), ("GetItem", "missing", 1.0), ("DeleteItem", "ok", 1.0),
    ]
    assert all(c.table == settings.DYNAMODB_SESSIONS_TABLE and c.duration > 0 for c in calls)


def test_condition_failures_and_errors_are_reported(calls: list[Call], proxy: FaultProxy) -> None:
    store = SessionStore()
    store.save()
    racing = SessionStore(store.session_key)
    racing["a"] = 1
    SessionStore().delete(store.session_key)
    with pytest.raises(UpdateError):
        racing.save()
    proxy.fault = faultproxy.THROTTLE
    with pytest.raises(SessionStorageError):
        SessionStore(store.session_key).load()
    assert [(c.operation, c.outcome, c.conflict) for c in calls[-3:]] == [
        ("PutItem", "condition_failed", None), ("GetItem", "missing", "reread"), ("GetItem", "error", None),
    ]
    assert calls[-1].capacity_units is None


async def test_dynamodb_reports_capacity_only_when_someone_reads_it(
    proxy: FaultProxy, via: Via, settings: Any
) -> None:
    async def create_read_delete() -> None:
        store = SessionStore()
        store["a"] = 1
        await via(store, "save")
        await via(SessionStore(store.session_key), "load")
        await via(SessionStore(), "delete", store.session_key)

    await create_read_delete()  # nobody listens: the answers carry no capacity
    assert proxy.operations[-3:] == ["PutItem", "GetItem", "DeleteItem"]
    assert proxy.capacity == {}
    settings.DYNAMODB_SESSIONS_METRICS_CALLBACK = remember
    received.clear()
    await create_read_delete()
    assert set(proxy.capacity) == {"PutItem", "GetItem", "DeleteItem"}
    assert [(c.operation, c.capacity_units) for c in received] == [
        ("PutItem", 1.0), ("GetItem", 1.0), ("DeleteItem", 1.0),
    ]


def test_metrics_callback_by_dotted_path(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_METRICS_CALLBACK = "tests.test_usage.remember"
    received.clear()
    SessionStore().save()
    assert [c.operation for c in received] == ["PutItem"]


def test_a_failing_callback_never_fails_the_request(settings: Any, caplog: pytest.LogCaptureFixture) -> None:
    settings.DYNAMODB_SESSIONS_METRICS_CALLBACK = explode
    store = SessionStore()
    with caplog.at_level(logging.ERROR, logger="pynamo_sessions"):
        store.save()
    assert SessionStore().exists(store.session_key)
    assert any("METRICS_CALLBACK raised" in r.getMessage() for r in caplog.records)
