"""Test-session set-up: dummy AWS credentials, DynamoDB Local, one shared sessions table.

Most tests use the shared table with keys of their own (a random session key per store), so
order never matters; tests that need a table to themselves take ``own_table``. Creating a
TTL-enabled table per test would starve DynamoDB Local's small TTL thread pool.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pynamo_sessions.testing import use_dummy_credentials

use_dummy_credentials()  # before anything creates a botocore session


@pytest.fixture(scope="session", autouse=True)
def shared_table(dynamodb_local: str) -> Iterator[str]:
    from django.conf import settings
    from django.test.signals import setting_changed

    from pynamo_sessions.operations import provision

    # The app's ready() bound a model to the placeholder endpoint of tests/settings.py;
    # announce the real endpoint.
    for name, value in [("DYNAMODB_LOCAL_ENDPOINT", dynamodb_local), ("DYNAMODB_SESSIONS_TABLE", "shared-sessions")]:
        setattr(settings, name, value)
        setting_changed.send(sender=None, setting=name, value=value, enter=True)
    provision.create_table()
    yield "shared-sessions"
    provision.delete_table()
