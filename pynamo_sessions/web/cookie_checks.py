"""Django's session-cookie deploy warnings (security.W010-W015), for a site that uses ours.

Django's checks look for ``django.contrib.sessions`` in INSTALLED_APPS or Django's own
``SessionMiddleware`` in MIDDLEWARE, and our Install block replaces both: without these, a site
could go live with session cookies sent over plain HTTP, or readable by scripts, and nothing would
warn. Each warning here is Django's, word for word but for the app or middleware it names, under
our id (Django's number plus 100); where Django's own check already applies it says nothing, so no
condition is reported twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig, apps
from django.conf import settings
from django.core import checks

APP = "pynamo_sessions"
MIDDLEWARE = "pynamo_sessions.middleware.SessionMiddleware"
DJANGO_APP = "django.contrib.sessions"
DJANGO_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"

_SECURE = (" Using a secure-only session cookie makes it more difficult for network traffic sniffers to "
           "hijack user sessions.")
_HTTPONLY = (" Using an HttpOnly session cookie makes it more difficult for cross-site scripting attacks to "
             "hijack user sessions.")


def _messages(setting: str, why: str, ids: tuple[str, str, str],
              django: str) -> tuple[checks.Warning, checks.Warning, checks.Warning]:
    hint = f"Set {setting} = True (Django warns of this as {django} in a project that uses django.contrib.sessions)."
    app, middleware, both = (f"pynamo_sessions.{id}" for id in ids)
    return (
        checks.Warning(f"You have '{APP}' in your INSTALLED_APPS, but you have not set {setting} to True.{why}",
                       hint=hint, id=app),
        checks.Warning(f"You have '{MIDDLEWARE}' in your MIDDLEWARE, but you have not set {setting} to True.{why}",
                       hint=hint, id=middleware),
        checks.Warning(f"{setting} is not set to True.{why}", hint=hint, id=both),
    )


W110, W111, W112 = _messages("SESSION_COOKIE_SECURE", _SECURE, ("W110", "W111", "W112"), "security.W010-W012")
W113, W114, W115 = _messages("SESSION_COOKIE_HTTPONLY", _HTTPONLY, ("W113", "W114", "W115"), "security.W013-W015")


def check_session_cookie(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """(deploy) SESSION_COOKIE_SECURE and SESSION_COOKIE_HTTPONLY, as Django checks them."""
    return [*_check("SESSION_COOKIE_SECURE", (W110, W111, W112)),
            *_check("SESSION_COOKIE_HTTPONLY", (W113, W114, W115))]


def _check(setting: str, warnings: tuple[checks.Warning, checks.Warning, checks.Warning]) -> list[checks.Warning]:
    if getattr(settings, setting) is True:
        return []
    django_checks = DJANGO_APP in settings.INSTALLED_APPS or DJANGO_MIDDLEWARE in settings.MIDDLEWARE
    if django_checks:
        return []  # Django's own warning says it
    found = []
    if apps.is_installed(APP):
        found.append(warnings[0])
    if MIDDLEWARE in settings.MIDDLEWARE:
        found.append(warnings[1])
    return [warnings[2]] if len(found) > 1 else found
