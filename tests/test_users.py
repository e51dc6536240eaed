"""Per-user sessions: the sparse user index, listing, revoking, and the password-change receiver."""

from __future__ import annotations

import time
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.base import UpdateError
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import Client

from pynamo_sessions import checks, create_table
from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.operations import users
from pynamo_sessions.store.keys import item_key
from tests.helpers import count_calls


@pytest.fixture
def tracked(settings: Any, own_table: str) -> Iterator[str]:
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    create_table()
    yield own_table


def logged_in(user_id: Any, store_class: type[Any] = SessionStore, **data: Any) -> Any:
    store = store_class()
    store[SESSION_KEY] = str(user_id)
    store.update(data)
    store.save()
    return store


def test_provisioning_creates_the_user_index(tracked: str, raw: Any) -> None:
    indexes = raw.describe_table(TableName=tracked)["Table"]["GlobalSecondaryIndexes"]
    assert [(i["IndexName"], i["KeySchema"]) for i in indexes] == [
        ("user_id-index", [{"AttributeName": "user_id", "KeyType": "HASH"},
                           {"AttributeName": "updated", "KeyType": "RANGE"}])  # in last-use order
    ]
    assert [m.id for m in checks.check_table()] == ["pynamo_sessions.W103"]  # the suite's local endpoint


def test_index_is_added_to_an_existing_table_and_checked(settings: Any, own_table: str, raw: Any) -> None:
    create_table()
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    assert [m.id for m in checks.check_table()] == ["pynamo_sessions.W103", "pynamo_sessions.E104"]
    out = StringIO()
    call_command("createsessiontable", stdout=out)
    assert "Added the user index 'user_id-index'." in out.getvalue()
    assert [m.id for m in checks.check_table()] == ["pynamo_sessions.W103"]  # the suite's local endpoint
    out = StringIO()
    call_command("createsessiontable", stdout=out)  # again: it says what it verified
    assert "The user index 'user_id-index' is already there." in out.getvalue()


def test_anonymous_sessions_stay_out_of_the_index(tracked: str, raw: Any) -> None:
    store = SessionStore()
    store["cart"] = [1]
    store.save()
    item = raw.get_item(TableName=tracked, Key={"id": {"S": store.session_key}})["Item"]
    assert "user_id" not in item


def test_list_shows_live_sessions_of_that_user_only(tracked: str, raw: Any) -> None:
    first, second = logged_in(7), logged_in(7)
    expired = logged_in(7)
    logged_in(8)
    SessionStore().save()
    raw.update_item(
        TableName=tracked, Key={"id": {"S": expired.session_key}}, UpdateExpression="SET #t = :past",
        ExpressionAttributeNames={"#t": "ttl"}, ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 5)}},
    )
    listed = users.list_sessions(7)
    assert {s.key for s in listed} == {first.session_key, second.session_key}
    assert all(s.last_seen is not None and s.expires > s.last_seen for s in listed)


def test_login_cycle_and_logout_keep_the_index_in_sync(tracked: str) -> None:
    store = SessionStore()
    store["cart"] = [1]
    store.save()
    assert users.list_sessions(5) == []
    store.cycle_key()  # what django.contrib.auth.login does
    store[SESSION_KEY] = "5"
    store.save()
    assert [s.key for s in users.list_sessions(5)] == [store.session_key]
    store.flush()  # logout
    assert users.list_sessions(5) == []


def test_revoke_one_interrupts_a_request_in_flight(tracked: str) -> None:
    victim, other = logged_in(9), logged_in(9)
    in_flight = SessionStore(victim.session_key)
    in_flight["cart"] = [2]
    assert users.revoke(9, victim.session_key) is True
    with pytest.raises(UpdateError):
        in_flight.save()
    assert [s.key for s in users.list_sessions(9)] == [other.session_key]
    assert users.revoke(9, other.session_key + "x") is False
    assert users.revoke(10, other.session_key) is False  # not that user's


def test_revoke_all_but_the_current_one(tracked: str) -> None:
    current = logged_in(11)
    for _ in range(3):
        logged_in(11)
    assert users.revoke_all(11, keep=current) == 3
    assert [s.key for s in users.list_sessions(11)] == [current.session_key]
    assert users.revoke_all(11) == 1
    assert users.list_sessions(11) == []


def test_hashed_keys_are_listed_and_revoked_by_their_hash(tracked: str, settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_HASH_KEYS = True
    store = logged_in(12)
    [listed] = users.list_sessions(12)
    assert listed.key == item_key(store.session_key, hashed=True) != store.session_key
    assert users.current_key(store) == listed.key
    assert users.revoke(12, listed.key)
    assert SessionStore(store.session_key).load() == {}


def test_revoking_clears_the_cached_engine_too(tracked: str, settings: Any) -> None:
    from pynamo_sessions.backends.cached_dynamodb import SessionStore as CachedStore

    settings.SESSION_ENGINE = "pynamo_sessions.backends.cached_dynamodb"
    store = logged_in(13, CachedStore)
    assert CachedStore(store.session_key).load()[SESSION_KEY] == "13"  # cached now
    users.revoke_all(13)
    assert CachedStore(store.session_key).load() == {}


def test_client_info_is_stored_when_asked(tracked: str, settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_TRACK_CLIENT = True
    settings.MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "pynamo_sessions.middleware.ClientInfoMiddleware",
    ]
    client = Client(HTTP_USER_AGENT="Firefox/140 " + "x" * 1000, REMOTE_ADDR="203.0.113.9")
    client.get("/increment/")
    store = SessionStore(client.cookies["sessionid"].value)
    store[SESSION_KEY] = "14"
    store.client_info = ("Firefox/140", "203.0.113.9")
    store.save()
    client.get("/increment/")  # the middleware's own values, truncated
    [listed] = users.list_sessions(14)
    assert listed.ip_address == "203.0.113.9"
    assert listed.user_agent is not None
    assert listed.user_agent.startswith("Firefox/140") and len(listed.user_agent) == 256


def test_without_tracking_the_api_says_what_to_set(settings: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match="DYNAMODB_SESSIONS_TRACK_USERS = True"):
        users.list_sessions(1)


@pytest.mark.django_db
def test_logoutuser_command_by_id_and_username(tracked: str) -> None:
    from django.contrib.auth.models import User

    user = User.objects.create_user("alice", password="pw-1-long-enough")
    logged_in(user.pk)
    logged_in(user.pk)
    out = StringIO()
    call_command("logoutuser", str(user.pk), stdout=out)
    assert out.getvalue().strip() == f"Logged user {user.pk} out of 2 sessions."
    logged_in(user.pk)
    call_command("logoutuser", username="alice", stdout=out)
    assert users.list_sessions(user.pk) == []
    with pytest.raises(CommandError, match="no user with username 'bob'"):
        call_command("logoutuser", username="bob")
    with pytest.raises(CommandError, match="either a user id or --username"):
        call_command("logoutuser")


@pytest.mark.django_db
def test_logoutuser_never_claims_a_logout_a_per_process_cache_keeps_alive(tracked: str, settings: Any) -> None:
    from django.contrib.auth.models import User

    from pynamo_sessions.backends.cached_dynamodb import SessionStore as CachedStore

    settings.SESSION_ENGINE = "pynamo_sessions.backends.cached_dynamodb"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    user = User.objects.create_user("carol", password="pw-1-long-enough")
    logged_in(user.pk, CachedStore)
    out = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("logoutuser", str(user.pk), stdout=out)
    assert "Deleted 1 session of user" in str(info.value) and "NOT logged out yet" in str(info.value)
    assert "E105" in str(info.value) and "Logged user" not in out.getvalue()
    assert users.list_sessions(user.pk) == []  # what it could do, it did


@pytest.mark.django_db
def test_logoutuser_for_no_user_and_no_session_is_an_error(tracked: str) -> None:
    with pytest.raises(CommandError, match="There is no user with id '99', and no session of one"):
        call_command("logoutuser", "99")
    with pytest.raises(CommandError, match="There is no user with id 'not-a-pk'"):
        call_command("logoutuser", "not-a-pk")


@pytest.mark.django_db
def test_logoutuser_still_ends_the_sessions_of_a_deleted_user(tracked: str) -> None:
    logged_in(77)  # the account is gone; its sessions are not
    out = StringIO()
    call_command("logoutuser", "77", stdout=out)
    assert out.getvalue().strip() == "Logged user 77 out of 1 session (there is no user with id '77' any more)."
    assert users.list_sessions(77) == []


@pytest.mark.django_db
def test_password_change_logs_out_everywhere_when_opted_in(tracked: str, settings: Any) -> None:
    from django.apps import apps
    from django.contrib.auth.models import User
    from django.db.models.signals import post_save

    user = User.objects.create_user("carol", password="pw-1-long-enough")
    logged_in(user.pk)
    settings.DYNAMODB_SESSIONS_LOGOUT_ON_PASSWORD_CHANGE = True
    apps.get_app_config("pynamo_sessions").ready()
    try:
        user.first_name = "Carol"
        user.save()  # not a password change
        assert len(users.list_sessions(user.pk)) == 1
        user.set_password("another-long-password")
        user.save()
        assert users.list_sessions(user.pk) == []
    finally:
        post_save.disconnect(sender=User, dispatch_uid="pynamo_sessions.logout_on_password_change")


def test_a_session_signed_in_before_tracking_was_on_lists_itself_after_its_next_request(
    settings: Any, own_table: str,
) -> None:
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    create_table()  # with the index, as a site that turns tracking on makes it
    settings.DYNAMODB_SESSIONS_TRACK_USERS = False
    before = SessionStore()
    before[SESSION_KEY] = "12"
    before.save()  # written while tracking was off: no user id in the item
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    assert users.list_sessions("12") == []
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = before.session_key
    client.get("/read/")  # a read-only request
    assert [s.key for s in users.list_sessions("12")] == [before.session_key]
    anonymous = Client()
    anonymous.get("/increment/")
    with count_calls() as calls:
        client.get("/read/")  # listed now: no more writes
        anonymous.get("/read/")  # and an anonymous session is never written for it
    assert "PutItem" not in calls
