"""Least privilege as code: the printed policies allow what each job sends on the wire (recorded
by the fault proxy), and nothing beyond."""

from __future__ import annotations

import json
import time
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import AsyncClient, Client

from pynamo_sessions import conf, create_table
from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.operations import cleanup, policy, provision
from pynamo_sessions.testing.faultproxy import FaultProxy

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def granted(job: str) -> set[str]:
    document = policy.iam_policy(job, region="eu-west-1", account="123456789012")
    return {action.removeprefix("dynamodb:") for statement in document["Statement"] for action in statement["Action"]}


@pytest.fixture
def tracked(settings: Any, proxy: FaultProxy, own_table: str) -> str:
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    settings.DYNAMODB_SESSIONS_TRACK_CLIENT = True
    create_table()
    proxy.operations.clear()  # provisioning is another job
    return own_table


@pytest.mark.django_db(transaction=True)
async def test_the_request_policy_is_exactly_what_requests_send(proxy: FaultProxy, tracked: str) -> None:
    from asgiref.sync import sync_to_async

    def browse() -> None:
        user = User.objects.create_user("policy", password="policy-password-1")
        laptop, phone, tablet = Client(), Client(), Client()
        for browser in (laptop, phone, tablet):
            browser.force_login(user)
            browser.get("/increment/", HTTP_USER_AGENT=FIREFOX)
        laptop.get("/read/")
        one, two = SessionStore(laptop.cookies["sessionid"].value), SessionStore(laptop.cookies["sessionid"].value)
        one["a"], two["b"] = 1, 2
        one.save()
        two.save()  # a conflict, merged
        laptop.get("/login/")  # cycle_key
        page = laptop.get("/account/sessions/")
        ref = next(s.ref for s in page.context["sessions"] if not s.is_current)
        laptop.post(f"/account/sessions/{ref}/revoke/")
        laptop.post("/account/sessions/revoke-others/")
        phone.get("/read/", HTTP_COOKIE="sessionid=" + "q" * 32)  # an unknown key
        laptop.get("/logout/")

    await sync_to_async(browse)()
    browser = AsyncClient()
    await browser.get("/aincrement/")  # the native async transport
    await browser.get("/aincrement/")
    assert set(proxy.operations) == granted("request")


def test_without_tracked_users_requests_need_three_actions(proxy: FaultProxy) -> None:
    client = Client()
    client.get("/increment/")
    client.get("/read/")
    client.get("/login/")
    client.get("/logout/")
    client.get("/read/", HTTP_COOKIE="sessionid=" + "q" * 32)
    assert set(proxy.operations) == granted("request") == {"GetItem", "PutItem", "DeleteItem"}


def test_the_createsessiontable_policy_is_what_provisioning_sends(
    settings: Any, proxy: FaultProxy, own_table: str,
) -> None:
    create_table()
    create_table()  # verify an existing table
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    create_table()  # add the user index
    assert set(proxy.operations) == granted("createsessiontable")


def test_the_clearsessions_policy_is_what_a_sweep_sends(proxy: FaultProxy, own_table: str, raw: Any) -> None:
    # A table made by hand, without TTL, as the snippet's README had users make it: the sweep
    # runs (with TTL, DynamoDB Local could delete the expired item first, whenever it likes).
    raw.create_table(
        TableName=own_table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    raw.put_item(TableName=own_table, Item={  # written directly, not through the proxy
        "id": {"S": "expired" + "0" * 25}, "ttl": {"N": str(int(time.time()) - 60)}, "session_data": {"S": "x"}})
    cleanup.clear_expired()
    assert set(proxy.operations) == granted("clearsessions")


def test_the_command_prints_real_arns_and_the_table_resource(tracked: str) -> None:
    out = StringIO()
    call_command("sessionpolicy", "--region", "eu-west-1", "--account", "123456789012", stdout=out)
    document = json.loads(out.getvalue())
    table_arn = f"arn:aws:dynamodb:eu-west-1:123456789012:table/{tracked}"
    assert [s["Resource"] for s in document["Statement"]] == [table_arn, f"{table_arn}/index/user_id-index"]
    out = StringIO()
    call_command("sessionpolicy", "--table", stdout=out)
    resource = json.loads(out.getvalue())["SessionsTable"]["Properties"]
    described = provision.describe_table()
    assert described is not None
    assert resource["KeySchema"] == described["KeySchema"]
    assert resource["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    [index] = described["GlobalSecondaryIndexes"]
    [declared] = resource["GlobalSecondaryIndexes"]
    assert declared["IndexName"] == index["IndexName"] and declared["KeySchema"] == index["KeySchema"]
    assert sorted(declared["Projection"]["NonKeyAttributes"]) == sorted(index["Projection"]["NonKeyAttributes"])
    with pytest.raises(CommandError, match="12-digit"):
        call_command("sessionpolicy", "--account", "me")
    assert conf.current().table_name == tracked


def test_the_command_says_when_it_left_placeholders_in_the_arns(tracked: str, settings: Any) -> None:
    settings.DYNAMODB_REGION = "eu-west-1"
    out, err = StringIO(), StringIO()
    call_command("sessionpolicy", stdout=out, stderr=err)
    assert ":ACCOUNT:" in json.dumps(json.loads(out.getvalue()))  # still valid JSON on stdout
    assert "--account (the ARNs say ACCOUNT)" in err.getvalue() and "--region" not in err.getvalue()
    err = StringIO()
    call_command("sessionpolicy", "--account", "123456789012", stdout=StringIO(), stderr=err)
    assert err.getvalue() == ""
