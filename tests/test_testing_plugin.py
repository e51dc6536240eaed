"""The pytest plugin users add to test their own app against DynamoDB Local."""

from __future__ import annotations

from typing import Any

from pynamo_sessions.backends.dynamodb import SessionStore


def test_sessions_table_fixture_gives_a_fresh_table(dynamodb_sessions_table: str, settings: Any, raw: Any) -> None:
    assert settings.DYNAMODB_SESSIONS_TABLE == dynamodb_sessions_table
    ttl = raw.describe_time_to_live(TableName=dynamodb_sessions_table)["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"
    store = SessionStore()
    store["a"] = 1
    store.save()
    assert raw.scan(TableName=dynamodb_sessions_table)["Count"] == 1
