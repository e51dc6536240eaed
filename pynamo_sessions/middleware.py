"""Hand the client's user agent and address to the session store, for ``users.list_sessions``."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# Enough to tell one browser from another; a hostile header cannot bloat the item.
MAX_USER_AGENT = 256


class ClientInfoMiddleware:
    """Place right after SessionMiddleware. Stored only with DYNAMODB_SESSIONS_TRACK_USERS and
    DYNAMODB_SESSIONS_TRACK_CLIENT on, when the session is saved. Behind a proxy, REMOTE_ADDR is
    the proxy's unless something (your proxy's own middleware) sets it from X-Forwarded-For."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None:
            session.client_info = (
                request.META.get("HTTP_USER_AGENT", "")[:MAX_USER_AGENT],
                request.META.get("REMOTE_ADDR", ""),
            )
        return self.get_response(request)
