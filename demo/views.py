"""What a session store is for: a counter, a cart, "remember me", log in and out, and the raw
DynamoDB item behind it all."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from pynamo_sessions import conf
from pynamo_sessions.operations import provision
from pynamo_sessions.store import keys

PRODUCTS = {"tea": "Green tea", "mug": "Enamel mug", "book": "Pocket notebook", "pen": "Fountain pen"}
REMEMBER_ME = 30 * 24 * 3600


@lru_cache(maxsize=1)
def raw_client() -> Any:
    # The raw item panel reads DynamoDB directly, to show exactly what is stored.
    return provision.admin_client()


def attribute_size(name: str, value: dict[str, str]) -> int:
    """Bytes DynamoDB counts for one attribute: its name, then a string's UTF-8 bytes or
    about one byte per two digits of a number."""
    kind, text = next(iter(value.items()))
    return len(name.encode()) + (len(text.encode()) if kind == "S" else (len(text) + 1) // 2 + 1)


def raw_item(request: HttpRequest) -> dict[str, Any] | None:
    session_key = request.session.session_key
    if session_key is None:
        return None
    snapshot = conf.current()
    answer = raw_client().get_item(
        TableName=snapshot.table_name,
        Key={snapshot.attr_id: {"S": keys.item_key(session_key, hashed=snapshot.hash_keys)}},
        ConsistentRead=True,
    )
    item = answer.get("Item")
    if item is None:
        return None
    ttl = int(float(item[snapshot.attr_ttl]["N"]))
    return {
        "attributes": [
            {"name": name, "type": next(iter(value)), "value": next(iter(value.values()))}
            for name, value in sorted(item.items())
        ],
        "ttl": ttl,
        "ttl_date": datetime.fromtimestamp(ttl, UTC),
        "ttl_in": ttl - int(time.time()),
        "size": sum(attribute_size(name, value) for name, value in item.items()),
    }


def home(request: HttpRequest) -> HttpResponse:
    request.session["visits"] = request.session.get("visits", 0) + 1
    cart = request.session.get("cart", {})
    # Rendered after the visit is counted but before the middleware saves it, so the panel
    # shows the item as this request found it; the next page shows this request's write.
    return render(request, "demo/index.html", {
        "visits": request.session["visits"],
        "user": request.user.get_username() if request.user.is_authenticated else None,
        "remembered": request.session.get("remember", False),
        "cart": [(code, PRODUCTS.get(code, code), count) for code, count in sorted(cart.items())],
        "products": PRODUCTS,
        "session_key": request.session.session_key,
        "expires_at_browser_close": request.session.get_expire_at_browser_close(),
        "item": raw_item(request),
        "table": settings.DYNAMODB_SESSIONS_TABLE,
        "endpoint": settings.DYNAMODB_LOCAL_ENDPOINT or f"AWS region {settings.DYNAMODB_REGION}",
    })


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    code = request.POST.get("product", "")
    if code in PRODUCTS:
        cart = request.session.get("cart", {})
        cart[code] = cart.get(code, 0) + 1
        request.session["cart"] = cart
    return redirect("home")


@require_POST
def cart_remove(request: HttpRequest) -> HttpResponse:
    cart = request.session.get("cart", {})
    code = request.POST.get("product", "")
    if code in cart:
        cart[code] -= 1
        if cart[code] <= 0:
            del cart[code]
        request.session["cart"] = cart
    return redirect("home")


@require_POST
def login(request: HttpRequest) -> HttpResponse:
    name = request.POST.get("name", "").strip()[:40] or "guest"
    # The demo signs anyone in by name alone, creating the user on first use. Django's login()
    # gives the session a new key (cycle_key) and stores the user's id, which the user index
    # of "Where you're signed in" lists sessions by.
    user, created = User.objects.get_or_create(username=name)
    if created:
        user.set_unusable_password()
        user.save()
    auth_login(request, user)
    remember = request.POST.get("remember") == "on"
    request.session["remember"] = remember
    request.session.set_expiry(REMEMBER_ME if remember else 0)
    return redirect("home")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    auth_logout(request)  # flushes the session: its item is deleted
    return redirect("home")
