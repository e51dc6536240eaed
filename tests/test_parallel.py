"""Parallel requests on one session: each save applies the keys it changed on top of what is
stored, on the version it read; a deletion always wins. The merge rule as a table, then end to
end on DynamoDB Local through both engines and both transports."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.test import Client
from pynamodb.signals import pre_dynamodb_send

from pynamo_sessions import SessionConflict
from pynamo_sessions.backends.dynamodb import SessionStore as PlainStore
from pynamo_sessions.store import ops
from pynamo_sessions.store.usage import Call, dynamodb_call
from tests.helpers import Via, count_calls

# The rule ------------------------------------------------------------------------------------

CART = ["apple"]


@pytest.mark.parametrize(
    ("base", "ours", "theirs", "merged", "changed"),
    [
        # different keys: both kept
        ({"a": 1}, {"a": 1, "mine": 1}, {"a": 1, "theirs": 1}, {"a": 1, "mine": 1, "theirs": 1}, {"mine"}),
        # the same key: the later save (ours) wins
        ({"n": 1}, {"n": 2}, {"n": 5}, {"n": 2}, {"n"}),
        # a key we deleted goes, even if they changed it
        ({"a": 1, "b": 1}, {"b": 1}, {"a": 9, "b": 1}, {"b": 1}, {"a"}),
        # a key they deleted and we left alone stays deleted
        ({"a": 1, "b": 1}, {"a": 1, "b": 1, "c": 1}, {"b": 1}, {"b": 1, "c": 1}, {"c"}),
        # a key they deleted and we changed comes back with our value
        ({"a": 1}, {"a": 2}, {}, {"a": 2}, {"a"}),
        # mutated in place: compared by value with what was loaded
        ({"cart": ["apple"]}, {"cart": ["apple", "pear"]}, {"cart": ["apple"], "x": 1},
         {"cart": ["apple", "pear"], "x": 1}, {"cart"}),
        # nothing changed here (a save that only slides the expiry): theirs as it is
        ({"a": 1}, {"a": 1}, {"a": 1, "b": 2}, {"a": 1, "b": 2}, set()),
        # no base (the session was replaced without being loaded): ours is the session
        (None, {"a": 1}, {"a": 0, "b": 2}, {"a": 1}, {"a", "b"}),
        # Django's own keys merge like any other: a set_expiry elsewhere survives
        ({"a": 1}, {"a": 2}, {"a": 1, "_session_expiry": 60}, {"a": 2, "_session_expiry": 60}, {"a"}),
    ],
)
def test_merge_applies_our_changes_on_top_of_theirs(
    base: dict[str, Any] | None, ours: dict[str, Any], theirs: dict[str, Any],
    merged: dict[str, Any], changed: set[str],
) -> None:
    theirs_before = dict(theirs)
    assert ops.merge(base, ours, theirs) == (merged, frozenset(changed))
    assert theirs == theirs_before  # inputs are never modified


@pytest.mark.parametrize("round_number", range(2, ops.MERGE_ROUNDS + 1))
def test_pauses_are_short_and_jittered(round_number: int) -> None:
    pauses = {ops.pause_before(round_number) for _ in range(50)}
    assert len(pauses) > 1 and all(0 <= pause <= 0.16 for pause in pauses)


# Two requests, one session: the race made deterministic -------------------------------------

def two_readers(store_class: type[Any], **data: Any) -> tuple[Any, Any]:
    """Two requests that have both read one stored session, as parallel requests do."""
    first = store_class()
    first.update(data)
    first.save()
    one, two = store_class(first.session_key), store_class(first.session_key)
    one.load(), two.load()
    one._get_session(), two._get_session()
    return one, two


def test_different_keys_both_survive(SessionStore: type[Any]) -> None:
    one, two = two_readers(SessionStore, shared=0)
    one["tab1"] = 1
    one.save()
    two["tab2"] = 1
    with count_calls() as calls:
        two.save()
    # the conflict costs one re-read and one more write
    assert calls == {"PutItem": 2, "GetItem": 1}
    assert SessionStore(one.session_key).load() == {"shared": 0, "tab1": 1, "tab2": 1}
    assert PlainStore(one.session_key).load() == {"shared": 0, "tab1": 1, "tab2": 1}
    assert two._get_session() == {"shared": 0, "tab1": 1, "tab2": 1}  # the request sees the merge


def test_the_same_key_later_save_wins(SessionStore: type[Any]) -> None:
    one, two = two_readers(SessionStore, n=1)
    one["n"] = 10
    one.save()
    two["n"] = 20
    two.save()
    assert PlainStore(one.session_key).load() == {"n": 20}


def test_a_change_in_place_is_merged(SessionStore: type[Any]) -> None:
    one, two = two_readers(SessionStore, cart=list(CART))
    one["seen"] = True
    one.save()
    two["cart"].append("pear")
    two.modified = True
    two.save()
    assert PlainStore(one.session_key).load() == {"cart": ["apple", "pear"], "seen": True}


def test_a_deleted_key_stays_deleted(SessionStore: type[Any]) -> None:
    one, two = two_readers(SessionStore, a=1, b=1)
    one["c"] = 1
    one.save()
    del two["a"]
    two.save()
    assert PlainStore(one.session_key).load() == {"b": 1, "c": 1}


@pytest.mark.parametrize("delete", ["flush", "cycle_key", "delete"])
def test_a_deletion_wins_over_a_save(SessionStore: type[Any], raw_item: Any, delete: str) -> None:
    one, two = two_readers(SessionStore, user="alice")
    key = one.session_key
    getattr(one, delete)()  # logout, login (a new key) or a revocation, in another request
    two["late"] = 1
    with pytest.raises(UpdateError):
        two.save()
    assert raw_item(key) is None
    assert SessionStore(key).load() == {}


def test_a_deletion_between_the_reread_and_the_merge_wins(SessionStore: type[Any], raw_item: Any) -> None:
    one, two = two_readers(SessionStore, a=0)
    one["a"] = 1
    one.save()
    puts: list[str] = []

    def delete_before_the_merged_write(sender: Any, operation_name: str, **kwargs: Any) -> None:
        if operation_name == "PutItem":
            puts.append(operation_name)
            if len(puts) == 2:  # the re-read found the item; the merged write will not
                PlainStore().delete(one.session_key)

    two["b"] = 1
    two._get_session()
    pre_dynamodb_send.connect(delete_before_the_merged_write)
    try:
        with pytest.raises(UpdateError):
            two.save()
    finally:
        pre_dynamodb_send.disconnect(delete_before_the_merged_write)
    assert len(puts) == 2
    assert raw_item(one.session_key) is None


def test_items_without_a_version_merge_too(raw: Any, settings: Any) -> None:
    # An item as the original snippet (or this package before versions) wrote it.
    store = PlainStore()
    store["a"] = 1
    store.save()
    raw.update_item(TableName=settings.DYNAMODB_SESSIONS_TABLE, Key={"id": {"S": store.session_key}},
                    UpdateExpression="REMOVE version")
    one, two = PlainStore(store.session_key), PlainStore(store.session_key)
    one["b"] = 1
    two["c"] = 1
    one.save()
    two.save()
    assert PlainStore(store.session_key).load() == {"a": 1, "b": 1, "c": 1}


def test_the_cache_holds_the_merge(settings: Any) -> None:
    from pynamo_sessions.backends.cached_dynamodb import SessionStore as CachedStore

    settings.SESSION_ENGINE = "pynamo_sessions.backends.cached_dynamodb"
    one, two = two_readers(CachedStore, a=0)
    one["b"] = 1
    one.save()
    two["c"] = 1
    two.save()
    reader = CachedStore(one.session_key)
    with count_calls() as calls:
        assert reader.load() == {"a": 0, "b": 1, "c": 1}
    assert calls == {}  # from the cache, which holds the merged data, not either request's


def test_a_stale_version_in_the_cache_costs_a_round_not_an_update(settings: Any) -> None:
    from pynamo_sessions.backends.cached_dynamodb import SessionStore as CachedStore

    settings.SESSION_ENGINE = "pynamo_sessions.backends.cached_dynamodb"
    store = CachedStore()
    store["a"] = 0
    store.save()
    behind_the_cache = PlainStore(store.session_key)  # another process, another cache
    behind_the_cache["b"] = 1
    behind_the_cache.save()
    cached = CachedStore(store.session_key)
    cached["c"] = 1
    cached.save()
    assert PlainStore(store.session_key).load() == {"a": 0, "b": 1, "c": 1}


async def test_the_async_path_merges_too(SessionStore: type[Any], via: Via) -> None:
    first = SessionStore()
    first["a"] = 0
    await via(first, "save")
    one, two = SessionStore(first.session_key), SessionStore(first.session_key)
    await via(one, "load")
    await via(two, "load")
    await one.aget("a"), await two.aget("a")
    await one.aset("tab1", 1)
    await via(one, "save")
    await two.aset("tab2", 1)
    await via(two, "save")
    assert PlainStore(first.session_key).load() == {"a": 0, "tab1": 1, "tab2": 1}
    flushed = SessionStore(first.session_key)
    await flushed.aget("a")  # read before the other request logs out
    await via(one, "delete")
    await flushed.aset("late", 1)
    with pytest.raises(UpdateError):
        await via(flushed, "save")


# Threads: the race as it really happens -------------------------------------------------------

TABS = 8
INCREMENTS = 15


def run_tabs(work: Any) -> None:
    errors: list[BaseException] = []

    def tab(number: int) -> None:
        try:
            work(number)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=tab, args=(n,)) for n in range(TABS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_eight_parallel_writers_on_distinct_keys_lose_nothing(SessionStore: type[Any]) -> None:
    first = SessionStore()
    first["start"] = True
    first.save()
    key = first.session_key

    def increments(number: int) -> None:
        for _ in range(INCREMENTS):
            store = SessionStore(key)
            store[f"tab{number}"] = store.get(f"tab{number}", 0) + 1
            store.save()

    run_tabs(increments)
    expected = {"start": True} | {f"tab{n}": INCREMENTS for n in range(TABS)}
    assert PlainStore(key).load() == expected


def test_eight_parallel_writers_on_the_same_key_end_with_one_of_their_values(SessionStore: type[Any]) -> None:
    first = SessionStore()
    first["last"] = None
    first.save()
    key = first.session_key

    def overwrite(number: int) -> None:
        for _ in range(INCREMENTS):
            store = SessionStore(key)
            store["last"] = number  # every writer changes the same key: the later save wins
            store[f"tab{number}"] = store.get(f"tab{number}", 0) + 1  # and a key of its own
            store.save()

    run_tabs(overwrite)
    stored = PlainStore(key).load()
    assert stored["last"] in range(TABS)
    assert {name: stored[name] for name in stored if name.startswith("tab")} == {
        f"tab{n}": INCREMENTS for n in range(TABS)
    }


def test_a_logout_racing_parallel_saves_is_never_undone(SessionStore: type[Any], raw_item: Any) -> None:
    first = SessionStore()
    first["user"] = "alice"
    first.save()
    key = first.session_key
    started = threading.Barrier(TABS)
    outcomes: list[str] = []

    def save_or_log_out(number: int) -> None:
        store = SessionStore(key)
        store.load()
        store._get_session()
        started.wait()  # every request has read the session before any writes
        if number == 0:
            store.flush()  # the logout
            outcomes.append("logged out")
            return
        store[f"tab{number}"] = 1
        try:
            store.save()
            outcomes.append("saved")
        except UpdateError:
            outcomes.append("interrupted")

    run_tabs(save_or_log_out)
    assert "logged out" in outcomes and len(outcomes) == TABS
    assert raw_item(key) is None  # whatever order they landed in, the session stays gone
    assert SessionStore(key).load() == {}


def test_parallel_requests_through_the_middleware_lose_nothing(settings: Any) -> None:
    client = Client()
    client.get("/increment/")
    cookie = client.cookies["sessionid"].value

    def tab(number: int) -> None:
        tab_client = Client()
        tab_client.cookies["sessionid"] = cookie
        for _ in range(INCREMENTS):
            assert tab_client.get(f"/tab/{number}/").status_code == 200

    run_tabs(tab)
    data = PlainStore(cookie).load()
    assert {name: data[name] for name in data if name.startswith("tab")} == {
        f"tab{n}": INCREMENTS for n in range(TABS)
    }


# Observable -----------------------------------------------------------------------------------

@pytest.fixture
def reported() -> Iterator[list[Call]]:
    seen: list[Call] = []

    def record(sender: Any, call: Call, **kwargs: Any) -> None:
        seen.append(call)

    dynamodb_call.connect(record)
    yield seen
    dynamodb_call.disconnect(record)


def test_a_conflict_is_reported_and_logged_without_values_or_key(
    reported: list[Call], caplog: pytest.LogCaptureFixture,
) -> None:
    one, two = two_readers(PlainStore, secret_value="s3cr3t")
    one["tab1"] = "v1"
    one.save()
    two["tab2"] = "v2"
    reported.clear()
    with caplog.at_level(logging.DEBUG, logger="pynamo_sessions"):
        two.save()
    assert [(c.operation, c.outcome, c.conflict) for c in reported] == [
        ("PutItem", "condition_failed", None), ("GetItem", "ok", "reread"), ("PutItem", "ok", "merged"),
    ]
    [line] = [r.getMessage() for r in caplog.records if "conflicted" in r.getMessage()]
    assert "merged keys: tab2" in line
    assert "v2" not in line and "s3cr3t" not in line and two.session_key not in line


def test_a_deletion_is_reported_on_the_reread(reported: list[Call]) -> None:
    one, two = two_readers(PlainStore, a=1)
    one.flush()
    two["b"] = 1
    reported.clear()
    with pytest.raises(UpdateError):
        two.save()
    assert [(c.operation, c.outcome, c.conflict) for c in reported] == [
        ("PutItem", "condition_failed", None), ("GetItem", "missing", "reread"),
    ]


def test_a_save_that_loses_every_round_gives_a_clear_error(
    raw: Any, settings: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(ops, "MERGE_ROUNDS", 3)
    one, two = two_readers(PlainStore, a=1)

    def another_save_first(sender: Any, operation_name: str, **kwargs: Any) -> None:
        if operation_name == "PutItem":  # someone else always saves just before us
            raw.update_item(TableName=settings.DYNAMODB_SESSIONS_TABLE, Key={"id": {"S": one.session_key}},
                            UpdateExpression="ADD version :one", ExpressionAttributeValues={":one": {"N": "1"}})

    two["b"] = 1
    two._get_session()
    pre_dynamodb_send.connect(another_save_first)
    try:
        with caplog.at_level(logging.WARNING, logger="pynamo_sessions"), count_calls() as calls, \
                pytest.raises(SessionConflict) as info:
            two.save()
    finally:
        pre_dynamodb_send.disconnect(another_save_first)
    assert calls == {"PutItem": 4, "GetItem": 3}  # the first write, then 3 rounds
    # An operator sees why, not only a 503.
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [str(info.value)]
    assert info.value.rounds == 3 and not info.value.outage
    assert "3 rounds" in str(info.value) and one.session_key not in str(info.value)
    assert PlainStore(one.session_key).load() == {"a": 1}  # nothing half-written
