"""The absolute lifetime (DYNAMODB_SESSIONS_ABSOLUTE_AGE): when a session's lifetime started and
the deadline that caps both the cookie's max-age and the stored TTL, whatever the activity.

A mixin of the engine's ``SessionStore``: Django's expiry methods, capped; no I/O.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone

from pynamo_sessions import conf


class AbsoluteLifetime(SessionBase):
    """Django's expiry, capped at the deadline of the session's absolute lifetime."""

    _lifetime_start: float | None = None  # epoch seconds, as stored; see _created()

    def _created(self) -> float | None:
        """When this session's lifetime started (epoch seconds, to the millisecond), with
        DYNAMODB_SESSIONS_ABSOLUTE_AGE set: as stored, or now for a session not stored yet.

        The lifetime belongs to the session, not to its key: cycle_key (which Django also calls
        after a SECRET_KEY rotation and in update_session_auth_hash) carries it over. Only a new
        session (after a flush, which a login as another user makes) or a login
        (``start_new_lifetime``, on Django's user_logged_in signal) starts a new one."""
        if conf.current().absolute_age is None:
            return None
        if self._lifetime_start is None:
            self._lifetime_start = round(time.time(), 3)
        return self._lifetime_start

    def start_new_lifetime(self) -> None:
        """Start the absolute lifetime afresh, from now; the next save writes it. Called when a
        user logs in (see ``pynamo_sessions.apps``)."""
        self._lifetime_start = None
        self.modified = True

    def _deadline(self) -> float | None:
        """The epoch second the session stops being valid, exactly as promised at creation."""
        age = conf.current().absolute_age
        created = self._created()
        return None if age is None or created is None else created + age

    def _cap_age(self, age: int) -> int:
        deadline = self._deadline()
        # Rounded up: the cookie may outlive the deadline by under a second (the server refuses
        # the session then), but never dies before it.
        return age if deadline is None else min(age, max(0, math.ceil(deadline - time.time())))

    def _cap_date(self, expiry: datetime) -> datetime:
        deadline = self._deadline()
        if deadline is None:
            return expiry
        # Whole seconds, rounded up, as the TTL attribute stores them: DynamoDB never deletes
        # the item before the deadline.
        cap = datetime.fromtimestamp(math.ceil(deadline), UTC)
        return min(expiry, timezone.make_naive(cap) if timezone.is_naive(expiry) else cap)

    # The cookie's max-age and the stored TTL both stop at the absolute deadline.

    def get_expiry_age(self, **kwargs: Any) -> int:
        return self._cap_age(super().get_expiry_age(**kwargs))

    async def aget_expiry_age(self, **kwargs: Any) -> int:
        return self._cap_age(await super().aget_expiry_age(**kwargs))

    def get_expiry_date(self, **kwargs: Any) -> datetime:
        return self._cap_date(super().get_expiry_date(**kwargs))

    async def aget_expiry_date(self, **kwargs: Any) -> datetime:
        return self._cap_date(await super().aget_expiry_date(**kwargs))
