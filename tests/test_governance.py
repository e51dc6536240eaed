"""A user's sessions, governed: the per-user cap at login, the new-device signal, the audit trail
of every revocation. Through real logins (Django's login() and alogin() behind the middleware)
on DynamoDB Local; the user index's lag, which DynamoDB Local never shows, comes from the fault
proxy."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from io import StringIO
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.dispatch import Signal
from django.test import Client

from pynamo_sessions import create_table, signals
from pynamo_sessions.operations import logins, users
from pynamo_sessions.testing.faultproxy import FaultProxy
from tests.helpers import FIREFOX, IPHONE

pytestmark = pytest.mark.django_db

PAGE = "/account/sessions/"


def heard(signal: Signal) -> Iterator[list[dict[str, Any]]]:
    """What ``signal`` is sent with, while the test runs."""
    sent: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        sent.append(kwargs)

    signal.connect(receiver)
    yield sent
    signal.disconnect(receiver)


@pytest.fixture
def started() -> Iterator[list[dict[str, Any]]]:
    yield from heard(signals.session_started)


@pytest.fixture
def revoked() -> Iterator[list[dict[str, Any]]]:
    yield from heard(signals.session_revoked)


def sign_in(user: User, user_agent: str = FIREFOX, address: str = "203.0.113.7", *, path: str = "/signin/") -> Client:
    browser = Client(REMOTE_ADDR=address, HTTP_USER_AGENT=user_agent)
    response = browser.post(path, {"username": user.username, "password": f"{user.username}-password-1"})
    assert response.status_code == 200, response
    return browser


def signed_in(browser: Client) -> bool:
    return browser.get("/whoami/").json()["user"] != "AnonymousUser"


# The cap --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("logins_made", "left", "path"), [
    (1, 1, "/signin/"), (5, 5, "/signin/"), (7, 5, "/signin/"), (7, 5, "/asignin/")])
def test_the_cap_signs_out_the_least_recently_used_at_each_login_past_it(
    tracked: str, settings: Any, alice: User, revoked: list[dict[str, Any]], logins_made: int, left: int,
    path: str,
) -> None:
    settings.DYNAMODB_SESSIONS_MAX_PER_USER = 5
    browsers = []
    for _ in range(logins_made):
        browsers.append(sign_in(alice, path=path))
        time.sleep(1.05)  # last use counts whole seconds: each browser a step older than the next
    assert len(users.list_sessions(alice.pk)) == left
    assert [signed_in(b) for b in browsers] == [False] * (logins_made - left) + [True] * left  # oldest first
    assert [r["reason"] for r in revoked] == [signals.CAP] * (logins_made - left)
    assert all(r["by"] is None and r["user_id"] == alice.pk and r["device"] == "Firefox on Linux" for r in revoked)


def test_a_recently_used_session_is_kept_and_an_idle_one_goes(tracked: str, settings: Any, alice: User) -> None:
    settings.DYNAMODB_SESSIONS_MAX_PER_USER = 2
    first, second = sign_in(alice), sign_in(alice, IPHONE)
    time.sleep(1.05)
    first.get("/increment/")  # the first browser is used again: now the second is the idlest
    time.sleep(1.05)
    third = sign_in(alice)
    assert [signed_in(first), signed_in(second), signed_in(third)] == [True, False, True]


def test_an_expired_session_not_yet_deleted_by_ttl_counts_as_gone(
    tracked: str, settings: Any, alice: User, raw: Any,
) -> None:
    settings.DYNAMODB_SESSIONS_MAX_PER_USER = 2
    old = sign_in(alice)
    (stale,) = users.list_sessions(alice.pk)
    raw.update_item(TableName=tracked, Key={"id": {"S": stale.key}}, UpdateExpression="SET #t = :past",
                    ExpressionAttributeNames={"#t": "ttl"}, ExpressionAttributeValues={":past": {"N": "1000"}})
    second, third = sign_in(alice), sign_in(alice)
    assert signed_in(second) and signed_in(third)  # the expired one did not take a place
    assert not signed_in(old)


def test_parallel_logins_at_the_cap_when_the_index_has_not_caught_up(
    proxy: FaultProxy, tracked: str, settings: Any, alice: User,
) -> None:
    settings.DYNAMODB_SESSIONS_MAX_PER_USER = 2
    old = [sign_in(alice) for _ in range(2)]
    first = sign_in(alice)  # signs out the oldest
    first_key = users.current_key(first.session)
    # The second login's Query does not show the first's session yet, as a global index may not:
    # the roster of recent logins still tells the second login about it.
    proxy.index_lag = {first_key}
    second = sign_in(alice)
    proxy.index_lag = set()
    assert [signed_in(b) for b in (*old, first, second)] == [False, False, True, True]
    assert len(users.list_sessions(alice.pk)) == 2


def test_without_the_roster_the_lag_would_leave_one_too_many(
    proxy: FaultProxy, tracked: str, settings: Any, alice: User, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What the roster is for: the same race with it made empty leaves three sessions.
    settings.DYNAMODB_SESSIONS_MAX_PER_USER = 2
    monkeypatch.setattr(logins.Roster, "join", lambda self, item_key: [])
    [sign_in(alice) for _ in range(2)]
    first = sign_in(alice)
    proxy.index_lag = {users.current_key(first.session)}
    sign_in(alice)
    proxy.index_lag = set()
    assert len(users.list_sessions(alice.pk)) == 3


def test_two_logins_at_once_at_a_cap_of_one_keep_exactly_one_of_them(
    proxy: FaultProxy, tracked: str, settings: Any, alice: User, SessionStore: type[Any],
) -> None:
    settings.DYNAMODB_SESSIONS_MAX_PER_USER = 1
    old = sign_in(alice)
    proxy.hold_queries(2)  # both logins store their session before either reads the index
    stores: list[Any] = []

    def log_in() -> None:
        # What django.contrib.auth.login() does to the session, then sends (the user's row,
        # which sqlite would lock between threads, is not touched).
        session = SessionStore()
        session.cycle_key()
        session["_auth_user_id"] = str(alice.pk)
        session.client_info = (FIREFOX, "203.0.113.7")
        logins.on_login(User, request=SimpleNamespace(session=session, path="/signin/"), user=alice)
        stores.append(session)

    threads = [threading.Thread(target=log_in) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stores) == 2
    alive = [SessionStore().exists(store.session_key) for store in stores]
    assert sorted(alive) == [False, True]  # never both removed, never both kept
    assert not signed_in(old)
    assert len(users.list_sessions(alice.pk)) == 1


def test_a_cap_on_a_table_without_the_user_index_says_which_index_is_missing(
    settings: Any, own_table: str, alice: User,
) -> None:
    from pynamo_sessions import SessionStoreMisconfigured

    create_table()  # made before users were tracked: no index
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    settings.DYNAMODB_SESSIONS_MAX_PER_USER = 2
    with pytest.raises(SessionStoreMisconfigured, match="DYNAMODB_SESSIONS_USER_INDEX"):
        sign_in(alice)


def test_the_cap_needs_the_user_index(settings: Any) -> None:
    from pynamo_sessions import checks

    settings.DYNAMODB_SESSIONS_MAX_PER_USER = 3
    (error,) = [m for m in checks.check_settings() if m.id == "pynamo_sessions.E004"]
    assert "DYNAMODB_SESSIONS_TRACK_USERS = True" in error.hint


# The new-device signal ------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/signin/", "/asignin/"])
def test_session_started_says_whether_the_device_was_seen(
    tracked: str, alice: User, started: list[dict[str, Any]], path: str,
) -> None:
    sign_in(alice, FIREFOX, "203.0.113.7", path=path)
    sign_in(alice, FIREFOX, "203.0.113.99", path=path)  # the same browser, OS and network
    sign_in(alice, IPHONE, "203.0.113.7", path=path)  # another device
    sign_in(alice, FIREFOX, "198.51.100.1", path=path)  # the same device elsewhere
    assert [(s["device"], s["known_device"]) for s in started] == [
        ("Firefox on Linux", False), ("Firefox on Linux", True), ("Safari on iPhone", False),
        ("Firefox on Linux", False)]
    assert all(s["user"] == alice and s["request"].path == path for s in started)


def test_session_started_is_sent_once_per_login_and_never_for_a_cycle_key(
    tracked: str, alice: User, started: list[dict[str, Any]],
) -> None:
    browser = sign_in(alice)
    browser.get("/login/")  # the tests' view that only cycles the key
    browser.get("/increment/")
    assert len(started) == 1


def test_session_started_is_sent_after_the_login_was_stored(tracked: str, alice: User) -> None:
    seen: list[int] = []

    def receiver(sender: Any, request: Any, **kwargs: Any) -> None:
        seen.append(len(users.list_sessions(alice.pk)))  # the new session is already there

    signals.session_started.connect(receiver)
    try:
        sign_in(alice)
    finally:
        signals.session_started.disconnect(receiver)
    assert seen == [1]


def test_a_failing_receiver_cannot_fail_the_login(
    tracked: str, alice: User, caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("the mail server is down")

    signals.session_started.connect(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="pynamo_sessions"):
            browser = sign_in(alice)
    finally:
        signals.session_started.disconnect(broken)
    assert signed_in(browser)
    assert any("session_started receiver" in r.getMessage() and "mail server" in r.getMessage()
               for r in caplog.records)


def test_without_tracked_users_the_device_cannot_be_known(
    settings: Any, own_table: str, alice: User, started: list[dict[str, Any]],
) -> None:
    create_table()
    sign_in(alice)
    assert [(s["device"], s["known_device"]) for s in started] == [("Firefox on Linux", None)]


# The audit trail ------------------------------------------------------------------------------

def test_every_revocation_path_sends_the_audit_signal_once_and_logs_it(
    tracked: str, settings: Any, alice: User, revoked: list[dict[str, Any]], caplog: pytest.LogCaptureFixture,
) -> None:
    staff = User.objects.create_superuser("staff", password="staff-password-1")
    caplog.set_level(logging.INFO, logger="pynamo_sessions.audit")

    def reasons() -> list[str]:
        found = [r["reason"] for r in revoked]
        revoked.clear()
        return found

    laptop, phone = sign_in(alice), sign_in(alice, IPHONE)
    (target,) = [s for s in users.list_sessions(alice.pk) if "iPhone" in (s.user_agent or "")]
    laptop.post(f"{PAGE}{target.ref}/revoke/")
    assert reasons() == [signals.BY_USER] and not signed_in(phone)
    sign_in(alice, IPHONE)
    laptop.post(f"{PAGE}revoke-others/")
    assert reasons() == [signals.EVERYWHERE]
    sign_in(alice, IPHONE)
    admin = Client()
    admin.force_login(staff)
    admin.post(f"{PAGE}staff/user/{alice.pk}/")
    assert reasons() == [signals.BY_STAFF, signals.BY_STAFF]
    sign_in(alice)
    call_command("logoutuser", str(alice.pk), stdout=StringIO())
    assert reasons() == [signals.COMMAND]
    settings.DYNAMODB_SESSIONS_MAX_PER_USER = 1
    sign_in(alice), sign_in(alice)
    assert reasons() == [signals.CAP]
    settings.DYNAMODB_SESSIONS_MAX_PER_USER = None
    users.revoke_all(alice.pk, reason=signals.PASSWORD_CHANGE)  # as the password-change receiver does
    assert reasons() == [signals.PASSWORD_CHANGE]
    lines = [r for r in caplog.records if r.name == "pynamo_sessions.audit"]
    assert len(lines) == 1 + 1 + 2 + 1 + 1 + 1
    staff_line = next(r for r in lines if r.reason == signals.BY_STAFF)  # type: ignore[attr-defined]
    assert staff_line.by == f"staff:staff({staff.pk})"  # type: ignore[attr-defined]
    assert "reason=staff" in staff_line.getMessage() and "device=" in staff_line.getMessage()
    for line in lines:
        for session in users.list_sessions(alice.pk):
            assert session.key not in line.getMessage()


def test_a_password_change_revocation_is_audited(tracked: str, settings: Any, alice: User,
                                                 revoked: list[dict[str, Any]]) -> None:
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_save

    post_save.connect(users.logout_on_password_change, sender=get_user_model(), dispatch_uid="test-password")
    try:
        sign_in(alice)
        alice.set_password("a-new-password-2")
        alice.save()
    finally:
        post_save.disconnect(dispatch_uid="test-password", sender=get_user_model())
    assert [r["reason"] for r in revoked] == [signals.PASSWORD_CHANGE]


def test_the_staff_view_shows_the_last_revocations_where_the_site_keeps_them(
    tracked: str, settings: Any, alice: User,
) -> None:
    kept: list[dict[str, Any]] = []

    def keep(sender: Any, **kwargs: Any) -> None:
        kept.append({"when": "2026-12-03 10:00", "by": str(kwargs["by"] or "the application"),
                     "reason": kwargs["reason"], "device": kwargs["device"]})

    settings.DYNAMODB_SESSIONS_REVOCATIONS = lambda user_id, limit: list(reversed(kept))[:limit]
    signals.session_revoked.connect(keep)
    try:
        staff = User.objects.create_superuser("staff", password="staff-password-1")
        sign_in(alice, IPHONE)
        users.revoke_all(alice.pk, reason=signals.COMMAND)
        admin = Client()
        admin.force_login(staff)
        page = admin.get(f"{PAGE}staff/user/{alice.pk}/").content.decode()
    finally:
        signals.session_revoked.disconnect(keep)
    assert "Last revocations" in page and "Safari on iPhone" in page and "command" in page


def test_without_a_cap_or_a_receiver_a_login_costs_what_it_always_did(tracked: str, alice: User) -> None:
    from tests.helpers import count_calls

    heard: list[str] = []

    def receiver(sender: Any, device: str, **kwargs: Any) -> None:
        heard.append(device)

    signals.session_started.connect(receiver)
    try:
        with count_calls() as listened:
            sign_in(alice)
    finally:
        signals.session_started.disconnect(receiver)
    with count_calls() as silent:
        sign_in(alice)
    # Stored once more for the receiver, and one Query for its known_device; nothing without one.
    assert listened["PutItem"] == silent["PutItem"] + 1 and listened["Query"] == 1
    assert "Query" not in silent and heard == ["Firefox on Linux"]
