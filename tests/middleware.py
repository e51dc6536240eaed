"""A middleware that reads the session in its own layer, as some third-party ones do."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse


class ReadsUserMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # An exception here becomes a 500 inside this layer, before SessionMiddleware sees it.
        request.user.is_authenticated  # noqa: B018
        return self.get_response(request)
