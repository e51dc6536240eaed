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


def test_run_prints_settings_that_work_as_printed(dynamodb_local: str, settings: Any, monkeypatch: Any) -> None:
    import re

    from pynamo_sessions.testing import run_banner

    banner = run_banner(dynamodb_local)
    [line] = [line.strip() for line in banner.splitlines() if line.strip().startswith("DYNAMODB_LOCAL_ENDPOINT")]
    namespace: dict[str, Any] = {}
    exec(line, namespace)  # the line a user pastes into settings.py
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)  # nothing else, as on a fresh machine
    settings.DYNAMODB_LOCAL_ENDPOINT = namespace["DYNAMODB_LOCAL_ENDPOINT"]
    settings.DYNAMODB_REGION = None
    store = SessionStore()
    store["a"] = 1
    store.save()
    assert SessionStore(store.session_key).load() == {"a": 1}
    assert re.search(r"export AWS_ACCESS_KEY_ID=\w+ AWS_SECRET_ACCESS_KEY=\w+ AWS_DEFAULT_REGION=", banner)


def test_dynamodb_local_is_kept_in_the_user_cache_not_the_project(monkeypatch: Any, tmp_path: Any) -> None:
    from pynamo_sessions import testing

    monkeypatch.delenv("DYNAMODB_LOCAL_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert testing.cache_dir() == tmp_path / "pynamo_sessions" / "dynamodb-local"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert testing.cache_dir() == tmp_path / ".cache" / "pynamo_sessions" / "dynamodb-local"
    monkeypatch.setenv("DYNAMODB_LOCAL_DIR", str(tmp_path / "here"))
    assert testing.cache_dir() == tmp_path / "here"
