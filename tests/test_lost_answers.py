"""A write DynamoDB carried out whose answer never arrived, so botocore sent it again."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth import SESSION_KEY

from pynamo_sessions import create_table
from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.operations import users
from pynamo_sessions.testing.faultproxy import LOSE_ANSWER, SERVER_ERROR, FaultProxy
from tests.helpers import Via


async def test_a_create_whose_answer_was_lost_leaves_no_orphan_signed_in_item(
    via: Via, proxy: FaultProxy, settings: Any, own_table: str,
) -> None:
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    create_table()
    store = SessionStore()
    store[SESSION_KEY] = "77"
    proxy.fail_next(1, LOSE_ANSWER)  # the PutItem is written, its answer lost, botocore resends it
    await via(store, "save")
    assert proxy.count("PutItem") == 2
    [listed] = users.list_sessions("77")  # one device, the one the cookie holds
    assert listed.key == store.session_key
    assert SessionStore(store.session_key).load() == {SESSION_KEY: "77"}
    store["more"] = 1
    await via(store, "save")  # and its version is known: the next save needs no merge
    assert proxy.count("PutItem") == 3


def test_a_resent_create_that_meets_another_sessions_item_still_draws_a_new_key(proxy: FaultProxy) -> None:
    taken = SessionStore()
    taken["a"] = "someone else's"
    taken.save()
    proxy.fail_next(1, SERVER_ERROR)  # the create is sent twice: its condition fails on the resend
    store = SessionStore()
    fresh = secrets.token_hex(16)
    keys = iter([taken.session_key, fresh])
    store._get_new_session_key = lambda: next(keys)  # type: ignore[method-assign]
    store["a"] = "mine"
    store.save()
    assert store.session_key == fresh
    assert SessionStore(taken.session_key).load() == {"a": "someone else's"}
    assert proxy.count("PutItem") == 4  # the taken key twice, then the fresh one
