"""Create, verify and delete the sessions table.

Creation goes through ``Model.create_table()``, which also enables TTL. It is safe to run twice:
PynamoDB's ``create_table`` always calls ``update_ttl``, and DynamoDB refuses to enable TTL a
second time (PynamoDB issue #1278), so an existing table is verified and left alone instead.
PynamoDB has no DescribeTimeToLive or index-adding call, so those two use a botocore client of
their own; the request path never does.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from pynamodb.exceptions import TableDoesNotExist

from pynamo_sessions import conf
from pynamo_sessions.exceptions import DYNAMODB_ERRORS, ProvisioningError, storage_error
from pynamo_sessions.store import models

logger = logging.getLogger("pynamo_sessions")

TTL_ON = ("ENABLED", "ENABLING")


@dataclass
class TableReport:
    """What ``create_table`` found or did, in sentences a command can print."""

    table_name: str
    created: bool = False
    ttl_enabled_now: bool = False
    index_added: bool = False
    notes: list[str] = field(default_factory=list)


def admin_client(snapshot: conf.Snapshot | None = None) -> Any:
    """The admin model's own botocore client (its region, credentials and patient timeouts),
    for the few table operations PynamoDB does not offer."""
    snapshot = snapshot or conf.current()
    try:
        return models.bound_model(admin=True)._get_connection().connection.client
    except DYNAMODB_ERRORS as exc:  # no region: botocore refuses to build the client at all
        raise storage_error("Connect", snapshot.table_name, exc) from exc


def describe_table() -> dict[str, Any] | None:
    """DescribeTable's answer for the sessions table, or None when it does not exist."""
    model = models.bound_model(admin=True)
    try:
        return model.describe_table()  # type: ignore[no-any-return]
    except TableDoesNotExist:
        return None
    except DYNAMODB_ERRORS as exc:
        raise storage_error("DescribeTable", model.Meta.table_name, exc) from exc


def ttl_attribute(client: Any = None) -> tuple[str, str | None]:
    """The table's TTL status ("ENABLED", "DISABLED", ...) and the attribute it is on."""
    snapshot = conf.current()
    client = client or admin_client(snapshot)
    try:
        answer = client.describe_time_to_live(TableName=snapshot.table_name)
    except (BotoCoreError, ClientError) as exc:
        raise storage_error("DescribeTimeToLive", snapshot.table_name, exc) from exc
    description = answer.get("TimeToLiveDescription", {})
    return description.get("TimeToLiveStatus", "DISABLED"), description.get("AttributeName")


def key_schema_problem(description: dict[str, Any], snapshot: conf.Snapshot) -> str | None:
    """Why the table's keys do not fit the settings, or None when they do."""
    key_schema = description.get("KeySchema", [])
    types = {d["AttributeName"]: d["AttributeType"] for d in description.get("AttributeDefinitions", [])}
    expected = [{"AttributeName": snapshot.attr_id, "KeyType": "HASH"}]
    if key_schema == expected and types.get(snapshot.attr_id) == "S":
        return None
    found = ", ".join(
        f"{k['AttributeName']} ({k['KeyType']}, {types.get(k['AttributeName'], '?')})" for k in key_schema
    )
    return (
        f"Table {snapshot.table_name!r} has the key schema [{found}], but the sessions table needs "
        f"a single string hash key named {snapshot.attr_id!r} and no range key. Point "
        "DYNAMODB_SESSIONS_TABLE at another table, or set DYNAMODB_SESSIONS_ATTR_ID to the "
        "table's hash key if it is a string."
    )


def has_user_index(description: dict[str, Any], snapshot: conf.Snapshot) -> bool:
    names = {index["IndexName"] for index in description.get("GlobalSecondaryIndexes", [])}
    return snapshot.user_index in names


MREC, MRSC = "MREC", "MRSC"


def global_table(description: dict[str, Any]) -> tuple[str | None, list[str]]:
    """Whether the table is a global table, and how: MREC (multi-Region eventual consistency,
    the default) or MRSC (strong consistency); with the Regions of its replicas."""
    regions = sorted(replica["RegionName"] for replica in description.get("Replicas") or [] if "RegionName" in replica)
    if not regions:
        return None, []
    return (MRSC if description.get("MultiRegionConsistency") == "STRONG" else MREC), regions


def user_index_is_ordered(description: dict[str, Any], snapshot: conf.Snapshot) -> bool:
    """Whether the user index answers most recently used first: sorted by the last save (made
    so since it had a sort key; an index made before has only the user id)."""
    for index in description.get("GlobalSecondaryIndexes", []):
        if index["IndexName"] == snapshot.user_index:
            return {"AttributeName": models.USER_INDEX_SORT_KEY, "KeyType": "RANGE"} in index["KeySchema"]
    return False


def create_table() -> TableReport:
    """Create the sessions table with TTL (and the user index when tracking users) if needed.

    An existing table with the right keys is left alone, with TTL enabled if it was not; one with
    other keys, or TTL on another attribute, raises ProvisioningError.
    """
    snapshot = conf.current()
    model = models.bound_model(admin=True)
    report = TableReport(snapshot.table_name)
    description = describe_table()
    if description is None:
        try:
            model.create_table(wait=True)
        except DYNAMODB_ERRORS as exc:
            raise ProvisioningError(
                f"Could not create table {snapshot.table_name!r}: {exc.msg} ({exc.cause})."
            ) from exc
        report.created = report.ttl_enabled_now = True
        report.index_added = snapshot.track_users
        return report

    problem = key_schema_problem(description, snapshot)
    if problem:
        raise ProvisioningError(problem)
    report.notes.append(f"Table {snapshot.table_name!r} already exists with the right key schema.")
    client = admin_client(snapshot)
    status, attribute = ttl_attribute(client)
    if global_table(description)[0] == MRSC and status not in TTL_ON:
        report.notes.append(
            f"Table {snapshot.table_name!r} is a strongly consistent global table (MRSC), which has no TTL: "
            "expired sessions read as gone, and `clearsessions` deletes them: schedule it (daily).")
    elif status in TTL_ON and attribute == snapshot.attr_ttl:
        report.notes.append(f"TTL is already enabled on {attribute!r}.")
    elif status in TTL_ON or status == "DISABLING":
        raise ProvisioningError(
            f"TTL on table {snapshot.table_name!r} is {status} on attribute {attribute!r}, but "
            f"DYNAMODB_SESSIONS_ATTR_TTL is {snapshot.attr_ttl!r}. Set the setting to "
            f"{attribute!r}, or disable TTL on the table and run createsessiontable again."
        )
    else:
        try:
            model.update_ttl(ignore_update_ttl_errors=False)
        except DYNAMODB_ERRORS as exc:
            raise storage_error("UpdateTimeToLive", snapshot.table_name, exc) from exc
        report.ttl_enabled_now = True
    if snapshot.track_users and not has_user_index(description, snapshot):
        _add_user_index(client, snapshot)
        report.index_added = True
    elif snapshot.track_users:
        report.notes.append(f"The user index {snapshot.user_index!r} is already there.")
    return report


def _add_user_index(client: Any, snapshot: conf.Snapshot) -> None:
    index: dict[str, Any] = {
        "IndexName": snapshot.user_index,
        "KeySchema": [{"AttributeName": snapshot.attr_user, "KeyType": "HASH"},
                      {"AttributeName": models.USER_INDEX_SORT_KEY, "KeyType": "RANGE"}],
        "Projection": {
            "ProjectionType": "INCLUDE",
            "NonKeyAttributes": models.user_index_projection(snapshot),
        },
    }
    if snapshot.billing_mode == "PROVISIONED":
        index["ProvisionedThroughput"] = {
            "ReadCapacityUnits": snapshot.read_capacity_units,
            "WriteCapacityUnits": snapshot.write_capacity_units,
        }
    try:
        client.update_table(
            TableName=snapshot.table_name,
            AttributeDefinitions=[{"AttributeName": snapshot.attr_user, "AttributeType": "S"},
                                  {"AttributeName": models.USER_INDEX_SORT_KEY, "AttributeType": "N"}],
            GlobalSecondaryIndexUpdates=[{"Create": index}],
        )
        client.get_waiter("table_exists").wait(TableName=snapshot.table_name)
        _wait_for_index(client, snapshot)
    except (BotoCoreError, ClientError) as exc:
        raise storage_error("UpdateTable", snapshot.table_name, exc) from exc


#: How long createsessiontable waits for DynamoDB to fill a new user index from the table's
#: items (minutes for a large table), and how often it looks.
INDEX_WAIT_SECONDS = 3600
INDEX_POLL_SECONDS = 5.0


def _wait_for_index(client: Any, snapshot: conf.Snapshot) -> None:
    """Until the new index is ACTIVE: a query on one still being filled would fail."""
    deadline = time.monotonic() + INDEX_WAIT_SECONDS
    while True:
        table = client.describe_table(TableName=snapshot.table_name)["Table"]
        status = next((index.get("IndexStatus") for index in table.get("GlobalSecondaryIndexes", [])
                       if index["IndexName"] == snapshot.user_index), None)
        if status == "ACTIVE" or time.monotonic() > deadline:
            return
        time.sleep(INDEX_POLL_SECONDS)


def delete_table() -> bool:
    """Delete the sessions table; False when there was none."""
    model = models.bound_model(admin=True)
    if describe_table() is None:
        return False
    try:
        model.delete_table(wait=True)
    except DYNAMODB_ERRORS as exc:
        raise storage_error("DeleteTable", model.Meta.table_name, exc) from exc
    return True
