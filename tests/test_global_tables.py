"""Global tables: what check --deploy and createsessiontable say of one (DynamoDB Local has no
replicas: the fault proxy describes the table as DynamoDB would), and MRSC's replicated write
conflicts settled as conflicts, not outages."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from pynamo_sessions import SessionConflict, checks, create_table
from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.store import calls, ops
from pynamo_sessions.store.breaker import CLOSED
from pynamo_sessions.testing import faultproxy
from pynamo_sessions.testing.faultproxy import FaultProxy

TWO_REGIONS = [{"RegionName": "us-east-1"}, {"RegionName": "eu-west-1"}]


def ids() -> list[str]:
    return [m.id for m in checks.check_table() if m.id != "pynamo_sessions.W103"]


def test_an_eventually_consistent_global_table_is_a_warning_naming_both_broken_guarantees(
    proxy: FaultProxy, own_table: str,
) -> None:
    create_table()
    assert ids() == []
    proxy.table_description = {"Replicas": TWO_REGIONS}
    (warning,) = [m for m in checks.check_table() if m.id == "pynamo_sessions.W106"]
    assert "eu-west-1, us-east-1" in warning.msg
    assert "lose one's changes" in warning.msg and "a logout in one Region can be undone" in warning.msg


def test_a_strongly_consistent_global_table_needs_a_scheduled_sweep_not_ttl(
    proxy: FaultProxy, own_table: str, raw: Any,
) -> None:
    raw.create_table(TableName=own_table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    assert "pynamo_sessions.W101" in ids()  # a plain table without TTL
    proxy.table_description = {"Replicas": TWO_REGIONS, "MultiRegionConsistency": "STRONG"}
    assert ids() == ["pynamo_sessions.I002"]  # MRSC has no TTL: no warning, a sweep to schedule
    out = StringIO()
    start = len(proxy.operations)
    call_command("createsessiontable", stdout=out)
    assert "UpdateTimeToLive" not in proxy.operations[start:]  # it would fail: MRSC has no TTL
    assert "schedule it" in out.getvalue()


def test_a_replicated_write_conflict_is_merged_like_a_version_conflict(
    proxy: FaultProxy, settings: Any,
) -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    loaded = SessionStore(store.session_key)
    loaded["b"] = 2
    proxy.only = "PutItem"
    proxy.fail_next(2, faultproxy.REPLICATED_CONFLICT)  # the first send and botocore's retry
    loaded.save()
    assert SessionStore(store.session_key).load() == {"a": 1, "b": 2}
    assert calls.breaker().state == CLOSED  # a conflict, not an outage


def test_a_replicated_conflict_that_never_ends_is_a_session_conflict_and_opens_no_breaker(
    proxy: FaultProxy, settings: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ops, "MERGE_ROUNDS", 3)
    store = SessionStore()
    store["a"] = 1
    store.save()
    loaded = SessionStore(store.session_key)
    loaded["b"] = 2
    proxy.set_fault(faultproxy.REPLICATED_CONFLICT, only="PutItem")
    with pytest.raises(SessionConflict):
        loaded.save()
    proxy.set_fault(faultproxy.PASS)
    assert calls.breaker().state == CLOSED
    assert SessionStore(store.session_key).load() == {"a": 1}  # nothing half-written


def test_the_table_template_can_be_a_global_table(settings: Any) -> None:
    import json

    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    out, err = StringIO(), StringIO()
    call_command("sessionpolicy", "--table", "--replicas", "us-east-1,eu-west-1", stdout=out, stderr=err)
    resource = json.loads(out.getvalue())["SessionsTable"]
    assert resource["Type"] == "AWS::DynamoDB::GlobalTable"
    properties = resource["Properties"]
    assert properties["Replicas"] == [{"Region": "us-east-1"}, {"Region": "eu-west-1"}]
    assert properties["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}  # MREC replicates by it
    assert properties["TimeToLiveSpecification"]["Enabled"] is True
    assert properties["GlobalSecondaryIndexes"][0]["IndexName"] == "user_id-index"
    out = StringIO()
    call_command("sessionpolicy", "--table", "--replicas", "us-east-1,us-east-2,us-west-2", "--strong",
                 stdout=out, stderr=err)
    strong = json.loads(out.getvalue())["SessionsTable"]["Properties"]
    assert strong["MultiRegionConsistency"] == "STRONG" and "TimeToLiveSpecification" not in strong
    assert "schedule `python manage.py clearsessions`" in err.getvalue()


@pytest.mark.parametrize("arguments", [["--replicas", "us-east-1"], ["--table", "--replicas", "Ireland,us-east-1"],
                                       ["--table", "--strong"]])
def test_a_global_table_template_needs_two_real_regions(arguments: list[str]) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("sessionpolicy", *arguments, stdout=StringIO())
