"""What a new user meets first: an endpoint alone, no credentials, no relational table."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from pynamo_sessions import SessionStorageError, models, provision
from pynamo_sessions.backends.dynamodb import SessionStore


@pytest.fixture
def no_region(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    settings.DYNAMODB_REGION = None


@pytest.fixture
def fresh_table(settings: Any) -> Any:
    settings.DYNAMODB_SESSIONS_TABLE = f"t-{uuid.uuid4().hex[:12]}"
    yield settings.DYNAMODB_SESSIONS_TABLE
    provision.delete_table()


def roundtrip() -> dict[str, Any]:
    store = SessionStore()
    store["a"] = 1
    store.save()
    return SessionStore(store.session_key).load()


def test_an_endpoint_alone_works_from_createsessiontable_to_a_request(no_region: None, fresh_table: str) -> None:
    call_command("createsessiontable", verbosity=0)
    assert models.bound_model().Meta.region == models.LOCAL_REGION
    assert roundtrip() == {"a": 1}


def test_a_configured_region_still_wins_with_an_endpoint(settings: Any) -> None:
    settings.DYNAMODB_REGION = "eu-west-1"
    assert models.bound_model().Meta.region == "eu-west-1"


def test_no_region_and_no_endpoint_is_a_clear_error_not_a_traceback(no_region: None, settings: Any) -> None:
    settings.DYNAMODB_LOCAL_ENDPOINT = None
    with pytest.raises(SessionStorageError, match=r"no AWS region is configured\. Set DYNAMODB_REGION"):
        SessionStore("a" * 32).load()
    for command in ("clearsessions", "createsessiontable"):
        with pytest.raises(CommandError, match="no AWS region is configured"):
            call_command(command, verbosity=0)


def test_a_local_endpoint_needs_no_credentials(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    settings.DYNAMODB_SESSIONS_MAX_POOL_CONNECTIONS = 51  # a model built with this environment
    meta = models.bound_model().Meta
    assert (meta.aws_access_key_id, meta.aws_secret_access_key) == models.LOCAL_CREDENTIALS
    assert roundtrip() == {"a": 1}


@pytest.mark.parametrize("endpoint", ["https://dynamodb.eu-west-1.amazonaws.com", "http://10.1.2.3:8000"])
def test_placeholder_credentials_only_for_this_machine(
    monkeypatch: pytest.MonkeyPatch, settings: Any, endpoint: str,
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    settings.DYNAMODB_LOCAL_ENDPOINT = endpoint
    assert models.bound_model().Meta.aws_access_key_id is None


def test_real_credentials_are_never_replaced(settings: Any) -> None:
    assert models.bound_model().Meta.aws_access_key_id is None  # the suite's own keys are in the environment
