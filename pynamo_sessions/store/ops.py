"""The requests a session store makes, and how their answers read: no I/O here.

The store's logic (which key, which condition, what the item holds, what an answer means) is
written once, as generators that yield these operations and receive their results. A sync
driver carries each one out with the PynamoDB model, an async driver with an async DynamoDB
client, so the two transports cannot drift apart: they only send.

    def _load_steps(self) -> Steps[dict[str, Any]]:
        item = yield Get(item_key)          # the driver sends it, then resumes with the item
        ...
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator, Mapping
from typing import Any, Generic, NamedTuple, TypeVar

from pynamo_sessions import conf
from pynamo_sessions.exceptions import REPLICATED_CONFLICT as REPLICATED_CONFLICT_CODE
from pynamo_sessions.exceptions import is_write_conflict, response_code, was_resent
from pynamo_sessions.store import calls, models, usage, wire

T = TypeVar("T")

OK = "ok"
CONDITION_FAILED_OUTCOME = "condition_failed"
#: A failed condition on a request botocore had sent before: the first send may have been
#: carried out, its answer lost, so the condition may have met this very write.
RESENT_CONDITION_FAILED = "condition_failed_on_resend"
#: An MRSC global table's ReplicatedWriteConflictException past botocore's retries: another
#: Region's write to the item was being replicated. Settled as a failed condition is, but the
#: re-read may still show the version this write was conditioned on.
REPLICATED_CONFLICT = "replicated_write_conflict"

# The part a call plays in settling a save that conflicted with another request's (reported as
# ``usage.Call.conflict``): the GetItem that reads the session again ("missing" means it was
# deleted meanwhile, and deletion wins), and the PutItem that writes the merge.
REREAD = "reread"
MERGED = "merged"

#: Rounds of re-read, merge and conditional write a save makes before it gives up. A browser
#: opens about 6 connections per host, and each may be saving: every round lets at least one
#: writer through, and the jittered pauses spread the others out, so 8 parallel writers on one
#: session all get through well within this.
MERGE_ROUNDS = 40
_PAUSE_START = 0.002
_PAUSE_CAP = 0.02


# The operations are named tuples rather than dataclasses: every cold start creates these
# classes, and a dataclass costs about five times as much to create (on AWS Lambda that is paid
# by a user waiting; see bench/coldstart). Fields never change and no two kinds are compared.


class Get(NamedTuple):
    """GetItem: answers the item, or None when there is none."""

    item_key: str
    conflict: str | None = None
    region: str | None = None  # the session's home Region, when not this process's (keys.home_of_item)

    @property
    def operation(self) -> str:
        return "GetItem"


class Put(NamedTuple):
    """PutItem on a condition: answers ``OK``, ``CONDITION_FAILED_OUTCOME`` or, when botocore had
    sent it before, ``RESENT_CONDITION_FAILED``.

    The item's version attribute adds its own condition (the version it was read at, or none
    for an item that has no version yet) and is incremented on success, by PynamoDB's rule.
    """

    item: models.SessionItem
    must_create: bool
    conflict: str | None = None
    region: str | None = None

    @property
    def operation(self) -> str:
        return "PutItem"

    def condition(self) -> Any:
        """Our half of the write's condition; PynamoDB ANDs the version's to it when
        ``add_version_condition``. Creating, a taken key is never overwritten. Updating, the
        item must still exist (a save after a concurrent logout cannot bring the session back)
        at the version read: ``version = :v`` alone says both, as a deleted item has no
        version; an item without a version yet needs the existence test too."""
        model = type(self.item)
        if self.must_create:
            return model.must_not_exist
        return None if self.item.version is not None else model.must_exist

    @property
    def add_version_condition(self) -> bool:
        # A key that does not exist has no version: testing it too would only cost CPU. (The
        # version is written all the same: 1.)
        return not self.must_create

    def request(self) -> dict[str, Any]:
        """The PutItem kwargs both drivers send: ``store.wire``'s, or for an item of another
        shape PynamoDB's own builder's (and its errors), as ``save()`` would send them."""
        request = wire.put_request(self.item, self.must_create)
        if request is None:
            args, kwargs = self.item._get_save_args(condition=self.condition(),
                                                    add_version_condition=self.add_version_condition)
            kwargs["key"] = "Item"
            request = type(self.item)._get_connection().get_operation_kwargs(*args, **kwargs)
        return request


class Delete(NamedTuple):
    """DeleteItem: answers None."""

    item_key: str
    region: str | None = None

    @property
    def operation(self) -> str:
        return "DeleteItem"

    @property
    def conflict(self) -> None:
        return None  # a deletion always wins: it never conflicts


class Pause(NamedTuple):
    """Wait ``seconds`` (``time.sleep`` or ``asyncio.sleep``) before the next round."""

    seconds: float


# The cached engine's cache calls, worded on failure as Django's cached_db words them.
_CACHE_FAILURES = {
    "get_many": "Error reading from cache",
    "set": "Error saving to cache",
    "add": "Error saving to cache",
    "set_many": "Error saving to cache",
    "delete": "Error deleting from cache",
    "delete_many": "Error deleting from cache",
}


class CacheOp(NamedTuple):
    """A call of Django's cache API: ``method`` (``"a" + method``, its async twin) with ``args``.
    Made with ``cache()``, which refuses a method the stores do not make. A failure is logged
    as Django's cached_db logs it and then ignored (the read misses, the write is skipped),
    unless ``required``: then the steps get the error (a deletion that the cache did not hear
    of is not final)."""

    method: str
    args: tuple[Any, ...]
    required: bool = False

    @property
    def failure(self) -> str:
        """How the log line for a failure of this call starts."""
        return _CACHE_FAILURES[self.method]


def cache(method: str, *args: Any, required: bool = False) -> CacheOp:
    """``yield ops.cache("set", key, value, timeout)``."""
    if method not in _CACHE_FAILURES:
        raise ValueError(f"Not a cache call the stores make: {method!r}.")
    return CacheOp(method, args, required)


DynamoDBOp = Get | Put | Delete
Op = DynamoDBOp | CacheOp | Pause
Steps = Generator[Op, Any, T]


class Run(Generic[T]):
    """One run of steps: hands out the next operation and takes its outcome. An operation's
    error is raised inside the steps, where they decide what it means."""

    def __init__(self, steps: Generator[Any, Any, T]) -> None:
        self._steps = steps
        self._result: Any = None
        self._error: Exception | None = None
        self.value: T | None = None

    def next(self) -> Any:
        """The next operation to carry out, or None when the steps are done (see ``value``)."""
        try:
            if self._error is None:
                return self._steps.send(self._result)
            return self._steps.throw(self._error)
        except StopIteration as done:
            self.value = done.value
            return None

    def answered(self, result: Any) -> None:
        self._result, self._error = result, None

    def failed(self, error: Exception) -> None:
        self._result, self._error = None, error


def drive(steps: Steps[T], perform: Callable[[Op], Any]) -> T:
    """Run ``steps`` to the end, carrying out each operation with ``perform``. (The async
    driver, ``SessionStore._arun``, is this loop with an ``await``.)"""
    run = Run(steps)
    while (op := run.next()) is not None:
        try:
            run.answered(perform(op))
        except Exception as exc:  # noqa: BLE001 - handed to the steps, which re-raise what they do not handle
            run.failed(exc)
    return run.value  # type: ignore[return-value]


# What a call asks for, the same for both transports. -----------------------------------------

def capacity_to_return(snapshot: conf.Snapshot) -> str:
    """The ReturnConsumedCapacity of a call: DynamoDB's figure only when a metrics receiver or
    callback will read it (``usage.wanted``). Asking costs nothing in DynamoDB, but every answer
    then carries the figure for botocore to parse: about 2 % of a request's CPU, for no one."""
    return "TOTAL" if usage.wanted(snapshot) else "NONE"


# What an answer means, the same for both transports. -----------------------------------------

def got(attempt: calls.Attempt, item: models.SessionItem | None, snapshot: conf.Snapshot) -> models.SessionItem | None:
    """Report a GetItem's answer (capacity by DynamoDB's rule, as GetItem reports none)."""
    if item is None:
        attempt.answered("missing", models.capacity_units(0, consistent=snapshot.consistent_read))
        return None
    capacity = None
    if usage.wanted(snapshot):
        capacity = models.capacity_units(item.size(), consistent=snapshot.consistent_read)
    attempt.answered("ok", capacity)
    return item


def put_failed(attempt: calls.Attempt, exc: BaseException) -> str:
    """A failed PutItem: a failed condition is an answer, and so is an MRSC table's replicated
    write conflict (the save re-reads and merges, as for a version it did not read; the breaker
    counts neither); anything else raises our error."""
    if not is_write_conflict(exc):
        raise attempt.failed(exc) from exc
    attempt.answered(CONDITION_FAILED_OUTCOME)
    if response_code(exc) == REPLICATED_CONFLICT_CODE:
        return REPLICATED_CONFLICT
    return RESENT_CONDITION_FAILED if was_resent(exc) else CONDITION_FAILED_OUTCOME


def written(attempt: calls.Attempt, response: Any) -> str:
    attempt.answered("ok", usage.consumed_capacity(response))
    return OK


# Parallel saves of one session. -------------------------------------------------------------

def merge(
    base: Mapping[str, Any] | None, ours: Mapping[str, Any], theirs: Mapping[str, Any]
) -> tuple[dict[str, Any], frozenset[str]]:
    """Three-way merge of session data, as git merges a file: the keys this request changed
    (``ours`` against ``base``, what it loaded) applied on top of what is stored now
    (``theirs``). Returns the data to write and the keys this request changed.

    A key is changed when it was set, deleted, or is no longer equal to what was loaded (so
    ``session["cart"].append(x)`` counts; ``base`` must be decoded afresh, never share objects
    with ``ours``). Keys this request left alone keep what other requests wrote; a key both
    changed takes this request's value, the later save winning as it always has. With no
    ``base`` (the request replaced the session without loading it) ``ours`` is the whole
    session.
    """
    if base is None:
        return dict(ours), frozenset(ours.keys() | theirs.keys())
    changed = frozenset(
        key for key in base.keys() | ours.keys()
        if key not in base or key not in ours or ours[key] != base[key]
    )
    merged = dict(theirs)
    for key in changed:
        if key in ours:
            merged[key] = ours[key]
        else:
            merged.pop(key, None)
    return merged, changed


def pause_before(round_number: int) -> float:
    """The jittered pause before merge round ``round_number`` (2, 3, ...): up to 2 ms, doubling
    to at most 20 ms, drawn at random so that writers that collided do not collide again."""
    return random.uniform(0, min(_PAUSE_CAP, _PAUSE_START * 2 ** (round_number - 2)))
