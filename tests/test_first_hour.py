"""What a new user meets first: an endpoint alone, no credentials, no relational table."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from pynamo_sessions import SessionStorageError
from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.operations import provision
from pynamo_sessions.store import models


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


def test_the_demo_reports_a_busy_port_before_starting_anything() -> None:
    import socket
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run([sys.executable, "demo/run.py", "--port", str(port)], cwd=root,
                                capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert f"Port {port} is already in use" in result.stderr and "DEMO_PORT=" in result.stderr
    assert "DynamoDB Local" not in result.stdout  # nothing was started


@pytest.mark.parametrize("extra", [True, False])
def test_a_process_that_serves_asgi_says_which_transport_async_calls_use(
    settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, extra: bool,
) -> None:
    import logging

    from pynamo_sessions import apps
    from pynamo_sessions.store import aio

    monkeypatch.setattr(aio, "available", lambda: extra)
    monkeypatch.setattr(aio, "prepare", lambda: None)
    settings.ASGI_APPLICATION = "myproject.asgi.application"
    with caplog.at_level(logging.INFO, logger="pynamo_sessions"):
        apps._prepare()
    [line] = [r for r in caplog.records if r.getMessage().startswith("Async session calls use")]
    if extra:
        assert line.levelno == logging.INFO and "native async transport" in line.getMessage()
    else:
        assert line.levelno == logging.WARNING and "pip install 'pynamo-sessions[async]'" in line.getMessage()
    assert aio.transport_in_use() in line.getMessage()
