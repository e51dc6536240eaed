"""Django sessions in DynamoDB, through a PynamoDB model.

``SESSION_ENGINE = "pynamo_sessions.backends.dynamodb"`` is all a project changes; the names
below are for deploy scripts and for code that handles the backend's errors.
"""

from __future__ import annotations

from pynamo_sessions.exceptions import (
    ProvisioningError,
    PynamoSessionsError,
    SessionConflict,
    SessionStorageError,
    SessionStoreUnavailable,
    SessionTableMissing,
    SessionThrottled,
    SessionTooLarge,
)
from pynamo_sessions.provision import TableReport, create_table, delete_table

__version__ = "0.1.0"
__all__ = [
    "ProvisioningError",
    "PynamoSessionsError",
    "SessionConflict",
    "SessionStorageError",
    "SessionStoreUnavailable",
    "SessionTableMissing",
    "SessionThrottled",
    "SessionTooLarge",
    "TableReport",
    "create_table",
    "delete_table",
]
