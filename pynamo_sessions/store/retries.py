"""botocore's retries, kept from turning one hot key into a slowdown for every session.

botocore's standard retry mode keeps one retry quota per client (500 units; a throttled retry
costs 5 and is never given back when it fails again), and the process has one client, shared
by every thread. A visitor whose own session key is throttled (DynamoDB's per-partition limit,
``*KeyRangeThroughputExceeded``) would drain it in about a hundred requests, after which no
call of any other visitor is retried: a blip that a retry would have hidden becomes a 503, and
counts towards the circuit breaker. (The adaptive mode is worse still: its client-side rate
limiter slows every call of the process as soon as any is throttled, which is why it is not
offered.) So a hot key's throttling is retried here, with botocore's backoff and as many
attempts as configured, without touching the shared quota; every other answer goes to botocore's
own handler as before.
"""

from __future__ import annotations

import random
from typing import Any

from pynamo_sessions.exceptions import THROTTLING_CODES, is_hot_key, reasons_in

_HANDLER_ID = "retry-config-dynamodb"  # what botocore (and aiobotocore) name their retry handler
_EVENT = "needs-retry.dynamodb"
_BACKOFF_BASE = 0.05  # botocore's standard mode: up to base x 2^attempt, at most 20 s
_BACKOFF_CAP = 20.0


def is_hot_key_answer(response: Any) -> bool:
    """Whether a response (botocore's ``(http, parsed)``) is throttling of one key only."""
    if not isinstance(response, tuple) or len(response) != 2 or not isinstance(response[1], dict):
        return False
    parsed = response[1]
    code = (parsed.get("Error") or {}).get("Code")
    return code in THROTTLING_CODES and is_hot_key(reasons_in(parsed))


def hot_key_delay(attempts: int, max_attempts: int) -> float | None:
    """The pause before retrying a hot key's throttled call, or None when the attempts are spent."""
    if attempts >= max_attempts:
        return None
    return random.uniform(0, min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** attempts))


def spare_quota_on_hot_keys(client: Any, max_attempts: int) -> None:
    """Put our handler in front of ``client``'s retry handler (botocore's private registry:
    botocore offers no public way to wrap it). Idempotent; a client without the handler (another
    retry mode, a botocore that names it otherwise) is left as it is."""
    emitter = getattr(client.meta.events, "_emitter", client.meta.events)
    registered = getattr(emitter, "_unique_id_handlers", {}).get(_HANDLER_ID)
    if registered is None or getattr(registered["handler"], "pynamo_sessions_wrapped", False):
        return
    botocore_handler = registered["handler"]

    def needs_retry(**kwargs: Any) -> Any:
        if is_hot_key_answer(kwargs.get("response")):
            return hot_key_delay(kwargs.get("attempts", max_attempts), max_attempts)
        return botocore_handler(**kwargs)

    needs_retry.pynamo_sessions_wrapped = True  # type: ignore[attr-defined]
    client.meta.events.unregister(_EVENT, unique_id=_HANDLER_ID)
    client.meta.events.register(_EVENT, needs_retry, unique_id=_HANDLER_ID)
