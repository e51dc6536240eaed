"""Many sites on one table (DYNAMODB_SESSIONS_KEY_PREFIX): their sessions never meet, each is held
to its own keys by the IAM policy sessionpolicy prints (checked request by request with an
evaluator of exactly the condition operators it uses), and a live site that adds a prefix keeps
its users signed in."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client, override_settings

from pynamo_sessions import checks, create_table
from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.operations import cleanup, policy, users
from pynamo_sessions.testing.faultproxy import FaultProxy

ACCOUNT, REGION = "000000000000", "us-east-1"


@contextmanager
def site(prefix: str) -> Iterator[None]:
    with override_settings(DYNAMODB_SESSIONS_KEY_PREFIX=prefix):
        yield


@pytest.fixture
def shared(settings: Any, own_table: str) -> str:
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    create_table()
    return own_table


def signed_in_session(user_id: str = "42", **data: Any) -> SessionStore:
    store = SessionStore()
    store.update({SESSION_KEY: user_id, **data})
    store.save()
    return store


@pytest.mark.parametrize(("prefix", "ok"), [("", True), ("site1:", True), ("t#7#", True), ("a/b/", True),
                                              ("x|", True), ("site1", False), ("site 1:", False), (":x", False)])
def test_the_prefix_ends_with_a_separator(settings: Any, prefix: str, ok: bool) -> None:
    settings.DYNAMODB_SESSIONS_KEY_PREFIX = prefix
    errors = [m for m in checks.check_settings() if m.id == "pynamo_sessions.E001"]
    assert (errors == []) == ok, errors
    if not ok:
        assert "DYNAMODB_SESSIONS_KEY_PREFIX" in errors[0].msg and "such as 'site1:'" in errors[0].msg


def test_two_sites_on_one_table_never_meet(shared: str, raw_item: Any, raw: Any) -> None:
    with site("a:"):
        ours = signed_in_session(secret="a's")
    with site("b:"):
        theirs = signed_in_session(secret="b's")
        assert SessionStore(ours.session_key).load() == {}  # a's cookie is nobody here
        assert [s.key for s in users.list_sessions("42")] == ["b:" + theirs.session_key]
        assert users.revoke_all("42") == 1
    assert raw_item("a:" + ours.session_key)["user_id"] == {"S": "a:42"}  # the index value carries it too
    with site("a:"):
        assert SessionStore(ours.session_key).load()["secret"] == "a's"  # b's "sign out everywhere" spared it
        assert SessionStore(theirs.session_key).load() == {}


def test_one_sites_sweep_never_deletes_anothers_items(shared: str, raw: Any, raw_item: Any, settings: Any) -> None:
    past = str(int(time.time()) - 60)
    for key in ("a:expired0000000000000000000000", "b:expired0000000000000000000000"):
        raw.put_item(TableName=shared, Item={"id": {"S": key}, "ttl": {"N": past}, "session_data": {"S": "x"}})
    with site("b:"):
        sweep = cleanup.clear_expired(ignore_ttl=True)
    assert sweep.deleted == 1
    assert raw_item("a:expired0000000000000000000000") is not None
    assert raw_item("b:expired0000000000000000000000") is None


@pytest.mark.django_db
def test_an_import_writes_only_under_its_prefix(shared: str, settings: Any, raw: Any) -> None:
    from django.contrib.sessions.backends.db import SessionStore as DjangoDB

    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    old = DjangoDB()
    old.update({SESSION_KEY: "42"})
    old.create()
    settings.SESSION_ENGINE = "pynamo_sessions.backends.dynamodb"
    with site("a:"):
        call_command("importsessions", "--from", "db", verbosity=0)
        assert SessionStore(old.session_key).load() == {SESSION_KEY: "42"}
    written = [item["id"]["S"] for item in raw.scan(TableName=shared)["Items"]]
    assert written and all(key.startswith("a:") for key in written), written


def test_a_site_that_adds_a_prefix_keeps_its_users_signed_in(
    shared: str, settings: Any, raw_item: Any, SessionStore: type[Any],
) -> None:
    before = SessionStore()
    before.update({SESSION_KEY: "42", "cart": ["apple"]})
    before.save()
    settings.DYNAMODB_SESSIONS_KEY_PREFIX = "a:"
    settings.DYNAMODB_SESSIONS_UNPREFIXED_FALLBACK = True
    moving = SessionStore(before.session_key)
    assert moving.load()["cart"] == ["apple"]  # nobody logged out
    assert [s.key for s in users.list_sessions("42")] == [before.session_key]  # listed while it moves
    moving["cart"] = ["apple", "pear"]
    moving.save()  # moved under the prefix
    assert raw_item(before.session_key) is None
    assert raw_item("a:" + before.session_key)["user_id"] == {"S": "a:42"}
    settings.DYNAMODB_SESSIONS_UNPREFIXED_FALLBACK = False  # one cookie age later
    assert SessionStore(before.session_key).load()["cart"] == ["apple", "pear"]
    assert [s.key for s in users.list_sessions("42")] == ["a:" + before.session_key]


def test_without_the_fallback_an_unprefixed_session_is_nobodys(shared: str, settings: Any) -> None:
    before = signed_in_session()
    settings.DYNAMODB_SESSIONS_KEY_PREFIX = "a:"
    assert SessionStore(before.session_key).load() == {}


# Least privilege per site --------------------------------------------------------------------

def _leading_keys(operation: str, request: dict[str, Any], attr_id: str) -> list[str] | None:
    """The partition key values a request names, as IAM's dynamodb:LeadingKeys sees them; None
    for a request that names none (a Scan, a table's description)."""
    if operation in ("GetItem", "DeleteItem", "UpdateItem"):
        return [request["Key"][attr_id]["S"]]
    if operation == "PutItem":
        return [request["Item"][attr_id]["S"]]
    if operation == "BatchWriteItem":
        return [(write.get("PutRequest", {}).get("Item") or write["DeleteRequest"]["Key"])[attr_id]["S"]
                for writes in request["RequestItems"].values() for write in writes]
    if operation == "Query":  # the key condition's values: on an index, the index's own key
        names = re.findall(r":\w+", request["KeyConditionExpression"])
        return [request["ExpressionAttributeValues"][name]["S"] for name in names]
    return None


def _resource(request: dict[str, Any]) -> str:
    table = request.get("TableName") or next(iter(request.get("RequestItems", {})))
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}"
    return f"{arn}/index/{request['IndexName']}" if "IndexName" in request else arn


def allowed(document: dict[str, Any], operation: str, resource: str, keys: list[str] | None) -> bool:
    """IAM's answer for one request, for the operators sessionpolicy uses: Action and Resource
    match exactly; ForAllValues:StringLike is true when every key matches a pattern (and so for
    no key at all); Null "false" requires the key to be there."""
    for statement in document["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        if f"dynamodb:{operation}" not in actions or resource not in resources:
            continue
        condition = statement.get("Condition", {})
        patterns = condition.get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
        if patterns is not None and keys is not None and not all(
                any(fnmatchcase(key, pattern) for pattern in patterns) for key in keys):
            continue
        if condition.get("Null", {}).get("dynamodb:LeadingKeys") == "false" and keys is None:
            continue
        if statement["Effect"] == "Allow":
            return True
    return False


def test_the_evaluator_sees_why_the_null_guard_is_there() -> None:
    # Without it, ForAllValues is true for a request that carries no key: a Scan of every site.
    document = {"Statement": [{"Effect": "Allow", "Action": ["dynamodb:Scan"], "Resource": "t",
                               "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["a:*"]}}}]}
    assert allowed(document, "Scan", "t", None)
    document["Statement"][0]["Condition"] = policy.leading_keys_condition("a:")
    assert not allowed(document, "Scan", "t", None)
    assert allowed({"Statement": [{**document["Statement"][0], "Action": ["dynamodb:GetItem"]}]},
                   "GetItem", "t", ["a:x"])


@pytest.mark.django_db
def test_every_request_a_prefixed_site_makes_is_allowed_and_another_prefix_is_not(
    proxy: FaultProxy, shared: str, settings: Any, raw: Any,
) -> None:
    from django.contrib.sessions.backends.db import SessionStore as DjangoDB

    settings.DYNAMODB_SESSIONS_KEY_PREFIX = "a:"
    settings.DYNAMODB_SESSIONS_MAX_PER_USER = 3
    user = User.objects.create_user("alice", password="alice-password-1")
    by_job: dict[str, list[tuple[str, dict[str, Any]]]] = {}

    def record(job: str) -> Iterator[None]:
        start = len(proxy.requests)
        yield
        by_job.setdefault(job, []).extend(proxy.requests[start:])

    for job, work in [
        ("request", lambda: _browse(user)),  # read, write, logout, the user list, revoke, revoke all, the cap
        ("logoutuser", lambda: call_command("logoutuser", str(user.pk), stdout=StringIO())),
        ("clearsessions", lambda: _sweep(raw, shared)),
        ("importsessions", lambda: _import(settings, DjangoDB)),
    ]:
        steps = record(job)
        next(steps)
        work()
        next(steps, None)
    for job, requests in by_job.items():
        document = policy.iam_policy(job, region=REGION, account=ACCOUNT)
        assert requests, job
        for operation, request in requests:
            if operation in ("DescribeTable", "DescribeTimeToLive", "CreateTable", "UpdateTimeToLive"):
                continue  # provisioning's own, not this job's
            keys = _leading_keys(operation, request, "id")
            assert allowed(document, operation, _resource(request), keys), (job, operation, keys)
            if keys:  # the same request for another site's keys is refused
                elsewhere = [key.replace("a:", "b:", 1) for key in keys]
                assert not allowed(document, operation, _resource(request), elsewhere), (job, operation)
                assert not allowed(document, operation, _resource(request), [k[2:] for k in keys]), (job, operation)
    operations = {operation for requests in by_job.values() for operation, _ in requests}
    assert {"GetItem", "PutItem", "DeleteItem", "UpdateItem", "BatchWriteItem", "Query", "Scan"} <= operations
    sweep_policy = policy.iam_policy("clearsessions", region=REGION, account=ACCOUNT)
    assert [s["Sid"] for s in sweep_policy["Statement"]] == ["SessionsOwnKeys", "SessionsTableWithoutKeys"]


def _browse(user: User) -> None:
    browsers = []
    for _ in range(4):  # one past the cap
        browser = Client()
        browser.post("/signin/", {"username": "alice", "password": "alice-password-1"})
        browser.get("/increment/")
        browsers.append(browser)
    laptop = browsers[-1]
    laptop.get("/read/")
    page = laptop.get("/account/sessions/")
    ref = next(s.ref for s in page.context["sessions"] if not s.is_current)
    laptop.post(f"/account/sessions/{ref}/revoke/")
    laptop.post("/account/sessions/revoke-others/")
    laptop.get("/logout/")


def _sweep(raw: Any, table: str) -> None:
    raw.put_item(TableName=table, Item={"id": {"S": "a:expired0000000000000000000000"},
                                        "ttl": {"N": str(int(time.time()) - 60)}, "session_data": {"S": "x"}})
    assert cleanup.clear_expired(ignore_ttl=True).deleted >= 1


def _import(settings: Any, django_store: type[Any]) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.db"
    old = django_store()
    old.update({SESSION_KEY: "42"})
    old.set_expiry(datetime.now(UTC) + timedelta(days=1))
    old.create()
    settings.SESSION_ENGINE = "pynamo_sessions.backends.dynamodb"
    call_command("importsessions", "--from", "db", verbosity=0)
