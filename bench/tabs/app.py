"""The tabs benchmark's views (sync for gunicorn, async for uvicorn) and its applications."""

import os

from django.http import HttpRequest, JsonResponse
from django.urls import path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.tabs.settings")


def tab(request: HttpRequest, number: int) -> JsonResponse:
    """One tab's click: increment this tab's own key of the shared session."""
    name = f"tab{number}"
    request.session[name] = request.session.get(name, 0) + 1
    return JsonResponse({name: request.session[name]})


async def atab(request: HttpRequest, number: int) -> JsonResponse:
    name = f"tab{number}"
    count = await request.session.aget(name, 0) + 1
    await request.session.aset(name, count)
    return JsonResponse({name: count})


def logout(request: HttpRequest) -> JsonResponse:
    """Sign out: the session is deleted (Django's logout flushes it)."""
    request.session.flush()
    return JsonResponse({})


def stored(request: HttpRequest) -> JsonResponse:
    """What the session holds now (read by the driver once every tab is done)."""
    return JsonResponse(dict(request.session.items()))


urlpatterns = [
    path("tab/<int:number>/", tab),
    path("atab/<int:number>/", atab),
    path("logout/", logout),
    path("stored/", stored),
]


def wsgi() -> object:
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def asgi() -> object:
    from django.core.asgi import get_asgi_application

    return get_asgi_application()
