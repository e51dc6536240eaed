"""System checks: offline ones for settings, deploy ones against the table."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from pynamo_sessions import checks, create_table
from tests.helpers import closed_port_url


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def test_valid_settings_pass_offline_checks() -> None:
    assert checks.check_settings() == []


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("DYNAMODB_SESSIONS_TABLE", "", "DYNAMODB_SESSIONS_TABLE must be 3-255"),
        ("DYNAMODB_SESSIONS_READ_TIMEOUT", 0, "DYNAMODB_SESSIONS_READ_TIMEOUT must be a positive number"),
        ("DYNAMODB_SESSIONS_BILLING_MODE", "ONDEMAND", "got 'ONDEMAND'"),
    ],
)
def test_bad_setting_is_e001_with_a_hint(settings: Any, name: str, value: Any, text: str) -> None:
    setattr(settings, name, value)
    [message] = checks.check_settings()
    assert message.id == "pynamo_sessions.E001"
    assert text in message.msg
    assert message.hint.startswith(f"Fix {name}:") and "README" in message.hint


def test_colliding_attribute_names_are_e002(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_ATTR_SESSION_DATA = "id"
    assert ids(checks.check_settings()) == ["pynamo_sessions.E002"]


def test_engine_not_ours_while_installed_is_w001(settings: Any) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    [message] = checks.check_settings()
    assert message.id == "pynamo_sessions.W001"
    assert "pynamo_sessions.backends.dynamodb" in message.hint


def test_no_region_nor_endpoint_is_w002(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    settings.DYNAMODB_REGION = None
    settings.DYNAMODB_LOCAL_ENDPOINT = None
    assert ids(checks.check_settings()) == ["pynamo_sessions.W002"]


def test_snippet_app_env_switch_is_w003(settings: Any) -> None:
    settings.APP_ENV = "production"
    assert ids(checks.check_settings()) == ["pynamo_sessions.W003"]
    settings.APP_ENV = "local"
    assert checks.check_settings() == []


def test_app_order_is_w004(settings: Any) -> None:
    settings.INSTALLED_APPS = ["django.contrib.sessions", "pynamo_sessions"]
    assert ids(checks.check_settings()) == ["pynamo_sessions.W004"]


def test_checks_run_with_manage_py_check(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_TABLE = ""
    with pytest.raises(SystemCheckError, match=r"pynamo_sessions\.E001"):
        call_command("check")


def test_deploy_check_passes_on_a_good_table() -> None:
    assert checks.check_table() == []


def test_deploy_check_missing_table_is_e101(own_table: str) -> None:
    [message] = checks.check_table()
    assert message.id == "pynamo_sessions.E101" and "createsessiontable" in message.hint


def test_deploy_check_wrong_keys_is_e102(own_table: str, raw: Any) -> None:
    raw.create_table(
        TableName=own_table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    assert ids(checks.check_table()) == ["pynamo_sessions.E102"]


def test_deploy_check_ttl_disabled_is_w101(own_table: str, raw: Any) -> None:
    raw.create_table(
        TableName=own_table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    assert ids(checks.check_table()) == ["pynamo_sessions.W101"]


def test_deploy_check_ttl_elsewhere_is_e103(own_table: str, settings: Any) -> None:
    create_table()
    settings.DYNAMODB_SESSIONS_ATTR_TTL = "expires"
    assert ids(checks.check_table()) == ["pynamo_sessions.E103"]


def test_deploy_check_unreachable_is_a_warning_not_a_traceback(settings: Any) -> None:
    settings.DYNAMODB_LOCAL_ENDPOINT = closed_port_url()
    settings.DYNAMODB_SESSIONS_MAX_RETRY_ATTEMPTS = 0
    [message] = checks.check_table()
    assert message.id == "pynamo_sessions.W102"
    assert "could not be reached" in message.msg


def test_deploy_checks_only_run_with_deploy(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_TABLE = "no-such-table-here"
    call_command("check")  # offline: no error, no network
    with pytest.raises(SystemCheckError, match=r"pynamo_sessions\.E101"):
        call_command("check", deploy=True)


@pytest.mark.parametrize(
    ("extra", "asgi", "expected"), [(False, True, True), (False, False, False), (True, True, False)],
)
def test_asgi_without_the_async_extra_is_i001(
    settings: Any, monkeypatch: pytest.MonkeyPatch, extra: bool, asgi: bool, expected: bool,
) -> None:
    from pynamo_sessions import aio

    if not extra:
        monkeypatch.setattr(aio, "AioSession", None)
    if asgi:
        settings.ASGI_APPLICATION = "project.asgi.application"
    found = [m for m in checks.check_settings() if m.id == "pynamo_sessions.I001"]
    assert bool(found) is expected
    if found:
        assert found[0].level == 20 and "pynamo-sessions[async]" in found[0].hint  # Info, not a warning
