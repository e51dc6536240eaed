"""On AWS Lambda: Django behind apig-wsgi (WSGI) and Mangum (ASGI), invoked with real API
Gateway v2, v1 and ALB events, with sessions in DynamoDB Local; and SnapStart's restore hook."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from bench.coldstart.__main__ import ROOT, site_env
from pynamo_sessions import create_table
from pynamo_sessions.store import calls, models
from pynamo_sessions.store.breaker import CLOSED, OPEN
from pynamo_sessions.testing import faultproxy
from pynamo_sessions.testing.faultproxy import FaultProxy
from tests.lambda_events import KINDS, Context, event, header, set_cookies

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture(params=["apig-wsgi", "mangum"])
def handler(request: pytest.FixtureRequest) -> Iterator[Handler]:
    """The site's Lambda handler, as the README's recipes build it."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    # As Django's test client does: the test database connection is the test's, not the request's.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    if request.param == "apig-wsgi":
        from apig_wsgi import make_lambda_handler
        from django.core.wsgi import get_wsgi_application

        yield make_lambda_handler(get_wsgi_application(), binary_support=True)
    else:
        from django.core.asgi import get_asgi_application
        from mangum import Mangum

        yield Mangum(get_asgi_application(), lifespan="off")
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def invoke(handler: Handler, kind: str, path: str, *, method: str = "GET", cookie: str | None = None) -> dict[str, Any]:
    return handler(event(kind, path, method=method, cookie=cookie), Context())


def session_cookie(response: dict[str, Any]) -> str:
    [value] = [c.split(";", 1)[0] for c in set_cookies(response) if c.startswith("sessionid=")]
    return value


def test_the_cookie_goes_out_comes_back_in_and_a_logout_deletes_it(handler: Handler, kind: str) -> None:
    first = invoke(handler, kind, "/increment/")
    assert first["statusCode"] == 200 and json.loads(first["body"]) == {"count": 1}
    cookie = session_cookie(first)
    assert "HttpOnly" in next(c for c in set_cookies(first) if c.startswith("sessionid="))
    second = invoke(handler, kind, "/increment/", cookie=cookie)
    assert json.loads(second["body"]) == {"count": 2}
    assert json.loads(invoke(handler, kind, "/read/", cookie=cookie)["body"])["data"] == {"count": 2}
    logout = invoke(handler, kind, "/logout/", cookie=cookie)
    [deleted] = [c for c in set_cookies(logout) if c.startswith("sessionid=")]
    assert deleted.startswith('sessionid="";') and "Max-Age=0" in deleted
    assert json.loads(invoke(handler, kind, "/read/", cookie=cookie)["body"]) == {"data": {}, "key": None}


def test_encrypted_sessions_work_through_both_handlers(
    handler: Handler, settings: Any, own_table: str, raw_item: Callable[[str], Any],
) -> None:
    settings.DYNAMODB_SESSIONS_ENCRYPT = True
    create_table()
    cookie = session_cookie(invoke(handler, "apigw-v2", "/increment/"))
    assert json.loads(invoke(handler, "apigw-v2", "/increment/", cookie=cookie)["body"]) == {"count": 2}
    assert list(raw_item(cookie.split("=", 1)[1])["session_data"]) == ["B"]


def test_an_outage_answers_503_with_retry_after(handler: Handler, kind: str, proxy: FaultProxy) -> None:
    cookie = session_cookie(invoke(handler, kind, "/increment/"))
    proxy.set_fault(faultproxy.DROP)
    response = invoke(handler, kind, "/increment/", cookie=cookie)
    assert response["statusCode"] == 503 and header(response, "Retry-After") == "1"
    proxy.set_fault(faultproxy.PASS)
    assert json.loads(invoke(handler, kind, "/increment/", cookie=cookie)["body"]) == {"count": 2}


@pytest.mark.django_db(transaction=True)  # Mangum's views run in another thread: commit the user
def test_the_sessions_page_works(handler: Handler, kind: str, settings: Any, own_table: str) -> None:
    settings.DYNAMODB_SESSIONS_TRACK_USERS = True
    settings.DYNAMODB_SESSIONS_TRACK_CLIENT = True
    create_table()
    user = User.objects.create_user("lambda", password="lambda-password-1")
    browser = Client()
    browser.force_login(user)
    cookie = f"sessionid={browser.cookies['sessionid'].value}"
    invoke(handler, kind, "/increment/", cookie=cookie)  # a request that records the device
    page = invoke(handler, kind, "/account/sessions/", cookie=cookie)
    assert page["statusCode"] == 200
    assert "1 live session" in page["body"]
    assert 'Firefox on Linux</span> <strong class="pynamo-sessions-this">this session</strong>' in page["body"]


# SnapStart ---------------------------------------------------------------------------------

def test_a_restored_snapshot_gets_new_connections_a_closed_breaker_and_fresh_randomness(
    proxy: FaultProxy, settings: Any,
) -> None:
    import snapshot_restore_py

    from pynamo_sessions.backends.dynamodb import SessionStore
    from pynamo_sessions.operations import lambda_runtime

    assert lambda_runtime.register_restore_hook()  # as ready() does
    hooks = [hook for hook, _, _ in snapshot_restore_py.get_after_restore() if hook is lambda_runtime.after_restore]
    assert len(hooks) == 1  # once, however often ready() runs
    store = SessionStore()
    store["a"] = 1
    store.save()
    pool = models.bound_model()._get_connection().connection.client._endpoint.http_session._manager
    assert pool.pools  # a pooled connection, as a snapshot taken after a warm-up request holds
    settings.DYNAMODB_SESSIONS_BREAKER_THRESHOLD = 1
    calls.breaker().record(failed=True)
    assert calls.breaker().state == OPEN
    random.seed(7)
    snapshotted = random.random()
    random.seed(7)
    for hook, args, kwargs in snapshot_restore_py.get_after_restore():  # what the runtime does
        hook(*args, **kwargs)
    assert not pool.pools  # the snapshotted process's sockets are not reused
    assert calls.breaker().state == CLOSED
    assert random.random() != snapshotted  # merge pauses differ between restored copies
    assert SessionStore(store.session_key).load() == {"a": 1}  # and the store works at once


# Init ----------------------------------------------------------------------------------------

def test_a_wsgi_init_imports_only_what_requests_use_and_leaves_no_thread(dynamodb_local: str) -> None:
    """Lambda's init, in a fresh interpreter: the benchmark's apig-wsgi handler module, on our
    engine. Provisioning, sweeps, imports and the async stack are never a request's to pay."""
    code = (
        "import json, sys, threading; import bench.coldstart.wsgi_handler; "
        "print(json.dumps({'modules': sorted(sys.modules), 'threads': [t.name for t in threading.enumerate()]}))"
    )
    env = site_env("ours", dynamodb_local, AWS_ACCESS_KEY_ID="pynamosessions", AWS_SECRET_ACCESS_KEY="pynamosessions")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    found = json.loads(out.stdout.strip().splitlines()[-1])
    modules = set(found["modules"])
    assert "pynamo_sessions.backends.dynamodb" in modules  # the engine is ready for the first request
    unused = {"pynamo_sessions.operations.provision", "pynamo_sessions.operations.cleanup",
              "pynamo_sessions.operations.importing", "pynamo_sessions.operations.users", "aiobotocore", "aiohttp",
              "cryptography"}
    assert modules & unused == set()
    assert found["threads"] == ["MainThread"]
