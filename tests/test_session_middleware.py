"""Our SessionMiddleware is a drop-in for Django's: the same cookies and headers, sync and async."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from pynamo_sessions.backends.dynamodb import SessionStore
from pynamo_sessions.middleware import SessionMiddleware

View = Callable[[HttpRequest], HttpResponse]


def untouched(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")


def reads(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(request.session.get("n")))


def writes(request: HttpRequest) -> HttpResponse:
    request.session["n"] = 1
    return HttpResponse("ok")


def flushes(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return HttpResponse("ok")


def writes_then_fails(request: HttpRequest) -> HttpResponse:
    request.session["n"] = 1
    return HttpResponse("boom", status=500)


def writes_short_expiry(request: HttpRequest) -> HttpResponse:
    request.session["n"] = 1
    request.session.set_expiry(60)
    return HttpResponse("ok")


SCENARIOS: list[tuple[str, View, bool, dict[str, Any]]] = [
    ("no access", untouched, False, {}),
    ("read, no cookie", reads, False, {}),
    ("read, with cookie", reads, True, {}),
    ("write, no cookie", writes, False, {}),
    ("write, with cookie", writes, True, {}),
    ("flush, with cookie", flushes, True, {}),
    ("5xx never saves", writes_then_fails, True, {}),
    ("set_expiry", writes_short_expiry, True, {}),
    ("save every request", reads, True, {"SESSION_SAVE_EVERY_REQUEST": True}),
    ("expire at browser close", writes, True, {"SESSION_EXPIRE_AT_BROWSER_CLOSE": True}),
    ("cookie flags", writes, False, {
        "SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_HTTPONLY": False, "SESSION_COOKIE_SAMESITE": "Strict",
        "SESSION_COOKIE_DOMAIN": "example.com", "SESSION_COOKIE_PATH": "/app",
    }),
    ("unknown cookie, read", reads, "unknown", {}),
]


def shape(response: Any) -> dict[str, Any]:
    """What a browser and a cache see, with the random session key and clock times left out."""
    cookies = {}
    for name, morsel in response.cookies.items():
        cookies[name] = {
            "deleted": morsel.value == "",
            "expires set": bool(morsel["expires"]),
            **{attr: morsel[attr] for attr in ("max-age", "path", "domain", "secure", "httponly", "samesite")},
        }
    return {"status": response.status_code, "vary": response.get("Vary"), "cookies": cookies}


def request_for(cookie: bool | str) -> HttpRequest:
    request = RequestFactory().get("/")
    if cookie == "unknown":
        request.COOKIES["sessionid"] = "u" * 32
    elif cookie:
        store = SessionStore()
        store["n"] = 0
        store.save()
        request.COOKIES["sessionid"] = store.session_key
    return request


@pytest.mark.parametrize(("name", "view", "cookie", "overrides"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_same_headers_and_cookies_as_djangos(
    name: str, view: View, cookie: bool | str, overrides: dict[str, Any], settings: Any,
) -> None:
    for setting, value in overrides.items():
        setattr(settings, setting, value)
    expected = shape(DjangoSessionMiddleware(view)(request_for(cookie)))
    assert shape(SessionMiddleware(view)(request_for(cookie))) == expected

    async def async_view(request: HttpRequest) -> HttpResponse:
        return view(request)

    middleware = SessionMiddleware(async_view)
    assert shape(async_to_sync(middleware)(request_for(cookie))) == expected


def test_the_saved_cookie_holds_the_stored_key() -> None:
    response = SessionMiddleware(writes)(request_for(False))
    key = response.cookies["sessionid"].value
    assert SessionStore(key).load() == {"n": 1}
