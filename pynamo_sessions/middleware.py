"""The session middleware, and the one that hands the client's details to the store.

``SessionMiddleware`` replaces ``django.contrib.sessions.middleware.SessionMiddleware``: the same
cookies, the same ``Vary: Cookie``, the same ``SessionInterrupted`` (400) when a concurrent
logout deleted the session, and in addition a session storage failure answers **503 Service
Unavailable** with ``Retry-After`` instead of a 500. Django's own middleware cannot do that: it
saves in ``process_response``, and an exception raised there becomes a 500 inside its own layer,
before any other middleware could answer differently.

What to do with a response is decided in one place (``_decide``, ``_response_steps``); the sync
and async paths only carry it out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from typing import Any, NamedTuple

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.http import http_date

from pynamo_sessions.exceptions import SessionStorageError, SessionStoreMisconfigured, SessionStoreUnavailable
from pynamo_sessions.store import calls
from pynamo_sessions.store.ops import Run

# Enough to tell one browser from another; a hostile header cannot bloat the item.
MAX_USER_AGENT = 256

GetResponse = Callable[[HttpRequest], Any]


class _Decision(NamedTuple):
    """What the response phase does with the session: Django's rules, decided without I/O."""

    delete_cookie: bool = False
    save: bool = False
    vary: bool = False


def retry_after(error: SessionStorageError) -> int:
    """Seconds a client should wait: the breaker's cool-down left, or a second."""
    if isinstance(error, SessionStoreUnavailable):
        return error.retry_after
    return calls.retry_after()


class SessionMiddleware(DjangoSessionMiddleware):
    """Drop-in for Django's SessionMiddleware that answers 503 when the session store fails.

    A subclass of Django's, so that what looks for it (the admin's system check) finds it; every
    method that touches the session is ours. Override ``unavailable_response`` to render your
    own 503 page (it must not touch ``request.session`` or ``request.user``: the store is what
    failed).
    """

    def __init__(self, get_response: GetResponse) -> None:
        # Django's picks the engine and marks us async when the chain is; its process_request
        # (a store from the cookie) is used as it is.
        super().__init__(get_response)
        self.async_mode = iscoroutinefunction(get_response)

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        request.session.on_signed_out_elsewhere = lambda: signed_out_elsewhere(request)  # type: ignore[attr-defined]

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        self.process_request(request)
        get_response: Any = self.get_response
        return self.process_response(request, get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        self.process_request(request)
        get_response: Any = self.get_response
        return await self._aprocess_response(request, await get_response(request))

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view (or the auth middleware's lazy user) could not read the session: 503. A
        misconfiguration is no outage: Django answers it as any error (its debug page with
        DEBUG = True, the site's 500 page otherwise), with no Retry-After to promise a retry helps."""
        if isinstance(exception, SessionStorageError) and not isinstance(exception, SessionStoreMisconfigured):
            return self.unavailable_response(request, exception)
        return None

    # The response phase is written once, as steps that name the session methods they need
    # ("save"); the sync path calls them, the async path awaits their "a" twins ("asave").

    # Django's stubs say HttpResponse; streaming and file responses come through here too.
    def process_response(  # type: ignore[override]
        self, request: HttpRequest, response: HttpResponseBase,
    ) -> HttpResponseBase:
        run = Run(self._response_steps(request, response))
        while (method := run.next()) is not None:
            try:
                run.answered(getattr(request.session, method)())
            except Exception as exc:  # noqa: BLE001 - handed to the steps, which decide
                run.failed(exc)
        return run.value  # type: ignore[return-value]

    async def _aprocess_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        run = Run(self._response_steps(request, response))
        while (method := run.next()) is not None:
            try:
                run.answered(await getattr(request.session, "a" + method)())
            except Exception as exc:  # noqa: BLE001 - handed to the steps, which decide
                run.failed(exc)
        return run.value  # type: ignore[return-value]

    def _response_steps(
        self, request: HttpRequest, response: HttpResponseBase,
    ) -> Generator[str, Any, HttpResponseBase]:
        decision = self._decide(request, response)
        if isinstance(decision, HttpResponseBase):
            return decision
        lifetime = None
        if decision.save:
            try:
                at_browser_close = yield "get_expire_at_browser_close"
                lifetime = _cookie_lifetime(at_browser_close, (yield "get_expiry_age"))
                yield "save"
            except (UpdateError, SessionStorageError) as exc:
                return self._save_failed(request, exc)
        return self._finish(decision, request, response, lifetime)

    def _decide(self, request: HttpRequest, response: HttpResponseBase) -> _Decision | HttpResponseBase:
        """Django's SessionMiddleware rules, plus two of ours: a response that an inner layer
        turned into a 500 because the session store failed becomes the 503 it should be, and a
        degraded session neither loses its cookie nor is saved unless a view changed it (then
        its save refuses, and the answer is 503)."""
        try:
            session: Any = request.session
            accessed, modified, empty = session.accessed, session.modified, session.is_empty()
        except AttributeError:
            return response
        failure = getattr(session, "load_failure", None)
        if failure is not None and response.status_code == 500:
            if isinstance(failure, SessionStoreMisconfigured):
                return response  # Django's answer to the error stands (see process_exception)
            return self.unavailable_response(request, failure)
        degraded = getattr(session, "degraded", False)
        if settings.SESSION_COOKIE_NAME in request.COOKIES and empty and not degraded:
            return _Decision(delete_cookie=True, vary=True)
        wanted = modified or (settings.SESSION_SAVE_EVERY_REQUEST and not degraded)
        # Like Django: a 5xx answer saves nothing.
        return _Decision(save=wanted and not empty and response.status_code < 500, vary=accessed)

    def _save_failed(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        if isinstance(exc, UpdateError):
            raise SessionInterrupted(
                "The request's session was deleted before the request completed. The user may "
                "have logged out in a concurrent request, for example."
            ) from exc
        assert isinstance(exc, SessionStorageError)
        if isinstance(exc, SessionStoreMisconfigured):
            raise exc  # Django's answer to an error: the debug page, or the site's 500 page
        return self.unavailable_response(request, exc)

    def _finish(
        self, decision: _Decision, request: HttpRequest, response: HttpResponseBase,
        lifetime: tuple[int | None, str | None] | None,
    ) -> HttpResponseBase:
        if lifetime is not None:  # saved: refresh the client's cookie
            max_age, expires = lifetime
            key: Any = request.session.session_key
            response.set_cookie(
                settings.SESSION_COOKIE_NAME,
                key,
                max_age=max_age,
                expires=expires,
                domain=settings.SESSION_COOKIE_DOMAIN,
                path=settings.SESSION_COOKIE_PATH,
                secure=bool(settings.SESSION_COOKIE_SECURE),
                httponly=bool(settings.SESSION_COOKIE_HTTPONLY),
                samesite=settings.SESSION_COOKIE_SAMESITE,
            )
        if decision.delete_cookie:
            response.delete_cookie(
                settings.SESSION_COOKIE_NAME,
                path=settings.SESSION_COOKIE_PATH,
                domain=settings.SESSION_COOKIE_DOMAIN,
                samesite=settings.SESSION_COOKIE_SAMESITE,
            )
        if decision.vary or decision.save:
            patch_vary_headers(response, ("Cookie",))
        return response

    def unavailable_response(self, request: HttpRequest, error: SessionStorageError) -> HttpResponse:
        """The 503 answered when the session store failed; ``Retry-After`` says when to retry."""
        response = HttpResponse(
            "503 Service Unavailable: the session store is not answering. Please try again in a moment.\n",
            status=503,
            content_type="text/plain; charset=utf-8",
        )
        response["Retry-After"] = str(retry_after(error))
        add_never_cache_headers(response)
        return response


def signed_out_elsewhere(request: HttpRequest) -> None:
    """Tell the user, with Django's messages framework where the site uses it, that this browser
    was signed out from another one (or by staff): shown on this page or the next that lists
    messages. Without the framework, nothing: the page simply shows a signed-out visitor."""
    if getattr(request, "_messages", None) is None:  # no MessageMiddleware (or not yet)
        return
    from django.contrib import messages
    from django.utils.translation import gettext

    messages.warning(request, gettext("This browser was signed out from elsewhere: from another of your devices, or by "
                                      "the site."))


def _cookie_lifetime(at_browser_close: bool, age: int) -> tuple[int | None, str | None]:
    """The cookie's max-age and expires, as Django's middleware sets them."""
    if at_browser_close:
        return None, None
    return age, http_date(time.time() + age)


class ClientInfoMiddleware:
    """Place right after SessionMiddleware. Stored only with DYNAMODB_SESSIONS_TRACK_USERS and
    DYNAMODB_SESSIONS_TRACK_CLIENT on, when the session is saved. Behind a proxy, REMOTE_ADDR is
    the proxy's unless something (your proxy's own middleware) sets it from X-Forwarded-For."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: GetResponse) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        session = getattr(request, "session", None)
        if session is not None:
            session.client_info = (
                request.META.get("HTTP_USER_AGENT", "")[:MAX_USER_AGENT],
                request.META.get("REMOTE_ADDR", ""),
            )
        return self.get_response(request)
