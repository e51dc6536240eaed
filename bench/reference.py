"""The yardstick: a minimal session store written for the benchmark, on one raw botocore client.

Exactly one GetItem per load and one conditional PutItem per save, no model layer, no checks,
no metrics. Same table, same attribute names, same Django encoding as pynamo_sessions, so the
two differ only in what our engine does on top of the bare calls.
"""

from __future__ import annotations

import time
from typing import Any

import botocore.config
import botocore.session
from django.conf import settings
from django.contrib.sessions.backends.base import VALID_KEY_CHARS, CreateError, SessionBase, UpdateError
from django.utils.crypto import get_random_string

_client: Any = None


def client() -> Any:
    global _client
    if _client is None:
        _client = botocore.session.get_session().create_client(
            "dynamodb",
            region_name=settings.DYNAMODB_REGION,
            endpoint_url=settings.DYNAMODB_LOCAL_ENDPOINT,
            config=botocore.config.Config(
                parameter_validation=False, connect_timeout=1, read_timeout=2, max_pool_connections=50,
                retries={"mode": "standard", "total_max_attempts": 3},
            ),
        )
    return _client


class SessionStore(SessionBase):
    def load(self) -> dict[str, Any]:
        answer = client().get_item(
            TableName=settings.DYNAMODB_SESSIONS_TABLE, Key={"id": {"S": self.session_key}},
            ConsistentRead=True, ReturnConsumedCapacity="TOTAL",
        )
        item = answer.get("Item")
        if item is None or float(item["ttl"]["N"]) <= time.time():
            self._session_key = None
            return {}
        return self.decode(item["session_data"]["S"])  # type: ignore[no-any-return]

    def exists(self, session_key: str | None) -> bool:
        raise NotImplementedError("the reference never checks before creating")

    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)

    def create(self) -> None:
        while True:
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        condition = "attribute_not_exists(id)" if must_create else "attribute_exists(id)"
        try:
            client().put_item(
                TableName=settings.DYNAMODB_SESSIONS_TABLE,
                Item={
                    "id": {"S": self.session_key},
                    "session_data": {"S": self.encode(data)},
                    "ttl": {"N": str(int(self.get_expiry_date().timestamp()))},
                },
                ConditionExpression=condition, ReturnConsumedCapacity="TOTAL",
            )
        except client().exceptions.ConditionalCheckFailedException as exc:
            raise (CreateError if must_create else UpdateError) from exc

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        if key is None:
            return
        client().delete_item(
            TableName=settings.DYNAMODB_SESSIONS_TABLE, Key={"id": {"S": key}}, ReturnConsumedCapacity="TOTAL",
        )

    @classmethod
    def clear_expired(cls) -> None:
        pass
