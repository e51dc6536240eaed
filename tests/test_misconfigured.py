"""A table that is missing or not the one the settings describe is a mistake to fix, not an
outage: no 503 promising a retry, no breaker, Django's debug page with DEBUG, a log line that
names what is wrong and the check that finds it."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
from django.test import Client

from pynamo_sessions import SessionStoreMisconfigured, create_table
from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.store import calls
from pynamo_sessions.store.breaker import CLOSED

COOKIE = "sessionid"


def with_cookie() -> Client:
    client = Client(raise_request_exception=False)
    client.cookies[COOKIE] = "a" * 32
    return client


def problems_logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "pynamo_sessions" and r.levelno >= logging.ERROR]


@pytest.fixture
def no_table(settings: Any) -> str:
    settings.DYNAMODB_SESSIONS_TABLE = f"missing-{uuid.uuid4().hex[:8]}"
    settings.DYNAMODB_SESSIONS_BREAKER_THRESHOLD = 1
    return settings.DYNAMODB_SESSIONS_TABLE


@pytest.fixture
def snippet_table(settings: Any, raw: Any) -> Any:
    """A table made by the original snippet's CLI command, keyed on another attribute."""
    name = f"snippet-{uuid.uuid4().hex[:8]}"
    raw.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "session_id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "session_id", "KeyType": "HASH"}])
    settings.DYNAMODB_SESSIONS_TABLE = name
    yield name
    raw.delete_table(TableName=name)


def test_a_missing_table_is_a_server_error_with_no_retry_promise(
    no_table: str, caplog: pytest.LogCaptureFixture,
) -> None:
    for _ in range(3):
        response = with_cookie().get("/increment/")
        assert response.status_code == 500 and "Retry-After" not in response
    assert calls.breaker().state == CLOSED
    [*_, logged] = problems_logged(caplog)
    assert no_table in logged and "createsessiontable" in logged and "check --deploy" in logged


def test_with_debug_the_page_says_what_is_wrong_and_the_command_that_fixes_it(no_table: str, settings: Any) -> None:
    settings.DEBUG = True
    response = with_cookie().get("/increment/", HTTP_ACCEPT="text/html")
    assert response.status_code == 500
    page = response.content.decode()
    assert "SessionTableMissing" in page and "createsessiontable" in page and no_table in page


def test_a_table_keyed_on_another_attribute_names_the_setting(
    snippet_table: str, caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(SessionStoreMisconfigured, match="DYNAMODB_SESSIONS_ATTR_ID = 'id'") as raised:
        SessionStore("a" * 32).load()
    assert not raised.value.outage
    assert any("DYNAMODB_SESSIONS_ATTR_ID" in m and "check --deploy" in m for m in problems_logged(caplog))
    assert with_cookie().get("/increment/").status_code == 500


@pytest.mark.django_db
def test_a_missing_user_index_names_the_index_and_the_command(
    settings: Any, own_table: str, caplog: pytest.LogCaptureFixture, django_user_model: Any,
) -> None:
    create_table()  # without the index
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    user = django_user_model.objects.create_user("lee", password="pw-1234567")
    client = Client(raise_request_exception=False)
    client.force_login(user)
    response = client.get("/account/sessions/")
    assert response.status_code == 500 and "Retry-After" not in response
    assert any("'user_id-index'" in m and "createsessiontable" in m and "check --deploy" in m
               for m in problems_logged(caplog))
