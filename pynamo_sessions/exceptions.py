"""The errors pynamo_sessions raises, and how a PynamoDB failure becomes one of them.

Only a failed condition is a normal outcome of a session write (Django's CreateError or
UpdateError). Everything else DynamoDB can do to a request, throttling, a timeout, a lost
connection, a missing table, surfaces as a ``SessionStorageError`` that says what to check: a
session store must never turn an outage into an empty session that the next save writes over
real data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    HTTPClientError,
    NoCredentialsError,
    NoRegionError,
)
from botocore.exceptions import (
    ConnectionError as BotocoreConnectionError,
)
from pynamodb.exceptions import PynamoDBException, VerboseClientError

CONDITION_FAILED = "ConditionalCheckFailedException"
#: What a failed DynamoDB call through PynamoDB can raise: PynamoDB's errors, and botocore's own
#: when the client cannot even be built (no region), which PynamoDB does not wrap.
DYNAMODB_ERRORS = (PynamoDBException, BotoCoreError)
THROTTLING_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "LimitExceededException",
    }
)


class PynamoSessionsError(Exception):
    """Base class of every error pynamo_sessions raises on its own account."""


class SessionStorageError(PynamoSessionsError):
    """A DynamoDB call failed for a reason other than a failed condition.

    ``operation`` is the DynamoDB operation (``"GetItem"``), ``code`` DynamoDB's error code when
    it answered at all (``None`` for a timeout or a lost connection), ``__cause__`` the original
    PynamoDB/botocore exception. ``outage`` is True when the failure says DynamoDB is down,
    slow or overloaded (no answer, a 5xx, throttling past the retries) rather than that a
    setting, a permission or the table is wrong: only outages count towards the circuit
    breaker, and only they put a session in degraded mode.
    """

    def __init__(self, message: str, *, operation: str, code: str | None = None, outage: bool = False) -> None:
        super().__init__(message)
        self.operation = operation
        self.code = code
        self.outage = outage


class SessionStoreUnavailable(SessionStorageError):
    """The circuit breaker is open: DynamoDB failed repeatedly, so calls fail at once for now.

    ``retry_after`` is the whole seconds until the next trial call (what the 503 response's
    Retry-After header says), ``until`` when that is.
    """

    def __init__(self, message: str, *, operation: str, retry_after: int, until: datetime) -> None:
        super().__init__(message, operation=operation, outage=True)
        self.retry_after = retry_after
        self.until = until


class SessionThrottled(SessionStorageError):
    """DynamoDB kept throttling after the configured retries.

    ``hot_key`` is True when DynamoDB said only this item's key was over its per-partition
    limit (``*KeyRangeThroughputExceeded``): one session read or written too fast, not the
    table. That is not an outage: it never counts towards the circuit breaker.
    """

    def __init__(self, message: str, *, operation: str, code: str | None = None, outage: bool = False,
                 hot_key: bool = False) -> None:
        super().__init__(message, operation=operation, code=code, outage=outage)
        self.hot_key = hot_key


class SessionStoreMisconfigured(SessionStorageError):
    """The table, its user index or its key is not what the settings describe: a mistake to fix,
    not an outage. It never counts towards the circuit breaker, never puts a session in degraded
    mode, and our middleware lets Django answer it as any server error (its debug page with
    DEBUG = True, the site's 500 page otherwise), never a 503 that promises a retry will help."""


class SessionTableMissing(SessionStoreMisconfigured):
    """The configured table does not exist in this region/endpoint."""


class SessionConflict(SessionStorageError):
    """Other requests kept saving the same session first, through every merge round.

    Not an outage (it never counts towards the circuit breaker); the middleware answers 503 with
    Retry-After, and nothing this request changed was written.
    """

    def __init__(self, redacted_key: str, rounds: int) -> None:
        super().__init__(
            f"Session {redacted_key} was saved by other requests first in each of {rounds} "
            "rounds of merging, so this request's changes were not written. Something saves this "
            "session in a tight loop from many requests at once; keep such data out of the session.",
            operation="PutItem",
        )
        self.rounds = rounds


class SessionCacheFailure(SessionStorageError):
    """The cached engine could not tell its cache that a session was deleted (a logout, a
    revocation, a cycle_key). Until the cache agrees the deletion is not final (the cache would
    serve the session again), so the session was not deleted in DynamoDB either, and the
    request fails instead of reporting a sign-out that did not happen. Not an outage of
    DynamoDB: it never counts towards the circuit breaker."""

    def __init__(self, message: str) -> None:
        super().__init__(message, operation="cache")


class RevocationIncomplete(SessionStorageError):
    """A revocation of several sessions (a user signed out everywhere) could not delete them all.

    ``deleted`` are the item keys DynamoDB deleted (each also marked in the cache of the cached
    engine), ``remaining`` the ones still signed in, ``cause`` the error that stopped it: run the
    revocation again and it finds exactly the remaining ones.
    """

    def __init__(self, message: str, *, deleted: list[str], remaining: list[str],
                 cause: BaseException | None, outage: bool = False) -> None:
        super().__init__(message, operation="BatchWriteItem", outage=outage)
        self.deleted = deleted
        self.remaining = remaining
        self.cause = cause


class MalformedItem(SessionStorageError):
    """A stored item holds a value this store cannot use (written by another program or a
    migration): it reads as no session, and a save that cannot succeed on it says why."""


class SessionTooLarge(PynamoSessionsError):
    """The session would make an item over DynamoDB's 400 KB limit; nothing was written."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"This session's DynamoDB item would be {size:,} bytes, over DynamoDB's limit of "
            f"{limit:,} bytes per item, so it was not saved (the stored version is unchanged). "
            "Keep large data out of the session: store it in S3, a database or the cache and "
            "put only its key in the session."
        )
        self.size = size
        self.limit = limit


class ProvisioningError(PynamoSessionsError):
    """The table could not be created or does not have the shape the settings describe."""


def response_code(exc: BaseException) -> str | None:
    """DynamoDB's error code behind a PynamoDB exception, or None when there was no answer.

    PynamoDB's own ``cause_response_code`` assumes the cause has a response dict; a timeout or a
    dropped connection has none, so it is read here defensively.
    """
    cause = exc.cause if isinstance(exc, PynamoDBException) else exc
    if isinstance(cause, ClientError):
        error: Any = (cause.response or {}).get("Error") or {}
        code = error.get("Code")
        return code if isinstance(code, str) else None
    return None


#: The end of a throttling reason that names one partition key's limit, not the table's, an
#: index's or the account's (``TableReadKeyRangeThroughputExceeded``, ``IndexWrite...``).
KEY_RANGE_REASON = "KeyRangeThroughputExceeded"


def _full_response(cause: BaseException | None) -> Any:
    """The error response as botocore parsed it. PynamoDB re-raises a ClientError as its own
    VerboseClientError holding only the ``Error`` part (no status, no modeled fields), from inside
    the ``except`` block, so the original is its ``__context__``."""
    if isinstance(cause, VerboseClientError) and isinstance(cause.__context__, ClientError):
        cause = cause.__context__
    return getattr(cause, "response", None) or {}


def throttling_reasons(cause: BaseException | None) -> list[str]:
    """The reasons DynamoDB gave for throttling (botocore parses them into the error response:
    ``ThrottlingReasons`` on ProvisionedThroughputExceededException, ``throttlingReasons`` on
    ThrottlingException); empty when it gave none, as older endpoints and DynamoDB Local do."""
    return reasons_in(_full_response(cause))


def reasons_in(response: Any) -> list[str]:
    """The throttling reasons in an error response as botocore parsed it."""
    listed = response.get("ThrottlingReasons") or response.get("throttlingReasons") or []
    return [r["reason"] for r in listed if isinstance(r, dict) and isinstance(r.get("reason"), str)]


def is_hot_key(reasons: list[str]) -> bool:
    """Whether throttling was only one key over its partition limit. With no reasons at all the
    throttling is taken as the table's, as it always was: better a breaker that opens on a hot key
    than one that stays shut while the table is overloaded."""
    return bool(reasons) and all(reason.endswith(KEY_RANGE_REASON) for reason in reasons)


#: A strongly consistent global table (MRSC) refused a write that conflicts with one being
#: replicated from another Region: botocore retries it; one that outlasts the retries is a
#: conflict like a failed version condition (re-read, merge), never an outage.
REPLICATED_CONFLICT = "ReplicatedWriteConflictException"


def is_condition_failure(exc: BaseException) -> bool:
    return response_code(exc) == CONDITION_FAILED


def is_write_conflict(exc: BaseException) -> bool:
    """A failed condition, or (MRSC) a write another Region's was replicating over."""
    return response_code(exc) in (CONDITION_FAILED, REPLICATED_CONFLICT)


def was_resent(exc: BaseException) -> bool:
    """Whether botocore sent the request more than once before this answer (a lost answer or a
    retryable error before it): only then can a failed condition have met our own first write."""
    cause = exc.cause if isinstance(exc, PynamoDBException) else exc
    attempts = (_full_response(cause).get("ResponseMetadata") or {}).get("RetryAttempts")
    return isinstance(attempts, int) and attempts > 0


#: Where every configuration error sends the reader: the check that looks at the table itself.
CHECK_DEPLOY = "`python manage.py check --deploy` checks the table, its TTL and its index against the settings."


def storage_error(operation: str, table: str, exc: BaseException, *, key_attribute: str | None = None,
                  index: str | None = None) -> SessionStorageError:
    """Translate a failed DynamoDB call into the error a user can act on. ``key_attribute`` and
    ``index`` (DYNAMODB_SESSIONS_ATTR_ID and _USER_INDEX) name what a schema error is about."""
    cause: BaseException | None = exc.cause if isinstance(exc, PynamoDBException) else exc
    code = response_code(exc)
    where = f"{operation} on DynamoDB table {table!r}"
    if code == "ResourceNotFoundException":
        return SessionTableMissing(
            f"{where} failed: the table does not exist. Create it with "
            "`python manage.py createsessiontable` or pynamo_sessions.create_table(), or check "
            f"DYNAMODB_SESSIONS_TABLE, DYNAMODB_REGION and DYNAMODB_LOCAL_ENDPOINT. {CHECK_DEPLOY}",
            operation=operation,
            code=code,
        )
    if code == "ValidationException":
        misconfigured = _schema_error(where, _message(cause), key_attribute, index)
        if misconfigured is not None:
            return SessionStoreMisconfigured(misconfigured, operation=operation, code=code)
    if code in THROTTLING_CODES:
        reasons = throttling_reasons(cause)
        if is_hot_key(reasons):
            return SessionThrottled(
                f"{where} was throttled on this one session's key ({', '.join(reasons)}) after the "
                "configured retries: DynamoDB allows each key 3,000 read and 1,000 write capacity "
                "units a second, and this session is read or written faster than that, or is very "
                "large. Other sessions are unaffected, and this does not count towards the circuit "
                "breaker. Keep large data out of the session.",
                operation=operation,
                code=code,
                hot_key=True,
            )
        return SessionThrottled(
            f"{where} was throttled ({code}{': ' + ', '.join(reasons) if reasons else ''}) after the "
            "configured retries. Raise the table's capacity or use on-demand billing; "
            "DYNAMODB_SESSIONS_MAX_RETRY_ATTEMPTS sets how often a request retries.",
            operation=operation,
            code=code,
            outage=True,
        )
    if code is not None:
        message = ((getattr(cause, "response", None) or {}).get("Error") or {}).get("Message")
        return SessionStorageError(
            f"{where} failed with {code}: {message}", operation=operation, code=code,
            outage=_status(cause) >= 500,
        )
    if isinstance(cause, NoCredentialsError):
        hint = (
            "no AWS credentials were found. Provide them the standard way (an IAM role, "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a profile). DynamoDB Local on this "
            "machine needs none: with DYNAMODB_LOCAL_ENDPOINT on localhost or 127.0.0.1, "
            "placeholder ones are used."
        )
    elif isinstance(cause, NoRegionError):
        hint = (
            "no AWS region is configured. Set DYNAMODB_REGION (or AWS_DEFAULT_REGION), or "
            "DYNAMODB_LOCAL_ENDPOINT for DynamoDB Local."
        )
    elif isinstance(cause, (BotocoreConnectionError, HTTPClientError)):
        hint = (
            f"DynamoDB could not be reached or did not answer in time ({type(cause).__name__}: "
            f"{cause}). Check the network, DYNAMODB_LOCAL_ENDPOINT/DYNAMODB_REGION, and "
            "DYNAMODB_SESSIONS_CONNECT_TIMEOUT/_READ_TIMEOUT."
        )
        return SessionStorageError(f"{where} failed: {hint}", operation=operation, outage=True)
    else:
        hint = f"{type(cause).__name__}: {cause}"
    return SessionStorageError(f"{where} failed: {hint}", operation=operation, code=None)


def _message(cause: BaseException | None) -> str:
    message = ((getattr(cause, "response", None) or {}).get("Error") or {}).get("Message")
    return message if isinstance(message, str) else ""


def _schema_error(where: str, message: str, key_attribute: str | None, index: str | None) -> str | None:
    """What a ValidationException means when it says the table is not the one the settings
    describe, or None for any other validation error."""
    lowered = message.lower()
    if "index" in lowered and ("specified index" in lowered or "does not have" in lowered):
        return (f"{where} failed: the table has no index {index or ''!r} ({message}). "
                "Listing and revoking a user's sessions (DYNAMODB_SESSIONS_TRACK_USERS) need it: run "
                "`python manage.py createsessiontable`, which adds it, or set DYNAMODB_SESSIONS_USER_INDEX "
                f"to the index's name. {CHECK_DEPLOY}")
    if "key" in lowered and ("schema" in lowered or "required keys" in lowered):
        return (f"{where} failed: the table's key is not DYNAMODB_SESSIONS_ATTR_ID = {key_attribute or 'id'!r} "
                f"({message}). Set DYNAMODB_SESSIONS_ATTR_ID to the name of the table's partition key (a table "
                f"from the original snippet's command is keyed on the name it was given), or use another "
                f"table. {CHECK_DEPLOY}")
    return None


def _status(cause: BaseException | None) -> int:
    metadata = _full_response(cause).get("ResponseMetadata") or {}
    status = metadata.get("HTTPStatusCode")
    return status if isinstance(status, int) else 0
