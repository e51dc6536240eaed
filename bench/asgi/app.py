"""The benchmark's async views and its ASGI application."""

import os

from django.core.asgi import get_asgi_application
from django.http import HttpRequest, JsonResponse
from django.urls import path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.asgi.settings")

calls = 0


def count_call(call: object) -> None:
    """DYNAMODB_SESSIONS_METRICS_CALLBACK: DynamoDB calls made by this process."""
    global calls
    calls += 1


async def read_only(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"count": await request.session.aget("count", 0)})


async def read_modify_write(request: HttpRequest) -> JsonResponse:
    count = await request.session.aget("count", 0) + 1
    await request.session.aset("count", count)
    return JsonResponse({"count": count})


async def dynamodb_calls(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"calls": calls})


urlpatterns = [
    path("read/", read_only),
    path("rmw/", read_modify_write),
    path("calls/", dynamodb_calls),
]

application = get_asgi_application()
