"""clearsessions: nothing costly with TTL; without it a parallel, conditional, resumable sweep."""

from __future__ import annotations

import time
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.operations import cleanup
from pynamo_sessions.operations.tally import Tally
from pynamo_sessions.store import models
from pynamo_sessions.testing import faultproxy
from pynamo_sessions.testing.faultproxy import FaultProxy
from tests.helpers import count_calls


@pytest.fixture
def table_without_ttl(own_table: str, raw: Any) -> str:
    """A sessions table made by hand, as the original snippet's README had users do, no TTL."""
    raw.create_table(
        TableName=own_table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    return own_table


def fill(raw: Any, table: str, expired: int, live: int) -> None:
    now = int(time.time())
    items = [(f"expired{i:07d}", now - 60 - i, "x") for i in range(expired)]
    items += [(f"live{i:07d}", now + 3600, "x") for i in range(live)]
    for start in range(0, len(items), 25):
        raw.batch_write_item(RequestItems={table: [
            {"PutRequest": {"Item": {"id": {"S": k}, "ttl": {"N": str(t)}, "session_data": {"S": d}}}}
            for k, t, d in items[start:start + 25]
        ]})


def keys_in(raw: Any, table: str) -> set[str]:
    found: set[str] = set()
    for page in raw.get_paginator("scan").paginate(TableName=table, ProjectionExpression="id"):
        found.update(item["id"]["S"] for item in page["Items"])
    return found


def test_with_ttl_enabled_it_does_nothing_costly_and_says_why() -> None:
    live = SessionStore()
    live.save()
    with count_calls() as calls:
        sweep = cleanup.clear_expired()
    assert sweep.skipped is not None and "TTL is enabled on 'ttl'" in sweep.skipped
    assert "Scan" not in calls and "DeleteItem" not in calls
    out = StringIO()
    call_command("clearsessions", stdout=out)
    assert "DynamoDB deletes expired sessions itself" in out.getvalue()


def test_without_ttl_it_deletes_exactly_the_expired_sessions(table_without_ttl: str, raw: Any) -> None:
    fill(raw, table_without_ttl, expired=300, live=200)
    # and one written by the original snippet, with a float TTL in the past
    raw.put_item(TableName=table_without_ttl, Item={
        "id": {"S": "snippetexpired1"}, "ttl": {"N": f"{time.time() - 10:.6f}"}, "session_data": {"S": "x"},
    })
    sweep = cleanup.clear_expired(segments=3)
    assert (sweep.found, sweep.deleted, sweep.refreshed) == (301, 301, 0)
    remaining = keys_in(raw, table_without_ttl)
    assert len(remaining) == 200 and all(k.startswith("live") for k in remaining)


def test_scan_reads_only_keys(table_without_ttl: str, raw: Any, proxy: FaultProxy) -> None:
    fill(raw, table_without_ttl, expired=5, live=5)
    cleanup.clear_expired(segments=1)
    assert proxy.count("Scan") == 1 and proxy.count("DeleteItem") == 5


def test_a_session_refreshed_after_the_scan_is_kept(table_without_ttl: str, raw: Any) -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()  # live now; a scan taken a moment ago would have listed it as expired
    tally = Tally(cleanup.Sweep())
    model = models.bound_model(admin=True)
    from datetime import UTC, datetime

    cleanup._delete_if_expired(model, models.conf.current(), store.session_key, datetime.now(UTC), tally)
    assert (tally.value.deleted, tally.value.refreshed) == (0, 1)
    assert SessionStore(store.session_key).load() == {"a": 1}


def test_throttling_backs_off_and_resumes(
    table_without_ttl: str, raw: Any, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cleanup, "BACKOFF_START", 0.01)
    fill(raw, table_without_ttl, expired=40, live=10)
    proxy.fail_next(4, faultproxy.THROTTLE)  # more than botocore's own retry absorbs
    sweep = cleanup.clear_expired(segments=1, ignore_ttl=True)  # the first call is the Scan
    assert sweep.throttled >= 1
    assert sweep.deleted == 40
    assert len(keys_in(raw, table_without_ttl)) == 10


def test_command_summary_and_quiet_mode(table_without_ttl: str, raw: Any) -> None:
    fill(raw, table_without_ttl, expired=30, live=3)
    out = StringIO()
    call_command("clearsessions", stdout=out)
    assert "Deleted 30 expired sessions in" in out.getvalue()
    assert "\r" not in out.getvalue()  # no progress lines when not on a terminal
    fill(raw, table_without_ttl, expired=3, live=0)
    quiet = StringIO()
    call_command("clearsessions", verbosity=0, stdout=quiet)
    assert quiet.getvalue() == ""
    assert len(keys_in(raw, table_without_ttl)) == 3


def test_progress_is_reported_while_sweeping(table_without_ttl: str, raw: Any) -> None:
    fill(raw, table_without_ttl, expired=400, live=0)
    seen: list[cleanup.Sweep] = []
    sweep = cleanup.clear_expired(segments=2, progress=seen.append, interval=0.01)
    assert seen, "progress was never reported"
    assert all(s.deleted <= sweep.deleted for s in seen)


def test_ignore_ttl_purges_a_backlog_now(raw: Any, settings: Any) -> None:
    fill(raw, settings.DYNAMODB_SESSIONS_TABLE, expired=7, live=0)
    sweep = cleanup.clear_expired(ignore_ttl=True)
    # DynamoDB Local's own TTL may have taken some already; none may be left either way.
    assert sweep.skipped is None
    assert not {k for k in keys_in(raw, settings.DYNAMODB_SESSIONS_TABLE) if k.startswith("expired")}


@pytest.mark.parametrize("count", [10_000])
def test_tens_of_thousands_of_items(table_without_ttl: str, raw: Any, count: int) -> None:
    fill(raw, table_without_ttl, expired=count, live=100)
    sweep = cleanup.clear_expired(segments=4)
    print(f"\nclearsessions: {sweep.deleted:,} of {count + 100:,} items in {sweep.seconds:.1f}s ({sweep.rate:,.0f}/s)")
    assert sweep.deleted == count
    assert len(keys_in(raw, table_without_ttl)) == 100
