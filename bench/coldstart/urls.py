"""A read and a read-modify-write, sync (for WSGI) and async (for ASGI)."""

from django.http import HttpRequest, JsonResponse
from django.urls import path


def read(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"count": request.session.get("count", 0)})


def rmw(request: HttpRequest) -> JsonResponse:
    request.session["count"] = request.session.get("count", 0) + 1
    return JsonResponse({"count": request.session["count"]})


async def aread(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"count": await request.session.aget("count", 0)})


async def armw(request: HttpRequest) -> JsonResponse:
    count = await request.session.aget("count", 0) + 1
    await request.session.aset("count", count)
    return JsonResponse({"count": count})


urlpatterns = [path("read/", read), path("rmw/", rmw), path("aread/", aread), path("armw/", armw)]
