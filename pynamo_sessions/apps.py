from __future__ import annotations

import logging

from django.apps import AppConfig
from django.conf import settings

from pynamo_sessions import conf

logger = logging.getLogger("pynamo_sessions")



class PynamoSessionsConfig(AppConfig):
    name = "pynamo_sessions"
    verbose_name = "Sessions in DynamoDB"

    def ready(self) -> None:
        from pynamo_sessions import checks

        checks.register()
        from django.apps import apps

        if apps.is_installed("django.contrib.auth"):  # no login without it
            from django.contrib.auth.signals import user_logged_in

            user_logged_in.connect(_login_starts_a_new_lifetime, dispatch_uid="pynamo_sessions.new_lifetime")
            # After the lifetime's start, which it stores: the login saved, the cap, the signal.
            user_logged_in.connect(_login_stored, dispatch_uid="pynamo_sessions.login")
        if conf.conf.TRACK_USERS and conf.conf.LOGOUT_ON_PASSWORD_CHANGE:
            from django.contrib.auth import get_user_model
            from django.db.models.signals import post_save

            from pynamo_sessions.operations import users

            post_save.connect(users.logout_on_password_change, sender=get_user_model(),
                              dispatch_uid="pynamo_sessions.logout_on_password_change")
        if settings.SESSION_ENGINE in conf.ENGINES:
            _prepare()


def _prepare() -> None:
    """Build the botocore client here, on the main thread, rather than in the first request or
    in a thread of ours that might still be running when it comes (each would parse botocore's
    data files again). On AWS Lambda this is the init phase, the part that SnapStart and
    provisioned concurrency snapshot. A process that serves ASGI also imports aiobotocore now;
    one that serves WSGI never does. No DynamoDB call is made."""
    from pynamo_sessions import checks
    from pynamo_sessions.operations import lambda_runtime
    from pynamo_sessions.store import aio, transport

    try:
        transport.build_client()
        if checks.served_under_asgi():
            aio.prepare()
            # Under ASGI, say once at start-up which transport async session calls take: a
            # `manage.py check` runs without the server, so its I001 cannot see it.
            native = aio.enabled()
            (logger.info if native else logger.warning)("Async session calls use %s.", aio.transport_in_use())
    except Exception as exc:  # noqa: BLE001 - checks and the first request report real problems
        logger.debug("Could not build the DynamoDB client in advance: %s", exc)
    lambda_runtime.register_restore_hook()


def _login_starts_a_new_lifetime(sender: object, request: object, **kwargs: object) -> None:
    # With DYNAMODB_SESSIONS_ABSOLUTE_AGE, a login (a new authentication, even of the same
    # user) is what starts a new lifetime; cycling the key alone never does.
    restart = getattr(getattr(request, "session", None), "start_new_lifetime", None)
    if restart is not None:
        restart()


def _login_stored(sender: object, request: object, user: object, **kwargs: object) -> None:
    from pynamo_sessions.operations import logins  # a login's work, never paid at start-up

    logins.on_login(sender, request=request, user=user, **kwargs)
