"""A circuit breaker for the session store: pure state, no I/O, one per process.

It decides and remembers; it never sends anything, logs anything or sleeps. The sync and the
async transports ask it the same two questions around each DynamoDB call (may I call? here is
how it went) and log the transitions it hands back, so one set of rules serves both.

Closed: calls go through and their outcomes are counted. It opens after ``threshold`` failures
in a row (each one already past botocore's retries), or when the last ``window`` seconds hold at
least ``threshold`` failures that are at least half of their calls. A busy site sees a few
transient errors every minute, between successes, and must not shut its session store over them;
a real outage fails nearly every call. The run of failures is what opens it quickly when
DynamoDB hangs: then no call at all succeeds, but the window still holds the successes from
before the outage.

Open: every call fails at once, without touching the network, until ``cooldown`` seconds have
passed.

Half-open: one trial call is let through; every other call still fails fast. Its success closes
the breaker, its failure opens it again for another cool-down. A trial that never reports (its
thread died) is given up after ``cooldown`` seconds and another one is let through.

We wrote our own rather than use pybreaker: pybreaker wraps the call itself (a sync callable,
or Tornado coroutines), while our async transport needs the decision apart from the sending,
and a breaker this small is easier to read than to adapt.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import NamedTuple

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half-open"

#: Retry-After for a failure while the breaker is still closed: the store may be back at once.
DEFAULT_RETRY_AFTER = 1


class Transition(NamedTuple):
    """A change of state, for the caller to log once."""

    state: str  # the new state
    failures: int  # failures in the window when it opened
    calls: int  # calls in the window when it opened
    retry_after: float  # seconds until the next trial call, when it opened


class BreakerOpen(Exception):
    """Raised by ``Breaker.before_call`` while calls must fail fast."""

    def __init__(self, retry_after: float, transition: Transition | None = None) -> None:
        super().__init__(f"open for {retry_after:.1f} s more")
        self.retry_after = retry_after
        self.transition = transition


class Breaker:
    def __init__(
        self,
        *,
        threshold: int,
        window: float,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.window = window
        self.cooldown = cooldown
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._buckets: deque[list[int]] = deque()  # [second, calls, failures], oldest first
        self._opened_at = 0.0
        self._trial_started: float | None = None
        self._run = 0  # failures since the last success

    @property
    def state(self) -> str:
        return self._state

    def before_call(self) -> Transition | None:
        """Let a call through (returning a transition to log, if this call is a trial), or
        raise ``BreakerOpen`` with the seconds until the next trial."""
        if self._state == CLOSED:  # the common case takes no lock
            return None
        with self._lock:
            now = self._clock()
            if self._state == OPEN:
                left = self._opened_at + self.cooldown - now
                if left > 0:
                    raise BreakerOpen(left)
                self._state, self._trial_started = HALF_OPEN, now
                return Transition(HALF_OPEN, 0, 0, 0.0)
            if self._state == HALF_OPEN:
                started = self._trial_started
                if started is not None and now - started < self.cooldown:
                    raise BreakerOpen(max(self.cooldown - (now - started), DEFAULT_RETRY_AFTER))
                self._trial_started = now  # the last trial never reported: try again
                return Transition(HALF_OPEN, 0, 0, 0.0)
            return None

    def record(self, *, failed: bool) -> Transition | None:
        """Count one call's outcome; return the transition it caused, if any."""
        if self.threshold <= 0:
            return None  # the breaker is switched off
        with self._lock:
            now = self._clock()
            if self._state == HALF_OPEN:
                if failed:
                    return self._open(now, 1, 1)
                self._state, self._trial_started = CLOSED, None
                self._buckets.clear()
                return Transition(CLOSED, 0, 0, 0.0)
            if self._state == OPEN:
                return None  # a slow call that started before it opened
            self._add_call(now, failed)
            if not failed:
                self._run = 0
                return None
            self._run += 1
            calls, failures = sum(b[1] for b in self._buckets), sum(b[2] for b in self._buckets)
            if self._run >= self.threshold or (failures >= self.threshold and failures * 2 >= calls):
                return self._open(now, failures, calls)
            return None

    def retry_after(self) -> int:
        """Whole seconds a client should wait before trying again."""
        with self._lock:
            if self._state == CLOSED:
                return DEFAULT_RETRY_AFTER
            since = self._opened_at if self._state == OPEN else (self._trial_started or self._opened_at)
            left = since + self.cooldown - self._clock()
        return max(DEFAULT_RETRY_AFTER, math.ceil(left))

    def _add_call(self, now: float, failed: bool) -> None:
        """Add the call to its second's bucket, after dropping the seconds past the window."""
        second = int(now)
        buckets = self._buckets
        while buckets and buckets[0][0] <= now - self.window:
            buckets.popleft()
        if not buckets or buckets[-1][0] != second:
            buckets.append([second, 0, 0])
        buckets[-1][1] += 1
        buckets[-1][2] += int(failed)

    def _open(self, now: float, failures: int, calls: int) -> Transition:
        self._state, self._opened_at, self._trial_started = OPEN, now, None
        self._buckets.clear()
        self._run = 0
        return Transition(OPEN, failures, calls, self.cooldown)
