from __future__ import annotations

import logging
import threading

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
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.connect(_login_starts_a_new_lifetime, dispatch_uid="pynamo_sessions.new_lifetime")
        if conf.conf.TRACK_USERS and conf.conf.LOGOUT_ON_PASSWORD_CHANGE:
            from django.contrib.auth import get_user_model
            from django.db.models.signals import post_save

            from pynamo_sessions import users

            post_save.connect(users.logout_on_password_change, sender=get_user_model(),
                              dispatch_uid="pynamo_sessions.logout_on_password_change")
        if settings.SESSION_ENGINE in conf.ENGINES:
            # Building the botocore client (service model, credential chain) takes tens of
            # milliseconds, more where credentials come from instance metadata. Doing it in the
            # background here keeps it off the first request without slowing every manage.py
            # command; no request is sent.
            threading.Thread(target=_warm_up, name="pynamo_sessions-warm-up", daemon=True).start()


def _login_starts_a_new_lifetime(sender: object, request: object, **kwargs: object) -> None:
    # With DYNAMODB_SESSIONS_ABSOLUTE_AGE, a login (a new authentication, even of the same
    # user) is what starts a new lifetime; cycling the key alone never does.
    restart = getattr(getattr(request, "session", None), "start_new_lifetime", None)
    if restart is not None:
        restart()


def _warm_up() -> None:
    from pynamo_sessions import aio, models

    try:
        models.warm_up()
        aio.warm_up()
    except Exception as exc:  # noqa: BLE001 - checks and the first request report real problems
        logger.debug("Could not build the DynamoDB client in advance: %s", exc)
