"""create_table() / createsessiontable: one call, TTL on, safe twice, clear on a misfit table."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from pynamo_sessions import ProvisioningError, create_table, delete_table
from pynamo_sessions.operations.provision import ttl_attribute


def test_create_table_enables_ttl_and_is_safe_twice(own_table: str, raw: Any) -> None:
    first = create_table()
    second = create_table()
    assert first.created and first.ttl_enabled_now
    assert not second.created and not second.ttl_enabled_now
    assert raw.list_tables()["TableNames"].count(own_table) == 1
    ttl = raw.describe_time_to_live(TableName=own_table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "ttl"}
    table = raw.describe_table(TableName=own_table)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_command_twice_succeeds(own_table: str) -> None:
    out = StringIO()
    call_command("createsessiontable", stdout=out)
    call_command("createsessiontable", stdout=out)
    text = out.getvalue()
    assert f"Created table {own_table!r} with TTL enabled." in text
    assert "already exists with the right key schema" in text
    assert "TTL is already enabled on 'ttl'." in text


def test_provisioned_billing_mode(own_table: str, raw: Any, settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_BILLING_MODE = "PROVISIONED"
    settings.DYNAMODB_SESSIONS_READ_CAPACITY_UNITS = 7
    settings.DYNAMODB_SESSIONS_WRITE_CAPACITY_UNITS = 3
    create_table()
    throughput = raw.describe_table(TableName=own_table)["Table"]["ProvisionedThroughput"]
    assert (throughput["ReadCapacityUnits"], throughput["WriteCapacityUnits"]) == (7, 3)


def test_existing_table_without_ttl_gets_it(own_table: str, raw: Any) -> None:
    # As the original snippet's README had users create it by hand, before enabling TTL.
    raw.create_table(
        TableName=own_table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    report = create_table()
    assert not report.created and report.ttl_enabled_now
    assert ttl_attribute() == ("ENABLED", "ttl")


def test_wrong_key_schema_is_a_clear_error(own_table: str, raw: Any) -> None:
    raw.create_table(
        TableName=own_table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                              {"AttributeName": "sk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
    )
    with pytest.raises(ProvisioningError, match=r"single string hash key named 'id'"):
        create_table()
    with pytest.raises(CommandError, match="DYNAMODB_SESSIONS_ATTR_ID"):
        call_command("createsessiontable", stdout=StringIO())


def test_ttl_on_another_attribute_is_a_clear_error(own_table: str, raw: Any) -> None:
    create_table()
    from django.test import override_settings

    with override_settings(DYNAMODB_SESSIONS_ATTR_TTL="expires"):
        with pytest.raises(ProvisioningError, match=r"on attribute 'ttl'.*DYNAMODB_SESSIONS_ATTR_TTL is 'expires'"):
            create_table()


def test_delete_asks_for_confirmation(own_table: str, raw: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    create_table()
    monkeypatch.setattr("builtins.input", lambda prompt: "no")
    with pytest.raises(CommandError, match="cancelled"):
        call_command("createsessiontable", delete=True, stdout=StringIO())
    assert own_table in raw.list_tables()["TableNames"]
    monkeypatch.setattr("builtins.input", lambda prompt: "yes")
    out = StringIO()
    call_command("createsessiontable", delete=True, stdout=out)
    assert f"Deleted table {own_table!r}." in out.getvalue()
    assert own_table not in raw.list_tables()["TableNames"]


def test_delete_noinput_and_missing_table(own_table: str) -> None:
    create_table()
    call_command("createsessiontable", "--delete", "--noinput", stdout=StringIO())
    out = StringIO()
    call_command("createsessiontable", "--delete", "--noinput", stdout=out)
    assert "There is no table" in out.getvalue()
    assert delete_table() is False


def test_quiet_at_verbosity_zero(own_table: str) -> None:
    out = StringIO()
    call_command("createsessiontable", verbosity=0, stdout=out)
    assert out.getvalue() == ""
