"""Deleting many sessions at once (a user signed out everywhere): the rules, with no I/O.

DynamoDB answers a BatchWriteItem it could only partly carry out with 200 and the requests it
did not do in ``UnprocessedItems``, typically when the table is throttled. A sign-out that
stopped there would leave sessions signed in while the page says "signed out", so this plan
resends what is left with a growing, jittered pause until everything is deleted or the time
allowed runs out, and always knows which keys DynamoDB did delete and which it did not. The
driver (``SessionStore.delete_items``) only sends the chunks it is handed:

    plan = BatchDeletion(item_keys, now=time.monotonic())
    while (chunks := plan.next_round()):
        for chunk in chunks:
            plan.answered(chunk, unprocessed=send(chunk))     # or plan.failed(chunk, error)
        if (pause := plan.pause(time.monotonic())) is None:
            break
        time.sleep(pause)
    plan.raise_if_incomplete()
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence

from pynamo_sessions import conf
from pynamo_sessions.exceptions import RevocationIncomplete, SessionStorageError, SessionThrottled
from pynamo_sessions.store import keys

BATCH_SIZE = 25  # keys per BatchWriteItem, DynamoDB's limit
PARALLEL_BATCHES = 4
#: How long a revocation keeps resending what DynamoDB left unprocessed (or throttled) before it
#: says what it could not do. A page's request waits this long at worst.
RESEND_DEADLINE = 5.0
_PAUSE_START = 0.05
_PAUSE_CAP = 1.0


class BatchDeletion:
    """Which item keys are still to be deleted, which DynamoDB deleted, and what stopped it."""

    def __init__(self, item_keys: Sequence[str], *, now: float, deadline: float | None = None) -> None:
        self.pending: list[str] = list(dict.fromkeys(item_keys))  # once each, in order
        self.deleted: list[str] = []
        self.cause: BaseException | None = None
        self.rounds = 0
        self.deadline = RESEND_DEADLINE if deadline is None else deadline
        self._give_up_at = now + self.deadline
        self._stopped = False

    @property
    def done(self) -> bool:
        return not self.pending

    def next_round(self) -> list[list[str]]:
        """The chunks to send now (at most PARALLEL_BATCHES of BATCH_SIZE), or [] when there is
        nothing left to send or the plan has stopped."""
        if self._stopped or not self.pending:
            return []
        self.rounds += 1
        keys = self.pending[:BATCH_SIZE * PARALLEL_BATCHES]
        return [keys[i:i + BATCH_SIZE] for i in range(0, len(keys), BATCH_SIZE)]

    def answered(self, chunk: Sequence[str], unprocessed: Iterable[str]) -> None:
        """DynamoDB answered ``chunk``, leaving ``unprocessed`` (a subset) undone."""
        left = set(unprocessed)
        done = [key for key in chunk if key not in left]
        self.deleted.extend(done)
        gone = set(done)
        self.pending = [key for key in self.pending if key not in gone]
        if left:
            self.cause = None  # an answer: what stops us now is the deadline, not an error

    def failed(self, chunk: Sequence[str], error: BaseException) -> None:
        """The call for ``chunk`` failed: its keys stay pending. Throttling is resent like an
        unprocessed answer; any other error (no answer, the breaker open, a missing table) stops
        the plan, as resending would only wait for the same error again."""
        self.cause = error
        if not (isinstance(error, SessionThrottled) and not error.hot_key):
            self._stopped = True

    def pause(self, now: float) -> float | None:
        """Seconds to wait before the next round, or None when there is none to be had: all
        done, stopped by an error, or out of time."""
        if self.done or self._stopped:
            return None
        pause = random.uniform(0, min(_PAUSE_CAP, _PAUSE_START * 2 ** (self.rounds - 1)))
        if now + pause >= self._give_up_at:
            return None
        return pause

    def raise_if_incomplete(self) -> None:
        if self.done:
            return
        if self.cause is not None:
            why = str(self.cause)
        else:
            why = (f"DynamoDB answered each of {self.rounds} attempts with some deletes left unprocessed "
                   f"(UnprocessedItems, as it does when the table is throttled) for {self.deadline:g} s")
        outage = isinstance(self.cause, SessionStorageError) and self.cause.outage
        raise incomplete(list(self.deleted), list(self.pending), why, cause=self.cause, outage=outage)


def incomplete(deleted: list[str], remaining: list[str], why: str, *, cause: BaseException | None,
               outage: bool) -> RevocationIncomplete:
    """The error of a revocation that left ``remaining`` signed in, saying what it did and why."""
    return RevocationIncomplete(
        f"Signed out {len(deleted)} of {len(deleted) + len(remaining)} sessions; {len(remaining)} are STILL "
        f"signed in: {why}. Sign them out again to end the rest (a new attempt finds exactly those).",
        deleted=deleted, remaining=remaining, cause=cause, outage=outage,
    )


def by_home(item_keys: Iterable[str], snapshot: conf.Snapshot) -> dict[str | None, list[str]]:
    """The item keys by the Region each session's deletion must reach (None: this process's): a
    delete in another Region than the home would race a save in flight there, and replication
    would keep whichever came last (DYNAMODB_SESSIONS_REGIONS)."""
    if snapshot.regions is None:
        return {None: list(item_keys)}
    groups: dict[str | None, list[str]] = {}
    for item_key in item_keys:
        groups.setdefault(keys.home_of_item(item_key, snapshot), []).append(item_key)
    return groups


def in_each_region(
    groups: dict[str | None, list[str]], delete: Callable[[str | None, list[str]], list[str]],
) -> list[str]:
    """Run ``delete`` for each Region's keys; what any left undone is raised once, for them all."""
    deleted: list[str] = []
    remaining: list[str] = []
    failures: list[RevocationIncomplete] = []
    for region, group in groups.items():
        try:
            deleted.extend(delete(region, group))
        except RevocationIncomplete as exc:
            deleted.extend(exc.deleted)
            remaining.extend(exc.remaining)
            failures.append(exc)
    if not failures:
        return deleted
    why = "; ".join(str(f.cause) if f.cause is not None else "DynamoDB left some deletes unprocessed" for f in failures)
    raise incomplete(deleted, remaining, why, cause=failures[0].cause, outage=any(f.outage for f in failures))
