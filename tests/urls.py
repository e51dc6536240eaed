"""Tiny views that exercise the session through Django's real SessionMiddleware."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path


def read(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"data": dict(request.session.items()), "key": request.session.session_key})


def increment(request: HttpRequest) -> JsonResponse:
    request.session["count"] = request.session.get("count", 0) + 1
    return JsonResponse({"count": request.session["count"]})


def login(request: HttpRequest) -> HttpResponse:
    request.session.cycle_key()
    request.session["user"] = "alice"
    return HttpResponse("ok")


def logout(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return HttpResponse("ok")


def shown_messages(request: HttpRequest) -> JsonResponse:
    from django.contrib.messages import get_messages

    user = str(request.user)  # reads the session first, as a page that greets its user does
    return JsonResponse({"messages": [str(m) for m in get_messages(request)], "user": user})


def nothing(request: HttpRequest) -> HttpResponse:
    return HttpResponse("no session access")


def whoami(request: HttpRequest) -> JsonResponse:
    # str(request.user) reads the session through the auth middleware's lazy user, as Django's
    # debug page and most templates do.
    return JsonResponse({"user": str(request.user), "degraded": getattr(request.session, "degraded", False)})


def tab(request: HttpRequest, number: int) -> JsonResponse:
    # One browser tab's counter: parallel tabs change different keys of one session.
    name = f"tab{number}"
    request.session[name] = request.session.get(name, 0) + 1
    return JsonResponse({name: request.session[name]})


async def aincrement(request: HttpRequest) -> JsonResponse:
    count = await request.session.aget("count", 0) + 1
    await request.session.aset("count", count)
    return JsonResponse({"count": count})


async def aread(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"count": await request.session.aget("count")})


def signin(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth import authenticate
    from django.contrib.auth import login as auth_login

    user = authenticate(request, username=request.POST["username"], password=request.POST["password"])
    assert user is not None
    auth_login(request, user)
    return HttpResponse("signed in")


async def asignin(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth import aauthenticate, alogin

    user = await aauthenticate(request, username=request.POST["username"], password=request.POST["password"])
    assert user is not None
    await alogin(request, user)
    return HttpResponse("signed in")


urlpatterns = [
    path("signin/", signin),
    path("asignin/", asignin),
    path("read/", read),
    path("increment/", increment),
    path("login/", login),
    path("logout/", logout),
    path("nothing/", nothing),
    path("messages/", shown_messages),
    path("whoami/", whoami),
    path("tab/<int:number>/", tab),
    path("aincrement/", aincrement),
    path("aread/", aread),
    path("login-page/", nothing),  # LOGIN_URL: the sessions page sends anonymous visitors here
    path("account/sessions/", include("pynamo_sessions.urls")),
    path("admin/", admin.site.urls),
]
