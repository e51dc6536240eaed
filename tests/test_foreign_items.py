"""Items this store did not write: wrong attribute types, missing attributes, clashing names.

Another program or a migration may write anything into the table; its item must read as no
session for its cookie and be left out of the sessions pages, never a 500 or a retry loop.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import UpdateError

from pynamo_sessions import checks, conf, create_table
from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.exceptions import MalformedItem
from pynamo_sessions.operations import users
from pynamo_sessions.store import models, ops
from tests.helpers import Via, count_calls, create_table_of_an_earlier_release

GOOD_TTL = {"N": "4102444800"}  # 2100-01-01


def foreign(raw: Any, table: str, **attributes: Any) -> str:
    key = secrets.token_hex(16)
    item = {"id": {"S": key}, "session_data": {"S": SessionStore().encode({"a": 1})}, "ttl": GOOD_TTL}
    item.update({name: value for name, value in attributes.items() if value is not None})
    for name in [name for name, value in attributes.items() if value is None]:
        del item[name]
    raw.put_item(TableName=table, Item=item)
    return key


BAD = [
    pytest.param({"session_data": {"N": "5"}}, "session_data", id="data-is-a-number"),
    pytest.param({"ttl": {"S": "tomorrow"}}, "ttl", id="ttl-is-a-string"),
    pytest.param({"ttl": {"N": "1e30"}}, "ttl", id="ttl-out-of-range"),
    pytest.param({"ttl": None}, "ttl", id="ttl-missing"),
    pytest.param({"session_data": None}, "session_data", id="data-missing"),
    pytest.param({"version": {"N": "1.5"}}, "version", id="version-not-whole"),
    pytest.param({"version": {"S": "1"}}, "version", id="version-is-a-string"),
    pytest.param({"updated": {"S": "x"}, "user_id": {"S": "5"}}, "updated", id="updated-is-a-string"),
]


@pytest.fixture
def tracked(settings: Any, own_table: str, raw: Any, request: pytest.FixtureRequest) -> str:
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    settings.DYNAMODB_SESSIONS_ABSOLUTE_AGE = 86400
    callspec = getattr(request.node, "callspec", None)
    attributes = callspec.params.get("attributes", {}) if callspec else {}
    if "S" in attributes.get("updated", {}):
        # The ordered user index is sorted by it, so DynamoDB itself refuses an item whose
        # `updated` is not a number; an index made by an earlier release does not.
        create_table_of_an_earlier_release(raw, own_table)
    else:
        create_table()
    return own_table


@pytest.mark.parametrize(("attributes", "attribute"), BAD)
async def test_an_unreadable_item_is_no_session_for_its_cookie(
    via: Via, tracked: str, raw: Any, attributes: dict[str, Any], attribute: str, caplog: pytest.LogCaptureFixture,
) -> None:
    models._reported.clear()
    key = foreign(raw, tracked, **attributes)
    store = SessionStore(key)
    with caplog.at_level(logging.WARNING, logger="pynamo_sessions"):
        assert await via(store, "load") == {}
        assert await via(SessionStore(key), "load") == {}
    assert store.session_key is None  # never adopted: the next save draws a new key
    logged = [r.getMessage() for r in caplog.records if "reads as no session" in r.getMessage()]
    assert len(logged) == 1, "logged once, not on every read"
    assert repr(attribute) in logged[0] and key not in logged[0]


# What the user index projects (the page's columns): the TTL, created, updated, the client.
SHOWN = [p for p in BAD if p.values[1] in ("ttl", "updated")] + [
    pytest.param({"created": {"S": "x"}}, "created", id="created-is-a-string")]


@pytest.mark.parametrize(("attributes", "attribute"), SHOWN)
def test_the_sessions_page_leaves_an_unreadable_item_out_and_can_still_revoke_it(
    tracked: str, raw: Any, attributes: dict[str, Any], attribute: str,
) -> None:
    good = SessionStore()
    good[SESSION_KEY] = "5"
    good.save()
    # A last-use time, as every item this store indexes has (the ordered index holds only those).
    bad = foreign(raw, tracked, **{"user_id": {"S": "5"}, "updated": {"N": "1"}, **attributes})
    assert [s.key for s in users.list_sessions("5")] == [good.session_key]
    assert users.revoke_all("5") == 2  # the unreadable one is signed out too
    assert raw.get_item(TableName=tracked, Key={"id": {"S": bad}}).get("Item") is None


def test_a_save_on_an_item_rewritten_meanwhile_with_a_bad_version_stops_after_one_round(
    raw: Any, settings: Any,
) -> None:
    store = SessionStore()
    store["a"] = 1
    store.save()
    loaded = SessionStore(store.session_key)
    loaded["a"] = 2  # loaded at version 1
    raw.put_item(TableName=settings.DYNAMODB_SESSIONS_TABLE, Item={
        "id": {"S": store.session_key}, "session_data": {"S": store.encode({"a": 1})}, "ttl": GOOD_TTL,
        "version": {"N": "1.5"},
    })
    with count_calls() as calls, pytest.raises(UpdateError):
        loaded.save()
    assert calls == {"PutItem": 1, "GetItem": 1}


def test_a_condition_that_fails_on_an_unchanged_version_is_a_clear_error_not_forty_rounds() -> None:
    """The merge rule as steps, without DynamoDB: a re-read that shows the very version the
    failed write was conditioned on means no other request wrote; retrying cannot help."""
    store = SessionStore("a" * 32)
    item = models.bound_model()("a" * 32, data=store.encode({"a": 1}), expires=datetime(2100, 1, 1, tzinfo=UTC))
    item.version = 3
    steps = store._merge_steps("a" * 32, {"a": 1}, {"a": 2}, None, 3, conf.current())
    assert isinstance(next(steps), ops.Get)
    with pytest.raises(MalformedItem, match="no other request changed it"):
        steps.send(item)


# Attribute names -----------------------------------------------------------------------------

@pytest.mark.parametrize("setting", ["DYNAMODB_SESSIONS_ATTR_USER", "DYNAMODB_SESSIONS_ATTR_SESSION_DATA",
                                     "DYNAMODB_SESSIONS_ATTR_CREATED", "DYNAMODB_SESSIONS_ATTR_TTL"])
@pytest.mark.parametrize("name", ["updated", "user_agent", "ip_address"])
def test_an_attribute_name_the_item_uses_itself_is_refused_by_check(settings: Any, setting: str, name: str) -> None:
    setattr(settings, setting, name)
    [message] = [m for m in checks.check_settings() if m.id == "pynamo_sessions.E002"]
    assert f"{setting} = {name!r}" in message.msg
