"""Per-call DynamoDB usage, for teams that feed it to CloudWatch, StatsD or Prometheus.

After each DynamoDB call the backend makes, it sends the ``dynamodb_call`` signal and calls
DYNAMODB_SESSIONS_METRICS_CALLBACK (if set) with a ``Call``. With no receiver and no callback
this costs one attribute lookup per call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.dispatch import Signal
from django.utils.module_loading import import_string

from pynamo_sessions import conf

logger = logging.getLogger("pynamo_sessions")

#: Sent with ``call=Call(...)`` after every DynamoDB call the session backend makes.
dynamodb_call = Signal()


@dataclass(frozen=True)
class Call:
    """One DynamoDB call made by the backend.

    ``outcome`` is ``"ok"``, ``"missing"`` (GetItem found nothing), ``"condition_failed"``
    (a conditional write lost a race, or a key collided) or ``"error"``.
    ``capacity_units`` is what DynamoDB reported for writes and deletes, and for reads the
    figure computed from the item's size by DynamoDB's rule (PynamoDB's ``get`` does not
    return the consumed capacity); None when the call failed.
    ``conflict`` is None, except on the calls that settle a save that conflicted with another
    request's save of the same session: ``"reread"`` on the GetItem that reads it again (its
    outcome ``"missing"`` means it was deleted meanwhile, and the save gives way) and
    ``"merged"`` on the PutItem that writes the merge (``"ok"``: settled; ``"condition_failed"``:
    another round).
    """

    operation: str
    table: str
    duration: float
    outcome: str
    capacity_units: float | None = None
    conflict: str | None = None


@lru_cache(maxsize=8)
def _callback(path: str) -> Callable[[Call], Any]:
    return import_string(path)  # type: ignore[no-any-return]


def wanted(snapshot: conf.Snapshot) -> bool:
    """Whether anyone listens, so that callers can skip computing what only listeners need."""
    return bool(dynamodb_call.receivers) or snapshot.metrics_callback is not None


def report(
    operation: str,
    table: str,
    started: float,
    outcome: str,
    capacity_units: float | None = None,
    *,
    snapshot: conf.Snapshot,
    conflict: str | None = None,
) -> None:
    if not wanted(snapshot):
        return
    callback = snapshot.metrics_callback
    call = Call(operation, table, time.perf_counter() - started, outcome, capacity_units, conflict)
    dynamodb_call.send(sender=Call, call=call)
    if callback is not None:
        function = _callback(callback) if isinstance(callback, str) else callback
        try:
            function(call)
        except Exception:
            # Metrics must never fail a user's request.
            logger.exception("DYNAMODB_SESSIONS_METRICS_CALLBACK raised; the call is not recorded")


def consumed_capacity(response: Any) -> float | None:
    """The total capacity units in a PutItem/DeleteItem response (PynamoDB asks for TOTAL)."""
    if isinstance(response, dict):
        consumed = response.get("ConsumedCapacity")
        if isinstance(consumed, dict):
            units = consumed.get("CapacityUnits")
            if isinstance(units, (int, float)):
                return float(units)
    return None
