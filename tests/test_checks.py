"""System checks: offline ones for settings, deploy ones against the table."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from pynamo_sessions import checks, create_table
from pynamo_sessions.web import cookie_checks
from tests.helpers import closed_port_url


@pytest.fixture(autouse=True)
def no_asgi_server_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    # Which servers other tests of this process imported (uvicorn, mangum) must not decide what
    # the checks say; a test says the site serves ASGI with ASGI_APPLICATION.
    monkeypatch.setattr(checks, "ASGI_SERVERS", ())


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def test_valid_settings_pass_offline_checks() -> None:
    assert checks.check_settings() == []


@pytest.mark.parametrize(
    ("name", "value", "text"),
    [
        ("DYNAMODB_SESSIONS_TABLE", "", "DYNAMODB_SESSIONS_TABLE must be 3-255"),
        ("DYNAMODB_SESSIONS_READ_TIMEOUT", 0, "DYNAMODB_SESSIONS_READ_TIMEOUT must be a positive number"),
        ("DYNAMODB_SESSIONS_BILLING_MODE", "ONDEMAND", "got 'ONDEMAND'"),
    ],
)
def test_bad_setting_is_e001_with_a_hint(settings: Any, name: str, value: Any, text: str) -> None:
    setattr(settings, name, value)
    [message] = checks.check_settings()
    assert message.id == "pynamo_sessions.E001"
    assert text in message.msg
    assert message.hint.startswith(f"Fix {name}:") and "docs/settings.md" in message.hint


def test_colliding_attribute_names_are_e002(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_ATTR_SESSION_DATA = "id"
    assert ids(checks.check_settings()) == ["pynamo_sessions.E002"]


def test_engine_not_ours_while_installed_is_w001(settings: Any) -> None:
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    [message] = checks.check_settings()
    assert message.id == "pynamo_sessions.W001"
    assert "pynamo_sessions.backends.dynamodb" in message.hint


def test_no_region_nor_endpoint_is_w002(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    settings.DYNAMODB_REGION = None
    settings.DYNAMODB_LOCAL_ENDPOINT = None
    assert ids(checks.check_settings()) == ["pynamo_sessions.W002"]


def test_snippet_app_env_switch_is_w003(settings: Any) -> None:
    settings.APP_ENV = "production"
    assert ids(checks.check_settings()) == ["pynamo_sessions.W003"]
    settings.APP_ENV = "local"
    assert checks.check_settings() == []


@pytest.mark.parametrize("apps", [
    ["pynamo_sessions"],  # the recommended setup: no django.contrib.sessions, no django_session table
    ["django.contrib.sessions", "pynamo_sessions"],  # the original snippet's users, in any order
])
def test_no_check_about_django_contrib_sessions(settings: Any, apps: list[str]) -> None:
    settings.INSTALLED_APPS = [*apps, "django.contrib.auth", "django.contrib.contenttypes"]
    assert checks.check_settings() == []


def test_every_hint_points_at_the_page_and_section_that_answers_it() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    source = Path(checks.__file__).read_text()
    before, rest = source.split("CHECKS = {", 1)
    raised = set(re.findall(r'"([EWI]\d{3})"', before + rest.split("\n}\n", 1)[1]))
    raised |= {message.id.split(".")[1] for message in (cookie_checks.W110, cookie_checks.W111, cookie_checks.W112,
                                                       cookie_checks.W113, cookie_checks.W114, cookie_checks.W115)}
    assert raised == set(checks.CHECKS)  # every check raised has its entry in the reference
    for id, (_, page, section) in checks.CHECKS.items():
        text = (root / page).read_text()
        headings = {line.lstrip("#").strip().replace("`", "") for line in text.splitlines() if line.startswith("#")}
        assert section in headings, f"{id} points at {section!r}, which is not a section of {page}"
    assert "docs/provisioning.md, section 'Provisioning'" in checks._docs("E101")
    assert "docs/iam.md, section 'IAM policy'" in checks._docs("W102")


def test_checks_run_with_manage_py_check(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_TABLE = ""
    with pytest.raises(SystemCheckError, match=r"pynamo_sessions\.E001"):
        call_command("check")


def table_checks() -> list[Any]:
    """The deploy checks of the table (W103, the local endpoint, is about the suite's own setup)."""
    return [m for m in checks.check_table() if m.id != "pynamo_sessions.W103"]


def test_a_local_endpoint_at_deploy_is_w103() -> None:
    [message] = [m for m in checks.check_table() if m.id == "pynamo_sessions.W103"]
    assert "DYNAMODB_LOCAL_ENDPOINT = None" in message.hint


@pytest.mark.parametrize(("url", "local"), [
    ("http://127.0.0.1:8000", True), ("http://localhost:8000", True), ("http://[::1]:8000", True),
    ("https://dynamodb.eu-west-1.amazonaws.com", False), ("http://dynamodb-local:8000", False),
])
def test_what_counts_as_this_machine(url: str, local: bool) -> None:
    from pynamo_sessions import conf

    assert conf.is_on_this_machine(url) is local


def test_deploy_check_passes_on_a_good_table() -> None:
    assert table_checks() == []


def test_deploy_check_missing_table_is_e101(own_table: str) -> None:
    [message] = table_checks()
    assert message.id == "pynamo_sessions.E101" and "createsessiontable" in message.hint


def test_deploy_check_wrong_keys_is_e102(own_table: str, raw: Any) -> None:
    raw.create_table(
        TableName=own_table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "N"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    assert ids(table_checks()) == ["pynamo_sessions.E102"]


def test_deploy_check_ttl_disabled_is_w101(own_table: str, raw: Any) -> None:
    raw.create_table(
        TableName=own_table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    assert ids(table_checks()) == ["pynamo_sessions.W101"]


def test_deploy_check_ttl_elsewhere_is_e103(own_table: str, settings: Any) -> None:
    create_table()
    settings.DYNAMODB_SESSIONS_ATTR_TTL = "expires"
    assert ids(table_checks()) == ["pynamo_sessions.E103"]


def test_deploy_check_unreachable_is_a_warning_not_a_traceback(settings: Any) -> None:
    settings.DYNAMODB_LOCAL_ENDPOINT = closed_port_url()
    settings.DYNAMODB_SESSIONS_MAX_RETRY_ATTEMPTS = 0
    [message] = table_checks()
    assert message.id == "pynamo_sessions.W102"
    assert "could not be reached" in message.msg


def test_deploy_checks_only_run_with_deploy(settings: Any) -> None:
    settings.DYNAMODB_SESSIONS_TABLE = "no-such-table-here"
    call_command("check")  # offline: no error, no network
    with pytest.raises(SystemCheckError, match=r"pynamo_sessions\.E101"):
        call_command("check", deploy=True)


@pytest.mark.parametrize(
    ("extra", "asgi", "expected"), [(False, True, True), (False, False, False), (True, True, False)],
)
def test_asgi_without_the_async_extra_is_i001(
    settings: Any, monkeypatch: pytest.MonkeyPatch, extra: bool, asgi: bool, expected: bool,
) -> None:
    from pynamo_sessions.store import aio

    monkeypatch.setattr(aio, "available", lambda: extra)
    if asgi:
        settings.ASGI_APPLICATION = "project.asgi.application"
    found = [m for m in checks.check_settings() if m.id == "pynamo_sessions.I001"]
    assert bool(found) is expected
    if found:
        assert found[0].level == 20 and "pynamo-sessions[async]" in found[0].hint  # Info, not a warning


@pytest.mark.parametrize(
    ("engine", "backend", "flagged"),
    [
        ("pynamo_sessions.backends.cached_dynamodb", "django.core.cache.backends.locmem.LocMemCache", True),
        ("pynamo_sessions.backends.cached_dynamodb", "django.core.cache.backends.filebased.FileBasedCache", False),
        ("pynamo_sessions.backends.cached_dynamodb", "django.core.cache.backends.dummy.DummyCache", False),
        ("pynamo_sessions.backends.dynamodb", "django.core.cache.backends.locmem.LocMemCache", False),
    ],
)
def test_a_per_process_cache_for_the_cached_engine_is_e105_at_deploy(
    settings: Any, tmp_path: Any, engine: str, backend: str, flagged: bool,
) -> None:
    settings.SESSION_ENGINE = engine
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": str(tmp_path)}}
    found = [m.id for m in checks.check_cache()]
    assert found == (["pynamo_sessions.E105"] if flagged else [])
    if flagged:
        [message] = checks.check_cache()
        assert "LocMemCache" in message.msg and "logout or revocation" in message.msg
        assert "shares" in (message.hint or "")


# Django's session-cookie deploy warnings, with our app and middleware -------------------------

VANILLA_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions"]
VANILLA_MIDDLEWARE = ["django.contrib.sessions.middleware.SessionMiddleware"]


def _django_session_warnings() -> set[str]:
    from django.core.checks.security import sessions

    return {m.id for m in sessions.check_session_cookie_secure(None) + sessions.check_session_cookie_httponly(None)}


@pytest.mark.parametrize("secure", [True, False])
@pytest.mark.parametrize("httponly", [True, False])
@pytest.mark.parametrize("where", ["app and middleware", "app only", "middleware only"])
def test_check_deploy_warns_of_the_session_cookie_as_django_would(
    settings: Any, secure: bool, httponly: bool, where: str,
) -> None:
    from pynamo_sessions.web import cookie_checks

    settings.SESSION_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY = secure, httponly
    with override_settings(INSTALLED_APPS=VANILLA_APPS if "app" in where else VANILLA_APPS[:2],
                           MIDDLEWARE=VANILLA_MIDDLEWARE if "middleware" in where else []):
        vanilla = _django_session_warnings()
    ours_apps = [*VANILLA_APPS[:2], "pynamo_sessions"] if "app" in where else VANILLA_APPS[:2]
    ours_middleware = ["pynamo_sessions.middleware.SessionMiddleware"] if "middleware" in where else []
    with override_settings(INSTALLED_APPS=ours_apps, MIDDLEWARE=ours_middleware):
        assert _django_session_warnings() == set()  # what Django alone says with our Install block
        ours = cookie_checks.check_session_cookie()
    assert {m.id.replace("pynamo_sessions.W1", "security.W0") for m in ours} == vanilla
    django_text = {m.msg.replace("'django.contrib.sessions.middleware.SessionMiddleware'", "'M'")
                   .replace("'django.contrib.sessions'", "'A'") for m in _vanilla_messages(where, secure, httponly)}
    assert {m.msg.replace("'pynamo_sessions.middleware.SessionMiddleware'", "'M'").replace("'pynamo_sessions'", "'A'")
            for m in ours} == django_text


def _vanilla_messages(where: str, secure: bool, httponly: bool) -> list[Any]:
    from django.core.checks.security import sessions

    with override_settings(INSTALLED_APPS=VANILLA_APPS if "app" in where else VANILLA_APPS[:2],
                           MIDDLEWARE=VANILLA_MIDDLEWARE if "middleware" in where else [],
                           SESSION_COOKIE_SECURE=secure, SESSION_COOKIE_HTTPONLY=httponly):
        return sessions.check_session_cookie_secure(None) + sessions.check_session_cookie_httponly(None)


def test_no_session_cookie_warning_is_given_twice_beside_djangos_own(settings: Any) -> None:
    from pynamo_sessions.web import cookie_checks

    settings.SESSION_COOKIE_SECURE = False
    assert "django.contrib.sessions" in settings.INSTALLED_APPS  # as during an import
    assert cookie_checks.check_session_cookie() == []
    assert "security.W010" in _django_session_warnings()


def test_check_deploy_runs_the_session_cookie_warnings(settings: Any) -> None:
    from django.core import checks as django_checks

    settings.SESSION_COOKIE_SECURE = False
    settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "django.contrib.sessions"]
    ids = {m.id for m in django_checks.run_checks(tags=["security"], include_deployment_checks=True)}
    assert "pynamo_sessions.W112" in ids and "security.W012" not in ids


def test_check_warns_when_the_sessions_page_would_send_visitors_to_a_missing_login_page(settings: Any) -> None:
    settings.LOGIN_URL = "/accounts/login/"  # Django's default; a fresh project has no such page
    [warning] = checks.check_login_url()
    assert warning.id == "pynamo_sessions.W004" and "'/accounts/login/'" in warning.msg
    assert "django.contrib.auth.urls" in warning.hint
    settings.LOGIN_URL = "/login-page/"  # one of the test site's URLs
    assert checks.check_login_url() == []
    settings.LOGIN_URL = "https://sso.example.com/login"
    assert checks.check_login_url() == []


def test_no_login_warning_without_the_sessions_page(settings: Any) -> None:
    settings.ROOT_URLCONF = "tests.urls_without_pages"
    settings.LOGIN_URL = "/accounts/login/"
    assert checks.check_login_url() == []


@pytest.mark.parametrize(("region", "warned"), [("eu-west-1", False), ("us-gov-west-1", False),
                                                 ("cn-north-1", False), ("eu-wset-1", True), ("xx-east-9", True)])
def test_a_region_botocore_does_not_know_is_named_offline(settings: Any, region: str, warned: bool) -> None:
    settings.DYNAMODB_REGION = region
    found = [m for m in checks.check_settings() if m.id == "pynamo_sessions.W005"]
    assert bool(found) is warned
    if warned:
        assert repr(region) in found[0].msg and "for instance, '" in found[0].msg


def test_the_package_index_description_has_no_link_that_leads_nowhere() -> None:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("package_setup", Path(__file__).parent.parent / "setup.py")
    assert spec and spec.loader
    setup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup)  # the setup() call runs only as __main__
    text = setup.index_description(
        "See [settings](#settings), [the docs](docs/x.md) and [PyPI](https://pypi.org/).\\n"
        "![The page](docs/sessions-page.png) ![Logo](https://example.com/l.png)")
    assert text == ("See settings, the docs and [PyPI](https://pypi.org/).\\n"
                    "*(Picture: The page)* ![Logo](https://example.com/l.png)")
