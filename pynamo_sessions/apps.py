from __future__ import annotations

from django.apps import AppConfig


class PynamoSessionsConfig(AppConfig):
    name = "pynamo_sessions"
    verbose_name = "Sessions in DynamoDB"

    def ready(self) -> None:
        from pynamo_sessions import checks

        checks.register()
