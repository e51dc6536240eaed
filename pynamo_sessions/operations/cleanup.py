"""The expired-session sweep behind ``clearsessions``, for tables without TTL.

With TTL enabled DynamoDB deletes expired items itself, for free, and reads already ignore
expired items it has not reached yet, so the sweep does nothing. Without TTL (DynamoDB Local,
a table made by hand) it runs a parallel segmented scan that returns only the keys of expired
items, and deletes each on the condition that it is still expired: a session refreshed between
the scan and the delete stays. With DYNAMODB_SESSIONS_REGIONS it deletes only the sessions homed
in its own Region (and those without a home): run it in each Region.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from pynamo_sessions import conf
from pynamo_sessions.exceptions import (
    DYNAMODB_ERRORS,
    SessionStorageError,
    SessionThrottled,
    is_condition_failure,
    storage_error,
)
from pynamo_sessions.operations import provision
from pynamo_sessions.operations.tally import Tally
from pynamo_sessions.store import keys, models

logger = logging.getLogger("pynamo_sessions")

# After botocore's own retries are spent, a throttled sweep waits and resumes this many times
# before it gives up, doubling the wait from BACKOFF_START seconds.
MAX_BACKOFFS = 8
BACKOFF_START = 0.5


@dataclass(frozen=True)
class Sweep:
    """How far a sweep got: expired items found, deleted, and kept because they were refreshed."""

    found: int = 0
    deleted: int = 0
    refreshed: int = 0
    throttled: int = 0
    seconds: float = 0.0
    skipped: str | None = None

    @property
    def rate(self) -> float:
        return self.deleted / self.seconds if self.seconds else 0.0


def clear_expired(
    *,
    segments: int = 4,
    progress: Callable[[Sweep], None] | None = None,
    interval: float = 0.5,
    ignore_ttl: bool = False,
) -> Sweep:
    """Delete every expired session; returns what was done.

    ``progress`` is called about every ``interval`` seconds from the calling thread.
    ``ignore_ttl`` sweeps even when TTL is enabled (to purge a backlog at once).
    """
    snapshot = conf.current()
    if not ignore_ttl:
        status, attribute = provision.ttl_attribute()
        if status in provision.TTL_ON and attribute == snapshot.attr_ttl:
            reason = (
                f"TTL is {status.lower()} on {attribute!r}: DynamoDB deletes expired sessions "
                "itself at no cost, and reads already treat them as gone. Nothing to do."
            )
            logger.info(reason)
            return Sweep(skipped=reason)
    model = models.bound_model(admin=True)
    now = datetime.now(UTC)
    tally = Tally(Sweep())
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=segments, thread_name_prefix="clearsessions") as pool:
        futures = [
            pool.submit(_sweep_segment, model, snapshot, segment, segments, now, tally)
            for segment in range(segments)
        ]
        while not all(f.done() for f in futures):
            time.sleep(interval if progress else 0.05)
            if progress:
                progress(replace(tally.value, seconds=time.perf_counter() - started))
        for future in futures:
            future.result()  # re-raise the first worker's error, if any
    result = replace(tally.value, seconds=time.perf_counter() - started)
    logger.info(
        "clearsessions: %d expired sessions deleted, %d refreshed meanwhile and kept, in %.1fs.",
        result.deleted, result.refreshed, result.seconds,
    )
    return result


def _sweep_segment(
    model: type[models.SessionItem],
    snapshot: conf.Snapshot,
    segment: int,
    total_segments: int,
    now: datetime,
    tally: Tally[Sweep],
) -> None:
    last_key: dict[str, Any] | None = None
    backoffs = 0
    while True:
        expired = model.expires <= now
        if snapshot.key_prefix:  # the site's own items only: other sites share the table
            expired &= model.key.startswith(snapshot.key_prefix)
        items = model.scan(
            expired,
            segment=segment,
            total_segments=total_segments,
            last_evaluated_key=last_key,
            attributes_to_get=[snapshot.attr_id],
        )
        try:
            for item in items:
                if keys.home_of_item(item.key, snapshot) is not None:
                    # Homed in another Region (DYNAMODB_SESSIONS_REGIONS): this replica may not
                    # have seen the save that refreshed it yet, and its deletion would win over
                    # that save; the sweep in its home Region deletes it.
                    continue
                tally.add(found=1)
                _delete_if_expired(model, snapshot, item.key, now, tally)
                last_key = items.last_evaluated_key
            return
        except DYNAMODB_ERRORS as exc:
            error = storage_error("Scan", snapshot.table_name, exc)
            if not isinstance(error, SessionThrottled) or backoffs == MAX_BACKOFFS:
                raise error from exc
            tally.add(throttled=1)
            time.sleep(BACKOFF_START * 2**backoffs)
            backoffs += 1  # resume the scan after the last item handled


def _delete_if_expired(
    model: type[models.SessionItem],
    snapshot: conf.Snapshot,
    key: str,
    now: datetime,
    tally: Tally[Sweep],
) -> None:
    for backoff in range(MAX_BACKOFFS + 1):
        try:
            model(key).delete(condition=model.expires <= now, add_version_condition=False)
        except DYNAMODB_ERRORS as exc:
            if is_condition_failure(exc):
                tally.add(refreshed=1)
                return
            error: SessionStorageError = storage_error("DeleteItem", snapshot.table_name, exc)
            if not isinstance(error, SessionThrottled) or backoff == MAX_BACKOFFS:
                raise error from exc
            tally.add(throttled=1)
            time.sleep(BACKOFF_START * 2**backoff)
        else:
            tally.add(deleted=1)
            return
