"""One DynamoDB call on the request path, as every transport makes it.

Before the call, the process's circuit breaker is asked whether to send it at all; after it,
the outcome is counted, reported to the metrics hooks and, for a failure, translated into the
error a user can act on and logged. The transports (the PynamoDB model for sync code, an async
client for async code) only send: what a call's outcome means is decided here, once.

    attempt = calls.begin("GetItem", snapshot)      # raises SessionStoreUnavailable when open
    try:
        item = model.get(...)
    except DYNAMODB_ERRORS as exc:
        raise attempt.failed(exc) from exc
    attempt.answered("ok", capacity)
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from pynamo_sessions import conf
from pynamo_sessions.exceptions import SessionStorageError, SessionStoreUnavailable, storage_error
from pynamo_sessions.store import usage
from pynamo_sessions.store.breaker import CLOSED, OPEN, Breaker, BreakerOpen, Transition

logger = logging.getLogger("pynamo_sessions")

_current: tuple[conf.Snapshot, Breaker] | None = None
# Each other Region's replica fails on its own: one breaker each (DYNAMODB_SESSIONS_REGIONS).
_regional: dict[str, tuple[conf.Snapshot, Breaker]] = {}
_lock = threading.Lock()


def _new_breaker(snapshot: conf.Snapshot) -> Breaker:
    return Breaker(threshold=snapshot.breaker_threshold, window=snapshot.breaker_window,
                   cooldown=snapshot.breaker_cooldown)


def breaker(snapshot: conf.Snapshot | None = None, region: str | None = None) -> Breaker:
    """This process's breaker for the configured table (or, with ``region``, for that Region's
    replica); a new one whenever a setting changes."""
    global _current
    snapshot = snapshot or conf.current()
    if region is not None:
        found = _regional.get(region)
        if found is None or found[0] is not snapshot:
            with _lock:
                found = _regional.get(region)
                if found is None or found[0] is not snapshot:
                    found = _regional[region] = (snapshot, _new_breaker(snapshot))
        return found[1]
    current = _current
    if current is not None and current[0] is snapshot:
        return current[1]
    with _lock:
        if _current is None or _current[0] is not snapshot:
            _current = (snapshot, _new_breaker(snapshot))
        return _current[1]


def reset_breaker() -> None:
    """Start afresh with a closed breaker (after a SnapStart restore: the counts are another
    process's past)."""
    global _current
    with _lock:
        _current = None
        _regional.clear()


class Attempt:
    """A call that the breaker let through; report how it went exactly once."""

    __slots__ = ("breaker", "conflict", "operation", "region", "snapshot", "started")

    def __init__(self, operation: str, snapshot: conf.Snapshot, breaker: Breaker, conflict: str | None = None,
                 region: str | None = None) -> None:
        self.operation = operation
        self.snapshot = snapshot
        self.breaker = breaker
        self.conflict = conflict
        self.region = region
        self.started = time.perf_counter()

    def answered(self, outcome: str, capacity_units: float | None = None) -> None:
        """DynamoDB answered: ``"ok"``, ``"missing"`` or ``"condition_failed"`` (a failed
        condition is a normal answer, never a failure of the store)."""
        _log(self.breaker.record(failed=False), self.snapshot, self.region)
        usage.report(self.operation, self.snapshot.table_name, self.started, outcome, capacity_units,
                     snapshot=self.snapshot, conflict=self.conflict)

    def failed(self, exc: BaseException) -> SessionStorageError:
        """The call failed: count it, report and log it, and return the error to raise."""
        table = self.snapshot.table_name
        usage.report(self.operation, table, self.started, "error", snapshot=self.snapshot, conflict=self.conflict)
        snapshot = self.snapshot
        error = storage_error(self.operation, table, exc, key_attribute=snapshot.attr_id, index=snapshot.user_index)
        if self.region is None:
            logger.error("Session %s failed: %s", self.operation, error)
        else:
            logger.error("Session %s in the home Region %s failed: %s", self.operation, self.region, error)
        _log(self.breaker.record(failed=error.outage), self.snapshot, self.region)
        return error


def begin(operation: str, snapshot: conf.Snapshot, conflict: str | None = None,
          region: str | None = None) -> Attempt:
    """Ask the breaker (of ``region``'s replica, else this process's) for ``operation``; raises
    SessionStoreUnavailable while it is open. ``conflict`` is reported with the call (see
    ``usage.Call``)."""
    current = breaker(snapshot, region)
    try:
        _log(current.before_call(), snapshot, region)
    except BreakerOpen as exc:
        raise unavailable(operation, snapshot, exc.retry_after, region) from None
    return Attempt(operation, snapshot, current, conflict, region)


def unavailable(operation: str, snapshot: conf.Snapshot, seconds: float,
                region: str | None = None) -> SessionStoreUnavailable:
    retry_after = max(1, round(seconds))
    until = datetime.now(UTC) + timedelta(seconds=seconds)
    where = "" if region is None else f" in the session's home Region {region}"
    return SessionStoreUnavailable(
        f"The session store is considered unavailable: calls to DynamoDB table "
        f"{snapshot.table_name!r}{where} failed repeatedly, so this {operation} was not sent. One trial "
        f"call will be let through in {retry_after} s (at {until:%H:%M:%S} UTC). "
        "DYNAMODB_SESSIONS_BREAKER_THRESHOLD, DYNAMODB_SESSIONS_BREAKER_WINDOW and "
        "DYNAMODB_SESSIONS_BREAKER_COOLDOWN set when the breaker opens and for how long.",
        operation=operation, retry_after=retry_after, until=until,
    )


def retry_after() -> int:
    """What a 503's Retry-After should say now: the cool-down left, or a second."""
    return breaker().retry_after()


def _log(transition: Transition | None, snapshot: conf.Snapshot, region: str | None = None) -> None:
    if transition is None:
        return
    table = repr(snapshot.table_name) + ("" if region is None else f" in {region}")
    if transition.state == OPEN:
        logger.warning(
            "Session store circuit breaker opened: %d of %d calls to DynamoDB table %s failed in "
            "the last %g s; session calls fail at once for the next %g s.",
            transition.failures, transition.calls, table, snapshot.breaker_window, transition.retry_after,
        )
    elif transition.state == CLOSED:
        logger.warning("Session store circuit breaker closed: DynamoDB table %s answers again.", table)
    else:
        logger.warning("Session store circuit breaker probing: one trial call to DynamoDB table %s.", table)
