""""Where you're signed in": the user's page and the staff view, against DynamoDB Local."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from pynamo_sessions.operations import users
from tests.helpers import FIREFOX, IPHONE

pytestmark = pytest.mark.django_db

PAGE = "/account/sessions/"


def signed_in(user: User, user_agent: str, **client_options: Any) -> Client:
    """A browser in which ``user`` signed in; a first request stores its user agent and address."""
    client = Client(**client_options)
    assert client.login(username=user.username, password=f"{user.username}-password-1")
    assert client.get("/increment/", HTTP_USER_AGENT=user_agent).status_code == 200
    return client


def whoami(client: Client) -> str:
    return str(client.get("/whoami/").json()["user"])


def refs(user: User) -> dict[str, str]:
    """Each live session's ref, by the device the page shows."""
    from pynamo_sessions.operations.devices import describe

    return {describe(s.user_agent): s.ref for s in users.list_sessions(user.pk)}


def test_anonymous_visitors_are_sent_to_the_login_page(tracked: str) -> None:
    response = Client().get(PAGE)
    assert response.status_code == 302 and response["Location"] == f"/login-page/?next={PAGE}"


def test_the_page_lists_each_device_most_recent_first_and_marks_this_one(tracked: str, alice: User) -> None:
    laptop = signed_in(alice, FIREFOX)
    time.sleep(1.05)  # "last seen" counts whole seconds
    signed_in(alice, IPHONE)
    page = laptop.get(PAGE, HTTP_USER_AGENT=FIREFOX).content.decode()
    assert "2 live sessions" in page
    assert page.index("Safari on iPhone") < page.index("Firefox on Linux")  # the iPhone was used last
    assert 'Firefox on Linux</span> <strong class="pynamo-sessions-this">this session</strong>' in page
    assert "127.0.0.1" in page and "just now" in page
    assert 'aria-label="Sign out Safari on iPhone">' in page
    for session in users.list_sessions(alice.pk):
        assert session.key not in page  # only one-way refs reach the HTML
        assert f"/account/sessions/{session.ref}/revoke/" in page


def test_signing_out_another_device_logs_it_out_on_its_next_request(
    tracked: str, alice: User, caplog: pytest.LogCaptureFixture,
) -> None:
    laptop, phone = signed_in(alice, FIREFOX), signed_in(alice, IPHONE)
    assert whoami(phone) == "alice"
    with caplog.at_level(logging.INFO, logger="pynamo_sessions"):
        response = laptop.post(f"{PAGE}{refs(alice)['Safari on iPhone']}/revoke/")
    assert response.status_code == 200
    notice = '<p class="pynamo-sessions-notice" role="status">Signed out Safari on iPhone.</p>'
    assert notice in response.content.decode()
    assert whoami(phone) == "AnonymousUser"
    assert whoami(laptop) == "alice"
    [line] = [r.getMessage() for r in caplog.records if "signed out session" in r.getMessage()]
    assert line.startswith(f"User alice (id {alice.pk}) signed out session ")
    assert all(s.key not in line for s in users.list_sessions(alice.pk))


def test_signing_out_this_session_logs_out_as_djangos_logout(tracked: str, alice: User, settings: Any) -> None:
    laptop = signed_in(alice, FIREFOX)
    settings.LOGOUT_REDIRECT_URL = "/goodbye/"
    response = laptop.post(f"{PAGE}{refs(alice)['Firefox on Linux']}/revoke/")
    assert response.status_code == 302 and response["Location"] == "/goodbye/"
    assert response.cookies["sessionid"].value == ""  # the cookie is deleted
    assert users.list_sessions(alice.pk) == []
    assert whoami(laptop) == "AnonymousUser"


def test_sign_out_all_other_sessions(tracked: str, alice: User) -> None:
    laptop, phone, other = signed_in(alice, FIREFOX), signed_in(alice, IPHONE), signed_in(alice, IPHONE)
    response = laptop.post(f"{PAGE}revoke-others/")
    assert "Signed out 2 other sessions." in response.content.decode()
    assert whoami(phone) == whoami(other) == "AnonymousUser"
    assert whoami(laptop) == "alice"
    assert [s.ref for s in users.list_sessions(alice.pk)] == [refs(alice)["Firefox on Linux"]]


def test_the_page_says_when_a_per_process_cache_keeps_a_revoked_session_alive(
    tracked: str, alice: User, settings: Any,
) -> None:
    settings.SESSION_ENGINE = "pynamo_sessions.backends.cached_dynamodb"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    laptop = signed_in(alice, FIREFOX)
    signed_in(alice, IPHONE)
    page = laptop.post(f"{PAGE}revoke-others/").content.decode()
    assert "Signed out 1 other session." in page and "not shared between them" in page
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    signed_in(alice, IPHONE)
    page = laptop.post(f"{PAGE}revoke-others/").content.decode()
    assert "Signed out 1 other session." in page and "not shared" not in page


def many_sessions(user: User, count: int) -> None:
    """``count`` sessions of ``user``, each with a user agent of its own, written in batches."""
    from pynamo_sessions.store import models

    model = models.bound_model()
    now = time.time()
    expires = datetime.fromtimestamp(now + 3600, UTC)
    with model.batch_write() as batch:
        for n in range(count):
            batch.save(model(
                f"bulk{n:04d}" + "x" * 24, data="e30:1tQ6qK:placeholder", expires=expires,
                user_id=str(user.pk), updated=int(now) - n, user_agent=f"{FIREFOX} Bulk/{n}", ip_address="10.0.0.1",
            ))


def test_a_user_with_hundreds_of_sessions_gets_a_bounded_page(
    tracked: str, alice: User, settings: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pynamo_sessions.operations import devices
    from pynamo_sessions.web import views
    from tests.helpers import count_calls

    laptop = signed_in(alice, FIREFOX)
    many_sessions(alice, 130)
    devices.describe.cache_clear()
    with queries() as sent:
        response = laptop.get(PAGE)
    page = response.content.decode()
    # The index answers in last-use order: one Query of 51 items, whatever the user has.
    assert [query["Limit"] for query in sent] == [51] and all(q["ScanIndexForward"] is False for q in sent)
    assert "More than 50 live sessions (the 50 used most recently are shown)" in page
    assert len(response.context["sessions"]) == views.PAGE_SIZE == 50
    assert devices.describe.cache_info().currsize <= views.PAGE_SIZE  # agents parsed for shown rows only
    monkeypatch.setattr(views, "REVOKE_PER_REQUEST", 100)
    with count_calls() as calls:
        page = laptop.post(f"{PAGE}revoke-others/").content.decode()
    assert "Signed out 100 other sessions. There may be more" in page and "31 live sessions" in page
    # 100 deletes, 25 a call, none one by one; then 100 signed-out notices, 25 a call.
    assert calls["BatchWriteItem"] == 4 + 4 and "DeleteItem" not in calls
    page = laptop.post(f"{PAGE}revoke-others/").content.decode()
    assert "Signed out 30 other sessions." in page and "1 live session" in page
    assert whoami(laptop) == "alice"  # the current one is kept


@contextmanager
def queries() -> Iterator[list[dict[str, Any]]]:
    """The parameters of each Query the request path's client sends inside the block."""
    from pynamo_sessions.store import models

    sent: list[dict[str, Any]] = []
    events = models.bound_model()._get_connection().connection.client.meta.events

    def record(params: dict[str, Any], **kwargs: Any) -> None:
        sent.append(params)

    events.register("provide-client-params.dynamodb.Query", record, unique_id="tests-queries")
    try:
        yield sent
    finally:
        events.unregister("provide-client-params.dynamodb.Query", unique_id="tests-queries")


def test_an_index_made_by_an_earlier_release_still_lists_in_last_use_order(
    settings: Any, own_table: str, alice: User, raw: Any,
) -> None:
    from pynamo_sessions import checks
    from tests.helpers import create_table_of_an_earlier_release

    settings.DYNAMODB_SESSIONS_TRACK_USERS = settings.DYNAMODB_SESSIONS_TRACK_CLIENT = True
    create_table_of_an_earlier_release(raw, own_table)
    assert "pynamo_sessions.W104" in [m.id for m in checks.check_table()]
    laptop = signed_in(alice, FIREFOX)
    many_sessions(alice, 60)
    time.sleep(1.05)
    laptop.get("/increment/", HTTP_USER_AGENT=FIREFOX)  # the most recently used
    with queries() as sent:
        response = laptop.get(PAGE)
    assert [query["Limit"] for query in sent] == [51, 1000 - 51]  # the first page shows it has no order
    assert "61 live sessions (the 50 used most recently are shown)" in response.content.decode()
    assert response.context["sessions"][0].is_current


def test_an_index_made_by_an_earlier_release_is_sorted_across_its_pages(
    settings: Any, own_table: str, raw: Any,
) -> None:
    """Such an index answers in no order (it has no sort key), so each page is sorted, and so must
    be all of them together: the most recently used session may come on the last page."""
    from tests.helpers import create_table_of_an_earlier_release

    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    create_table_of_an_earlier_release(raw, own_table)
    keys = [f"sorted{n:04d}" + "x" * 22 for n in range(5)]
    for key in keys:
        raw.put_item(TableName=own_table, Item={
            "id": {"S": key}, "session_data": {"S": "e30:1tQ6qK:placeholder"},
            "ttl": {"N": str(int(time.time()) + 3600)}, "user_id": {"S": "7"}, "updated": {"N": "1"}})
    first_page, _ = users._query_page("7", 3, None)  # what the page reads first, asking for 2
    later = [key for key in keys if key not in {item["id"]["S"] for item in first_page}]
    assert later  # 2 of the 5 come on the second page
    newest = later[0]
    for minutes, key in enumerate(sorted(keys, key=lambda key: key == newest)):
        raw.update_item(TableName=own_table, Key={"id": {"S": key}}, UpdateExpression="SET updated = :t",
                        ExpressionAttributeValues={":t": {"N": str(int(time.time()) - 600 + 60 * minutes)}})
    shown, total = users.recent_sessions("7", 2)
    assert shown[0].key == newest and total == 5
    assert shown[0].last_seen is not None and shown[1].last_seen is not None
    assert shown[0].last_seen > shown[1].last_seen


def test_another_users_session_answers_404_and_changes_nothing(tracked: str, alice: User) -> None:
    bob = User.objects.create_user("bob", password="bob-password-1")
    bobs_phone = signed_in(bob, IPHONE)
    laptop = signed_in(alice, FIREFOX)
    for ref in (refs(bob)["Safari on iPhone"], "0" * 16, users.list_sessions(bob.pk)[0].key):
        response = laptop.post(f"{PAGE}{ref}/revoke/")
        assert response.status_code == 404
        assert "Safari" not in response.content.decode()
    assert whoami(bobs_phone) == "bob"


def test_revoking_is_post_only_and_csrf_protected(tracked: str, alice: User) -> None:
    phone = signed_in(alice, IPHONE)
    laptop = signed_in(alice, FIREFOX, enforce_csrf_checks=True)
    ref = refs(alice)["Safari on iPhone"]
    assert laptop.get(f"{PAGE}{ref}/revoke/").status_code == 405
    assert laptop.post(f"{PAGE}{ref}/revoke/").status_code == 403  # no CSRF token
    assert laptop.post(f"{PAGE}revoke-others/").status_code == 403
    assert whoami(phone) == "alice"
    page = laptop.get(PAGE)
    token = page.context["csrf_token"]
    assert laptop.post(f"{PAGE}{ref}/revoke/", {"csrfmiddlewaretoken": str(token)}).status_code == 200
    assert whoami(phone) == "AnonymousUser"


def test_without_client_tracking_the_page_shows_what_it_has(tracked: str, alice: User, settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_TRACK_CLIENT = False
    laptop = signed_in(alice, FIREFOX)
    page = laptop.get(PAGE).content.decode()
    assert 'Unknown device</span> <strong class="pynamo-sessions-this">this session</strong>' in page
    assert "Firefox" not in page and "127.0.0.1" not in page


def test_the_creation_time_is_shown_with_an_absolute_age(tracked: str, alice: User, settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_ABSOLUTE_AGE = 3600
    laptop = signed_in(alice, FIREFOX)
    [session] = laptop.get(PAGE).context["sessions"]
    assert session.created is not None and session.is_current


# The staff view ------------------------------------------------------------------------------

@pytest.fixture
def staff() -> User:
    member = User.objects.create_user("admin", password="admin-password-1", is_staff=True)
    member.user_permissions.add(Permission.objects.get(codename="change_user"))
    return member


def test_staff_see_a_users_sessions_and_sign_them_out_everywhere(
    tracked: str, alice: User, staff: User, caplog: pytest.LogCaptureFixture,
) -> None:
    laptop, phone = signed_in(alice, FIREFOX), signed_in(alice, IPHONE)
    desk = signed_in(staff, FIREFOX)
    url = f"/account/sessions/staff/user/{alice.pk}/"
    page = desk.get(url).content.decode()
    assert "Firefox on Linux" in page and "Safari on iPhone" in page and "2 live sessions" in page
    assert f'href="/admin/auth/user/{alice.pk}/change/"' in page  # the admin's breadcrumbs
    with caplog.at_level(logging.INFO, logger="pynamo_sessions"):
        response = desk.post(url)
    assert "Signed alice out of 2 sessions." in response.content.decode()
    assert whoami(laptop) == whoami(phone) == "AnonymousUser"
    assert whoami(desk) == "admin"
    assert any(r.getMessage() == f"Staff member admin (id {staff.pk}) signed out 2 sessions of user {alice.pk}."
               for r in caplog.records)


def test_the_admin_user_page_links_to_the_staff_view(tracked: str, alice: User, staff: User) -> None:
    staff.is_superuser = True
    staff.save()
    desk = signed_in(staff, FIREFOX)
    page = desk.get(f"/admin/auth/user/{alice.pk}/change/").content.decode()
    assert f'<a href="/account/sessions/staff/user/{alice.pk}/">Sessions</a>' in page


def test_only_staff_with_the_user_change_permission(tracked: str, alice: User, staff: User) -> None:
    phone = signed_in(alice, IPHONE)
    url = f"/account/sessions/staff/user/{alice.pk}/"
    assert signed_in(alice, FIREFOX).post(url).status_code == 302  # not staff: the admin's login page
    staff.user_permissions.clear()
    assert signed_in(staff, FIREFOX).post(url).status_code == 403
    assert whoami(phone) == "alice"


def test_staff_view_of_no_such_user_is_404(tracked: str, staff: User) -> None:
    desk = signed_in(staff, FIREFOX)
    assert desk.get("/account/sessions/staff/user/999/").status_code == 404
    assert desk.get("/account/sessions/staff/user/not-a-pk/").status_code == 404


@pytest.mark.parametrize("use_tz", [True, False])
@pytest.mark.parametrize(("seconds", "shown"), [(5, "just now"), (300, "5\xa0minutes ago"), (None, "—")])
def test_relative_times(seconds: int | None, shown: str, use_tz: bool, settings: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from pynamo_sessions.templatetags.pynamo_sessions import ago

    settings.USE_TZ = use_tz
    # The page's times are aware (UTC, from epoch seconds) in both modes.
    assert ago(None if seconds is None else datetime.now(UTC) - timedelta(seconds=seconds)) == shown


@pytest.mark.parametrize("use_tz", [True, False])
def test_both_pages_work_with_and_without_time_zones(
    tracked: str, alice: User, staff: User, settings: Any, use_tz: bool,
) -> None:
    settings.USE_TZ = use_tz
    settings.DYNAMODB_SESSIONS_ABSOLUTE_AGE = 3600  # the "signed in" column too
    laptop = signed_in(alice, FIREFOX)
    page = laptop.get(PAGE)
    assert page.status_code == 200 and "just now" in page.content.decode()
    desk = signed_in(staff, FIREFOX)
    staff_page = desk.get(f"/account/sessions/staff/user/{alice.pk}/")
    assert staff_page.status_code == 200 and "just now" in staff_page.content.decode()


def test_the_page_works_on_a_project_without_a_base_template(tracked: str, alice: User, settings: Any) -> None:
    # django-admin startproject makes no base.html: the page is a complete page of its own.
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": []}]
    page = signed_in(alice, FIREFOX).get(PAGE)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.lstrip().startswith("<!doctype html>") and "Firefox on Linux" in html and "</html>" in html


def test_the_page_takes_the_sites_layout_with_one_setting(tracked: str, alice: User, settings: Any) -> None:
    from pathlib import Path

    # A fresh project's TEMPLATES (no DIRS of its own) but for the folder holding its layout,
    # found by any loader: the order of INSTALLED_APPS does not matter.
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [Path(__file__).parent / "templates"]}]
    settings.DYNAMODB_SESSIONS_LAYOUT_TEMPLATE = "base.html"
    html = signed_in(alice, FIREFOX).get(PAGE).content.decode()
    assert html.startswith('<!doctype html>\n<html lang="en"><head><title>Where you') and "<main>" in html
    assert "Firefox on Linux" in html and ".pynamo-sessions {" in html  # the page brings its styles along


def test_two_sessions_of_one_browser_are_told_apart(tracked: str, alice: User) -> None:
    first = signed_in(alice, FIREFOX)
    signed_in(alice, FIREFOX)  # the same browser again: another profile, a private window
    html = first.get(PAGE).content.decode()
    short = [s.ref[:6] for s in users.list_sessions(alice.pk)]
    assert len(set(short)) == 2 and all(f"Session {ref}" in html for ref in short)


def test_a_layout_setting_that_is_no_template_name_is_refused(settings: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from pynamo_sessions import conf

    settings.DYNAMODB_SESSIONS_LAYOUT_TEMPLATE = "base"
    with pytest.raises(ImproperlyConfigured, match="DYNAMODB_SESSIONS_LAYOUT_TEMPLATE must be a template name"):
        conf.current()


def test_the_pages_keep_addresses_and_devices_out_of_shared_caches(tracked: str, alice: User) -> None:
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client = signed_in(alice, FIREFOX)
    for page in (client.get(PAGE), client.post(f"{PAGE}revoke-others/"),
                 client.get(f"{PAGE}staff/user/{alice.pk}/")):
        assert page.status_code == 200
        assert "private" in page["Cache-Control"] and "no-store" in page["Cache-Control"]


@pytest.mark.parametrize("engine", ["pynamo_sessions.backends.dynamodb", "pynamo_sessions.backends.cached_dynamodb"])
def test_a_browser_signed_out_from_elsewhere_is_told_so_on_its_next_page(
    tracked: str, alice: User, settings: Any, engine: str,
) -> None:
    settings.SESSION_ENGINE = engine
    laptop, phone = signed_in(alice, FIREFOX), signed_in(alice, IPHONE)
    assert laptop.post(f"{PAGE}revoke-others/").status_code == 200
    told = phone.get("/messages/").json()
    assert told["user"] == "AnonymousUser"
    assert told["messages"] == ["This browser was signed out from elsewhere: from another of your devices, or by "
                                "the site."]
    assert phone.get("/messages/").json()["messages"] == []  # once
    # A browser that signed itself out, or whose session expired, is told nothing.
    laptop.post("/logout/")
    assert laptop.get("/messages/").json()["messages"] == []


def test_a_cookie_of_an_unknown_session_costs_one_read_without_user_tracking(settings: Any) -> None:
    from tests.helpers import count_calls

    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = "z" * 32
    with count_calls() as calls:
        client.get("/messages/")
    assert calls == {"GetItem": 1}
