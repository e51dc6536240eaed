"""Three pages: one that writes the session, one that reads it, one that never touches it."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path


def increment(request: HttpRequest) -> JsonResponse:
    request.session["count"] = request.session.get("count", 0) + 1
    return JsonResponse({"count": request.session["count"]})


def read(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"count": request.session.get("count"), "degraded": request.session.degraded})


def plain(request: HttpRequest) -> HttpResponse:
    return HttpResponse("no session here")


urlpatterns = [path("increment/", increment), path("read/", read), path("plain/", plain)]
