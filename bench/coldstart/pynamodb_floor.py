"""The PynamoDB floor: the floor's engine written on a PynamoDB Model, with the version attribute
and write conditions our engine needs (#16). Not a product: it shows how much of our cost over
the raw-botocore floor is PynamoDB's and how much is ours."""

from __future__ import annotations

import time
from datetime import UTC
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase
from pynamodb.attributes import TTLAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.exceptions import PutError
from pynamodb.models import Model


class _Item(Model):
    class Meta:
        table_name = settings.DYNAMODB_SESSIONS_TABLE
        host = settings.DYNAMODB_LOCAL_ENDPOINT
        region = settings.DYNAMODB_REGION

    key = UnicodeAttribute(hash_key=True, attr_name="id")
    data = UnicodeAttribute(attr_name="session_data")
    expires = TTLAttribute(attr_name="ttl")
    version = VersionAttribute(attr_name="version")


_Item._get_connection().connection.client  # noqa: B018 - built at import, as the floor's client


class SessionStore(SessionBase):
    _item: _Item | None = None

    def load(self) -> dict[str, Any]:
        if self.session_key is None:
            return {}
        try:
            item = _Item.get(self.session_key, consistent_read=True)
        except _Item.DoesNotExist:
            item = None
        if item is None or item.expires.timestamp() <= time.time():
            self._session_key = None
            return {}
        self._item = item
        return self.decode(item.data)

    def exists(self, session_key: str | None) -> bool:
        return session_key is not None and _Item.count(session_key) > 0

    def create(self) -> None:
        self._session_key = self._get_new_session_key()
        self.save(must_create=True)
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        item = _Item(self.session_key) if must_create or self._item is None else self._item
        item.data = self.encode(self._get_session(no_load=must_create))
        item.expires = self.get_expiry_date().astimezone(UTC)
        try:
            item.save(_Item.key.does_not_exist() if must_create else _Item.key.exists())
        except PutError:
            raise CreateError from None
        return None

    def delete(self, session_key: str | None = None) -> None:
        key = session_key or self.session_key
        if key is not None:
            _Item(key).delete(add_version_condition=False)

    @classmethod
    def clear_expired(cls) -> None:
        pass
