"""Django's own session contract tests, run against both of our engines, with and without time
zones, exactly as Django runs them against its ``db`` and ``cached_db`` engines."""

from __future__ import annotations

from django.test import SimpleTestCase, override_settings
from sessions_tests import tests as django_tests

from pynamo_sessions.backends.cached_dynamodb import SessionStore as CachedStore
from pynamo_sessions.backends.dynamodb import SessionStore as PlainStore


class DynamoDBSessionTests(django_tests.SessionTestsMixin, SimpleTestCase):  # type: ignore[misc]
    backend = PlainStore


@override_settings(USE_TZ=True)
class DynamoDBSessionWithTimeZoneTests(DynamoDBSessionTests):
    pass


class CachedDynamoDBSessionTests(django_tests.CacheDBSessionTests):  # type: ignore[misc]
    backend = CachedStore


@override_settings(USE_TZ=True)
class CachedDynamoDBSessionWithTimeZoneTests(CachedDynamoDBSessionTests):
    pass
