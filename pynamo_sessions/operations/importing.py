"""Copy the sessions of Django's ``db``/``cached_db`` engines into the DynamoDB table.

Each session keeps its key, its encoded data (both engines encode the same way) and its
expiry, so users stay logged in when SESSION_ENGINE is switched. Every write is conditional:
it creates the item, or replaces one that expires earlier; a session already in DynamoDB that
expires at the same time or later (copied before, or used since the switch) is left alone. That
makes a re-run harmless, and ``start_after`` resumes a long run where it stopped (rows go in
key order, a batch at a time).

An import never re-creates a session that this store has deleted (a logout, a revocation, a
cycle_key) after an earlier run copied it: the old table still holds the row, and copying it
again would sign that browser (perhaps a thief's) back in. Before it writes a session, an import
records that it copied the key in a small item of its own, ``IMPORTED_PREFIX`` + the item key
(no session data, a TTL a cookie age past the session's expiry), which no logout touches. A key
found there is only ever updated where its session still exists, never created again. The record
is written first, so an import interrupted between the two writes can leave a session
uncopied (its user signs in again), never a signed-out one re-created.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import SESSION_KEY as AUTH_USER_KEY
from django.contrib.sessions.backends.base import SessionBase
from django.utils import timezone

from pynamo_sessions import conf
from pynamo_sessions.exceptions import DYNAMODB_ERRORS, PynamoSessionsError, is_condition_failure, storage_error
from pynamo_sessions.operations.tally import Tally
from pynamo_sessions.store import keys, models, sealing

Row = tuple[str, str, datetime]  # session key, encoded data, expiry
RESUME_POINT_LENGTH = 20
#: Where an import records the keys it copied. ':' never appears in a session key a cookie may
#: carry (keys.is_valid), so no cookie can reach one of these items.
IMPORTED_PREFIX = "pynamo_sessions:imported:"


class ResumePointNotFound(PynamoSessionsError):
    """--resume-after names no session that is still in django_session."""


class ImportInterrupted(PynamoSessionsError):
    """An import stopped on an error; ``progress.last_key`` is the last key after which it is
    safe to resume (every row up to it was written), None when no batch was finished."""

    def __init__(self, message: str, progress: Progress) -> None:
        super().__init__(message)
        self.progress = progress


@dataclass(frozen=True)
class Progress:
    """Counts so far; ``last_key`` is the last key copied (print ``resume_point(last_key)``,
    never the key itself)."""

    copied: int = 0
    kept_newer: int = 0
    copied_before: int = 0  # an earlier run copied it; updated only where it still exists
    invalid_key: int = 0
    too_large: int = 0
    expired: int = 0
    last_key: str | None = None
    seconds: float = 0.0

    @property
    def done(self) -> int:
        return self.copied + self.kept_newer + self.copied_before + self.invalid_key + self.too_large


def resume_point(session_key: str) -> str:
    """Where an import stopped, as it is printed: a one-way digest of the last key copied. A
    session key is a bearer credential and must not reach deploy logs or shell history."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:RESUME_POINT_LENGTH]


def key_at(point: str) -> str:
    """The session key whose resume point is ``point`` (keys only, in order, until found)."""
    from django.contrib.sessions.models import Session

    for session_key in Session.objects.order_by("session_key").values_list("session_key", flat=True).iterator():
        if resume_point(session_key) == point:
            return str(session_key)
    raise ResumePointNotFound(
        f"No session in django_session has the resume point {point!r} (it may have expired and "
        "been cleared since). Run the import again without --resume-after: sessions already "
        "copied are kept, as every write is conditional."
    )


def db_rows(*, resume_after: str | None = None, batch_size: int = 1000) -> Iterator[list[Row]]:
    """Live rows of django_session in key order, a batch at a time, after a resume point."""
    from django.contrib.sessions.models import Session

    now = timezone.now()
    last = None if resume_after is None else key_at(resume_after)
    while True:
        query = Session.objects.filter(expire_date__gt=now).order_by("session_key")
        if last is not None:
            query = query.filter(session_key__gt=last)
        batch = list(query.values_list("session_key", "session_data", "expire_date")[:batch_size])
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def expired_db_rows() -> int:
    from django.contrib.sessions.models import Session

    return Session.objects.filter(expire_date__lte=timezone.now()).count()


def import_sessions(
    batches: Iterator[list[Row]],
    *,
    decoder: SessionBase,
    dry_run: bool = False,
    workers: int = 8,
    progress: Callable[[Progress], None] | None = None,
) -> Progress:
    """Write each row's session to DynamoDB; ``decoder`` reads user ids when users are tracked."""
    snapshot = conf.current()
    model = models.bound_model(admin=True)
    tally = Tally(Progress())
    started = time.perf_counter()

    def copy(row: Row) -> None:
        session_key, data, expire_date = row
        if not keys.is_valid(session_key):
            tally.add(invalid_key=1)
            return
        expires = timezone.make_aware(expire_date) if timezone.is_naive(expire_date) else expire_date
        item_key = keys.item_key(session_key, hashed=snapshot.hash_keys, prefix=snapshot.key_prefix)
        stored = sealing.stored_value(data, snapshot, item_key=item_key, attribute="data")
        attributes: dict[str, Any] = {"data": stored, "expires": expires}
        if snapshot.track_users:
            user_id = decoder.decode(data).get(AUTH_USER_KEY)
            if user_id is not None:
                attributes.update(user_id=keys.user_value(user_id, snapshot.key_prefix), updated=int(time.time()))
        item = model(item_key, **attributes)
        if item.size() > models.ITEM_SIZE_LIMIT:
            tally.add(too_large=1)
            return
        if dry_run:
            tally.add(copied=1)
            return
        first_time = _record(model, item.key, expires, snapshot)
        # The first copy creates the item or replaces an older one; a later run only brings an
        # older copy up to date, and never brings back an item that was deleted since.
        older = model.expires < expires
        condition = (model.must_not_exist | older) if first_time else (model.must_exist & older)
        if not _put(item, condition, snapshot):
            if first_time:
                tally.add(kept_newer=1)
            else:
                tally.add(copied_before=1)
            return
        tally.add(copied=1)

    try:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="importsessions") as pool:
            for batch in batches:
                # A whole batch is written before the next starts, so last_key is a safe resume point.
                list(pool.map(copy, batch))
                tally.update(last_key=batch[-1][0], seconds=time.perf_counter() - started)
                if progress:
                    progress(tally.value)
    except PynamoSessionsError as exc:
        done = replace(tally.value, seconds=time.perf_counter() - started)
        raise ImportInterrupted(str(exc), done) from exc
    return replace(tally.value, seconds=time.perf_counter() - started)


def _record(model: type[models.SessionItem], item_key: str, expires: datetime, snapshot: conf.Snapshot) -> bool:
    """Record that an import copies ``item_key``; True when no import had copied it before."""
    # A row's expiry moves on while old servers still save it, and the record must outlive it.
    until = max(expires, timezone.now()) + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    record = keys.internal(IMPORTED_PREFIX, item_key, snapshot.key_prefix)
    empty = sealing.stored_value("", snapshot, item_key=record, attribute="data")
    return _put(model(record, data=empty, expires=until), model.must_not_exist, snapshot)


def _put(item: models.SessionItem, condition: Any, snapshot: conf.Snapshot) -> bool:
    """Write ``item`` on ``condition``; False when the condition failed."""
    try:
        item.save(condition=condition, add_version_condition=False)
    except DYNAMODB_ERRORS as exc:
        if is_condition_failure(exc):
            return False
        raise storage_error("PutItem", snapshot.table_name, exc) from exc
    return True
