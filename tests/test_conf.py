"""Settings: defaults, lazy reading, clear errors, and the bound model following changes."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from pynamo_sessions import conf
from pynamo_sessions.conf import Conf
from pynamo_sessions.store import models


@pytest.mark.parametrize(
    ("endpoint", "connect", "read"),
    [
        ("http://127.0.0.1:8000", conf.LOCAL_CONNECT_TIMEOUT, conf.LOCAL_READ_TIMEOUT),
        ("http://localhost:8000", conf.LOCAL_CONNECT_TIMEOUT, conf.LOCAL_READ_TIMEOUT),
        ("http://dynamodb.internal:8000", 0.5, 0.5),
        (None, 0.5, 0.5),
    ],
)
def test_an_endpoint_on_this_machine_gets_patient_timeouts_unless_set(
    settings: Any, endpoint: str | None, connect: float, read: float,
) -> None:
    # A busy laptop or CI runner must not fail a suite with production's fast-fail timeouts.
    settings.DYNAMODB_LOCAL_ENDPOINT = endpoint
    snapshot = conf.current()
    assert (snapshot.connect_timeout, snapshot.read_timeout) == (connect, read)
    settings.DYNAMODB_SESSIONS_READ_TIMEOUT = 0.25
    assert conf.current().read_timeout == 0.25  # what is set always wins


def test_defaults_match_the_original_snippet(settings: Any) -> None:
    del settings.DYNAMODB_SESSIONS_TABLE  # conftest points it at the shared table
    assert (conf.conf.TABLE, conf.conf.ATTR_ID, conf.conf.ATTR_TTL, conf.conf.ATTR_SESSION_DATA) == (
        "django_sessions", "id", "ttl", "session_data",
    )


def test_request_path_defaults_bound_a_hang_to_about_a_second(settings: Any) -> None:
    settings.DYNAMODB_LOCAL_ENDPOINT = None  # in AWS
    snapshot = conf.current()
    # (1 + retries) x timeout, plus botocore's 25 ms DynamoDB backoff between them.
    assert snapshot.connect_timeout == 0.5 and snapshot.read_timeout == 0.5
    assert snapshot.max_retry_attempts == 1 and snapshot.max_pool_connections == 50
    assert snapshot.retry_mode == "standard" and snapshot.on_unavailable == "raise"
    assert snapshot.consistent_read is True and snapshot.billing_mode == "PAY_PER_REQUEST"


def test_settings_are_read_lazily() -> None:
    with override_settings(DYNAMODB_SESSIONS_TABLE="elsewhere"):
        assert conf.conf.TABLE == "elsewhere"
        assert conf.current().table_name == "elsewhere"
    assert conf.current().table_name == "shared-sessions"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DYNAMODB_SESSIONS_TABLE", "", "must be 3-255 letters, digits, '_', '-' or '.'; got ''."),
        ("DYNAMODB_SESSIONS_TABLE", "has space", "got 'has space'"),
        ("DYNAMODB_SESSIONS_ATTR_ID", "", "DYNAMODB_SESSIONS_ATTR_ID must be a non-empty string"),
        ("DYNAMODB_SESSIONS_ATTR_TTL", 5, "got 5"),
        ("DYNAMODB_LOCAL_ENDPOINT", "localhost:8000", "must be None or an http(s) URL"),
        ("DYNAMODB_REGION", "", "DYNAMODB_REGION must be None or an AWS region code"),
        ("DYNAMODB_REGION", "Ireland", "got 'Ireland'"),
        ("DYNAMODB_REGION", "eu-west1", "got 'eu-west1'"),
        ("DYNAMODB_REGION", "EU-WEST-1", "got 'EU-WEST-1'"),
        ("DYNAMODB_REGION", "eu-west-l", "got 'eu-west-l'"),
        ("DYNAMODB_SESSIONS_CONSISTENT_READ", "yes", "must be True or False; got 'yes'"),
        ("DYNAMODB_SESSIONS_BILLING_MODE", "ON_DEMAND", "must be one of 'PAY_PER_REQUEST', 'PROVISIONED'"),
        ("DYNAMODB_SESSIONS_READ_CAPACITY_UNITS", 0, "must be a whole number of at least 1; got 0"),
        ("DYNAMODB_SESSIONS_CONNECT_TIMEOUT", -1, "must be a positive number of seconds; got -1"),
        ("DYNAMODB_SESSIONS_READ_TIMEOUT", "2", "got '2'"),
        ("DYNAMODB_SESSIONS_MAX_RETRY_ATTEMPTS", -1, "at least 0; got -1"),
        ("DYNAMODB_SESSIONS_MAX_POOL_CONNECTIONS", True, "at least 1; got True"),
        ("DYNAMODB_SESSIONS_TOUCH_INTERVAL", 1.5, "got 1.5"),
        ("DYNAMODB_SESSIONS_METRICS_CALLBACK", "nodots", "dotted path"),
    ],
)
def test_invalid_value_names_the_setting_and_the_value(name: str, value: Any, message: str) -> None:
    with override_settings(**{name: value}):
        with pytest.raises(ImproperlyConfigured) as info:
            conf.current()
    assert message in str(info.value)
    assert name in str(info.value)


def test_attribute_names_must_differ() -> None:
    with override_settings(DYNAMODB_SESSIONS_ATTR_TTL="id"):
        with pytest.raises(ImproperlyConfigured, match="must all differ"):
            conf.current()


def test_every_setting_has_a_meaning() -> None:
    assert all(setting.meaning.endswith(".") for setting in Conf.settings())


def test_model_is_built_once_and_rebuilt_only_on_relevant_change() -> None:
    first = models.bound_model()
    assert models.bound_model() is first
    with override_settings(DYNAMODB_SESSIONS_TOUCH_INTERVAL=5):
        assert models.bound_model() is first  # not a model setting: same class, same client
    with override_settings(DYNAMODB_SESSIONS_ATTR_TTL="expires_at"):
        renamed = models.bound_model()
        assert renamed is not first
        assert renamed.expires.attr_name == "expires_at"
        assert first.expires.attr_name == "ttl"  # fresh attributes: the old class is untouched
    assert models.bound_model().expires.attr_name == "ttl"


def test_model_meta_carries_the_connection_settings() -> None:
    with override_settings(DYNAMODB_SESSIONS_CONNECT_TIMEOUT=0.5, DYNAMODB_SESSIONS_MAX_POOL_CONNECTIONS=64,
                           DYNAMODB_SESSIONS_MAX_RETRY_ATTEMPTS=4):
        meta = models.bound_model().Meta
        assert (meta.connect_timeout_seconds, meta.max_pool_connections, meta.max_retry_attempts) == (0.5, 64, 4)
