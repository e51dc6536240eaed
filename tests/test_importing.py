"""importsessions: Django db/cached_db sessions copied into DynamoDB, users stay logged in."""

from __future__ import annotations

import secrets
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.sessions.backends.db import SessionStore as DbStore
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.utils import timezone

from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.operations import importing
from pynamo_sessions.store.keys import item_key
from tests.helpers import count_calls

pytestmark = pytest.mark.django_db


def make_db_sessions(live: int, expired: int = 0) -> list[str]:
    """Rows in a real SQLite django_session table, as Django's db engine writes them."""
    encoder = DbStore()
    now = timezone.now()
    rows = []
    for i in range(live + expired):
        key = secrets.token_hex(16)
        age = timedelta(days=1) if i < live else -timedelta(minutes=1)
        rows.append(Session(session_key=key, session_data=encoder.encode({"_auth_user_id": str(i), "n": i}),
                            expire_date=now + age))
    Session.objects.bulk_create(rows, batch_size=500)
    return [r.session_key for r in rows[:live]]


def test_thousands_of_sessions_are_copied_and_users_stay_logged_in(raw: Any, settings: Any) -> None:
    live = make_db_sessions(3000, expired=200)
    out = StringIO()
    call_command("importsessions", stdout=out)
    summary = out.getvalue()
    assert "Copied 3,000 sessions from db" in summary
    assert "skipped 200 expired" in summary
    for i in (0, 1234, 2999):
        key = live[i]
        assert SessionStore(key).load() == {"_auth_user_id": str(i), "n": i}
        db_expiry = Session.objects.get(session_key=key).expire_date
        stored = raw.get_item(TableName=settings.DYNAMODB_SESSIONS_TABLE, Key={"id": {"S": key}})["Item"]
        assert int(stored["ttl"]["N"]) == int(db_expiry.timestamp())
    # and through a request: the session cookie Django's db engine issued still works
    from django.test import Client

    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = live[42]
    assert client.get("/read/").json()["data"]["n"] == 42


def test_rerun_is_idempotent_and_never_overwrites_newer_sessions(settings: Any) -> None:
    live = make_db_sessions(50)
    call_command("importsessions", stdout=StringIO())
    used = SessionStore(live[0])
    used["n"] = "changed in DynamoDB after the switch"
    used.save()
    out = StringIO()
    call_command("importsessions", stdout=out)
    assert "Copied 0 sessions" in out.getvalue() and "50 copied by an earlier run" in out.getvalue()
    assert SessionStore(live[0]).load()["n"] == "changed in DynamoDB after the switch"


def test_a_second_run_never_re_creates_a_session_signed_out_in_between(settings: Any) -> None:
    """The README's procedure: import, switch, import again. Sessions ended through this store
    in between (a logout, a cycle_key at login, a revocation) stay ended; sessions the old
    servers created or changed meanwhile are copied."""
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    logged_out, cycled, revoked, kept, *_ = make_db_sessions(6)
    call_command("importsessions", stdout=StringIO())
    SessionStore(logged_out).flush()
    store = SessionStore(cycled)
    store.load()
    store.cycle_key()
    SessionStore().delete_items([revoked])
    new_meanwhile = make_db_sessions(1)[0]  # created by an old server after the first run
    Session.objects.filter(session_key=kept).update(session_data=DbStore().encode({"n": "changed on an old server"}),
                                                    expire_date=timezone.now() + timedelta(days=2))
    out = StringIO()
    call_command("importsessions", stdout=out)
    assert "Copied 2 sessions" in out.getvalue()
    for ended in (logged_out, cycled, revoked):
        assert SessionStore(ended).load() == {}, "an import signed an ended session back in"
    assert SessionStore(kept).load() == {"n": "changed on an old server"}
    assert SessionStore(new_meanwhile).load() != {}
    call_command("importsessions", stdout=StringIO())  # and however often it runs
    assert all(SessionStore(ended).load() == {} for ended in (logged_out, cycled, revoked))


def test_the_record_of_an_import_is_no_session_for_any_cookie(raw: Any, settings: Any) -> None:
    [key] = make_db_sessions(1)
    call_command("importsessions", stdout=StringIO())
    record = raw.get_item(TableName=settings.DYNAMODB_SESSIONS_TABLE,
                          Key={"id": {"S": importing.IMPORTED_PREFIX + key}}, ConsistentRead=True)["Item"]
    assert record["session_data"] == {"S": ""} and "_auth_user_id" not in str(record)
    assert int(record["ttl"]["N"]) >= int(Session.objects.get(session_key=key).expire_date.timestamp())
    assert SessionStore(importing.IMPORTED_PREFIX + key).load() == {}
    assert not SessionStore().exists(importing.IMPORTED_PREFIX + key)


def test_an_interrupted_import_names_the_last_safe_resume_point(proxy: Any) -> None:
    from pynamo_sessions.testing.faultproxy import SERVER_ERROR

    live = sorted(make_db_sessions(12))
    written = 0

    def fail_in_the_third_batch(sender: Any, operation_name: str, **kwargs: Any) -> None:
        nonlocal written
        if operation_name == "PutItem":
            written += 1
            if written == 2 * 2 * 4 + 1:  # two writes a session: the third batch of four fails
                proxy.set_fault(SERVER_ERROR)

    from pynamodb.signals import pre_dynamodb_send

    pre_dynamodb_send.connect(fail_in_the_third_batch)
    try:
        with pytest.raises(CommandError) as raised:
            call_command("importsessions", "--batch-size", "4", "--workers", "1", stdout=StringIO())
    finally:
        pre_dynamodb_send.disconnect(fail_in_the_third_batch)
        proxy.set_fault("pass")
    point = importing.resume_point(live[7])
    assert f"re-run with --resume-after {point}" in str(raised.value)
    assert "InternalServerError" in str(raised.value)
    out = StringIO()
    call_command("importsessions", "--resume-after", point, stdout=out)
    assert "Copied 4 sessions" in out.getvalue()
    assert all(SessionStore(key).load() != {} for key in live)


def test_dry_run_writes_nothing() -> None:
    live = make_db_sessions(20)
    out = StringIO()
    with count_calls() as calls:
        call_command("importsessions", "--dry-run", stdout=out)
    assert "Would copy 20 sessions" in out.getvalue()
    assert calls == {}
    assert SessionStore(live[0]).load() == {}


def test_resume_by_a_point_that_is_not_a_session_key() -> None:
    live = sorted(make_db_sessions(30))
    point = importing.resume_point(live[9])
    assert live[9] not in point and len(point) == importing.RESUME_POINT_LENGTH
    out = StringIO()
    call_command("importsessions", "--resume-after", point, "--batch-size", "7", stdout=out)
    printed = out.getvalue()
    assert "Copied 20 sessions" in printed
    assert f"Resume point: {importing.resume_point(live[-1])}" in printed
    assert not any(key in printed for key in live)  # no live session key reaches the log
    assert SessionStore(live[9]).load() == {}
    assert SessionStore(live[10]).load() != {}


def test_an_unknown_resume_point_is_a_clear_error() -> None:
    make_db_sessions(3)
    with pytest.raises(CommandError, match=r"has the resume point 'nowhere'.*without --resume-after"):
        call_command("importsessions", "--resume-after", "nowhere", stdout=StringIO())


def test_import_says_what_it_needs_without_django_contrib_sessions(settings: Any) -> None:
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "django.contrib.sessions"]
    with pytest.raises(CommandError, match=r"'django\.contrib\.sessions', which is not in INSTALLED_APPS"):
        call_command("importsessions", stdout=StringIO())


def test_keys_we_do_not_accept_are_counted_not_copied() -> None:
    Session.objects.create(session_key="UPPER-case-key-" + "x" * 10, session_data="x",
                           expire_date=timezone.now() + timedelta(days=1))
    out = StringIO()
    call_command("importsessions", stdout=out)
    assert "1 with keys pynamo_sessions does not accept" in out.getvalue()


def test_hashed_keys_and_user_tracking_apply_to_imported_sessions(settings: Any, own_table: str) -> None:
    from pynamo_sessions import create_table
    from pynamo_sessions.operations import users

    settings.DYNAMODB_SESSIONS_HASH_KEYS = True
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    create_table()
    live = make_db_sessions(5)
    call_command("importsessions", "--from", "cached_db", stdout=StringIO())
    [listed] = users.list_sessions("3")
    assert listed.key == item_key(live[3], hashed=True)
    assert SessionStore(live[3]).load()["n"] == 3
