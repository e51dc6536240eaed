"""The floor: the least a DynamoDB session engine can do, on raw botocore, as a careful user
would write it by hand (one client, built at import; the snippet's item format). Not a product:
no conditional writes, no outage handling; what every cold start must pay at the least."""

from __future__ import annotations

import time
from typing import Any

import botocore.session
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase

_client = botocore.session.get_session().create_client(
    "dynamodb", region_name=settings.DYNAMODB_REGION, endpoint_url=settings.DYNAMODB_LOCAL_ENDPOINT,
)
_TABLE = settings.DYNAMODB_SESSIONS_TABLE


class SessionStore(SessionBase):
    def load(self) -> dict[str, Any]:
        if self.session_key is None:
            return {}
        item = _client.get_item(TableName=_TABLE, Key={"id": {"S": self.session_key}}, ConsistentRead=True).get("Item")
        if item is None or int(item["ttl"]["N"]) <= time.time():
            self._session_key = None
            return {}
        return self.decode(item["session_data"]["S"])

    def exists(self, session_key: str | None) -> bool:
        return session_key is not None and "Item" in _client.get_item(TableName=_TABLE, Key={"id": {"S": session_key}})

    def create(self) -> None:
        self._session_key = self._get_new_session_key()
        self.save(must_create=True)
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self.encode(self._get_session(no_load=must_create))
        item = {"id": {"S": self.session_key}, "session_data": {"S": data},
                "ttl": {"N": str(int(self.get_expiry_date().timestamp()))}}
        try:
            _client.put_item(TableName=_TABLE, Item=item,
                             **({"ConditionExpression": "attribute_not_exists(id)"} if must_create else {}))
        except _client.exceptions.ConditionalCheckFailedException:
            raise CreateError from None
        return None

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        if key is not None:
            _client.delete_item(TableName=_TABLE, Key={"id": {"S": key}})

    @classmethod
    def clear_expired(cls) -> None:
        pass
