"""Django sessions in DynamoDB, through a PynamoDB model.

``SESSION_ENGINE = "pynamo_sessions.backends.dynamodb"`` is all a project changes; the names
below are for deploy scripts and for code that handles the backend's errors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pynamo_sessions.exceptions import (
    MalformedItem,
    ProvisioningError,
    PynamoSessionsError,
    RevocationIncomplete,
    SessionCacheFailure,
    SessionConflict,
    SessionStorageError,
    SessionStoreMisconfigured,
    SessionStoreUnavailable,
    SessionTableMissing,
    SessionThrottled,
    SessionTooLarge,
)

if TYPE_CHECKING:
    from pynamo_sessions.operations.provision import TableReport, create_table, delete_table

# Provisioning is a deploy script's job, never a request's: its names are imported on first use,
# so that a web process (a cold start on AWS Lambda above all) does not pay for the module.
_PROVISIONING = ("TableReport", "create_table", "delete_table")

__version__ = "0.1.0"
__all__ = [
    "MalformedItem",
    "ProvisioningError",
    "PynamoSessionsError",
    "RevocationIncomplete",
    "SessionCacheFailure",
    "SessionConflict",
    "SessionStorageError",
    "SessionStoreMisconfigured",
    "SessionStoreUnavailable",
    "SessionTableMissing",
    "SessionThrottled",
    "SessionTooLarge",
    "TableReport",
    "create_table",
    "delete_table",
]


def __getattr__(name: str) -> Any:
    if name in _PROVISIONING:
        from pynamo_sessions.operations import provision

        return getattr(provision, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
