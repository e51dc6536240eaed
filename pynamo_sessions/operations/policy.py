"""Least privilege as code: the IAM policy each job needs, and the table as a CloudFormation
resource, from the current settings (``manage.py sessionpolicy`` prints them).

Serverless deploys create roles and tables from templates; these are what to put in them. The
request path's actions are exactly the DynamoDB operations a request can send (a test records
them on the wire), so a role granted them can serve every page and nothing more.
"""

from __future__ import annotations

from typing import Any

from pynamo_sessions import conf
from pynamo_sessions.store import models

#: What each job sends, on the table (and, marked ``index``, on the user index).
JOBS: dict[str, str] = {
    "request": "serving requests: sessions, and with TRACK_USERS the sessions pages",
    "clearsessions": "manage.py clearsessions (a sweep only on a table without TTL)",
    "createsessiontable": "manage.py createsessiontable (create or verify, enable TTL, add the user index)",
    "check": "manage.py check --deploy",
    "logoutuser": "manage.py logoutuser, users.revoke_all()",
    "importsessions": "manage.py importsessions",
}


def actions(job: str, snapshot: conf.Snapshot) -> tuple[list[str], list[str]]:
    """The DynamoDB actions ``job`` needs: on the table, and on the user index."""
    table: list[str]
    index: list[str] = []
    if job == "request":
        table = ["GetItem", "PutItem", "DeleteItem"]
        if snapshot.track_users:
            table.append("BatchWriteItem")  # "sign out all other sessions"
            index = ["Query"]  # the sessions pages
            if snapshot.max_per_user:
                table.append("UpdateItem")  # the cap's roster of recent logins
    elif job == "clearsessions":
        table = ["DescribeTimeToLive", "Scan", "DeleteItem"]
    elif job == "createsessiontable":
        table = ["DescribeTable", "CreateTable", "DescribeTimeToLive", "UpdateTimeToLive"]
        if snapshot.track_users:
            table.append("UpdateTable")  # adds the user index to an existing table
    elif job == "check":
        table = ["DescribeTable", "DescribeTimeToLive", "GetItem"]
    elif job == "logoutuser":
        table, index = ["BatchWriteItem"], ["Query"]
    elif job == "importsessions":
        table = ["PutItem"]
    else:
        raise ValueError(f"Unknown job {job!r}; the jobs are {', '.join(JOBS)}.")
    return table, index


def table_arn(snapshot: conf.Snapshot, region: str, account: str) -> str:
    return f"arn:aws:dynamodb:{region}:{account}:table/{snapshot.table_name}"


#: The actions IAM's dynamodb:LeadingKeys can restrict: each names the partition keys it touches.
#: The others (a Scan, the table's own description and settings) carry no key.
KEYED_ACTIONS = frozenset({"GetItem", "PutItem", "DeleteItem", "UpdateItem", "BatchWriteItem", "BatchGetItem",
                           "Query"})


def leading_keys_condition(prefix: str) -> dict[str, Any]:
    """Only keys that start with ``prefix``. ``ForAllValues`` alone is true for a request that
    carries no key at all, so the ``Null`` guard requires one; the prefix ends with a separator,
    so ``site1:*`` cannot match another site's ``site10:`` keys."""
    return {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{prefix}*"]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }


def iam_policy(job: str, *, region: str, account: str, snapshot: conf.Snapshot | None = None) -> dict[str, Any]:
    """The IAM policy document for ``job``, on the real table (and index) ARNs, in ``region`` or,
    with DYNAMODB_SESSIONS_REGIONS, in each of its Regions (a session is read and written in its
    home Region, wherever the request lands); with a key prefix, its keyed actions held to the
    site's own keys, and the actions that carry no key in a statement of their own
    (``SessionsTableWithoutKeys``: they cannot be restricted by key)."""
    snapshot = snapshot or conf.current()
    table, index = actions(job, snapshot)
    regions = list(snapshot.regions.endpoints) if snapshot.regions else [region]
    arns = [table_arn(snapshot, name, account) for name in regions]
    index_arns = [f"{arn}/index/{snapshot.user_index}" for arn in arns]
    prefix = snapshot.key_prefix
    if not prefix:
        statements: list[dict[str, Any]] = [{
            "Sid": "SessionsTable", "Effect": "Allow",
            "Action": [f"dynamodb:{action}" for action in table], "Resource": _one_or_all(arns),
        }]
        if index:
            statements.append({
                "Sid": "SessionsUserIndex", "Effect": "Allow",
                "Action": [f"dynamodb:{action}" for action in index], "Resource": _one_or_all(index_arns),
            })
        return {"Version": "2012-10-17", "Statement": statements}
    keyed = [action for action in table if action in KEYED_ACTIONS]
    unkeyed = [action for action in table if action not in KEYED_ACTIONS]
    statements = []
    if keyed or index:
        statements.append({
            "Sid": "SessionsOwnKeys", "Effect": "Allow",
            "Action": sorted({f"dynamodb:{action}" for action in keyed + index}),
            "Resource": _one_or_all(arns + index_arns if index else arns),
            "Condition": leading_keys_condition(prefix),
        })
    if unkeyed:
        statements.append({
            "Sid": "SessionsTableWithoutKeys", "Effect": "Allow",
            "Action": [f"dynamodb:{action}" for action in unkeyed], "Resource": _one_or_all(arns),
        })
    return {"Version": "2012-10-17", "Statement": statements}


def _one_or_all(arns: list[str]) -> str | list[str]:
    return arns[0] if len(arns) == 1 else arns


def unrestricted_actions(job: str, snapshot: conf.Snapshot | None = None) -> list[str]:
    """What of ``job``'s policy no key prefix can restrict (said by ``sessionpolicy``)."""
    snapshot = snapshot or conf.current()
    table, _ = actions(job, snapshot)
    return [action for action in table if action not in KEYED_ACTIONS] if snapshot.key_prefix else []


def table_resource(snapshot: conf.Snapshot | None = None) -> dict[str, Any]:
    """The sessions table as a CloudFormation (and SAM) ``AWS::DynamoDB::Table`` resource: the
    key, TTL, on-demand billing, and the user index when users are tracked. JSON is YAML too."""
    snapshot = snapshot or conf.current()
    properties: dict[str, Any] = {
        "TableName": snapshot.table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": snapshot.attr_id, "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": snapshot.attr_id, "KeyType": "HASH"}],
        "TimeToLiveSpecification": {"AttributeName": snapshot.attr_ttl, "Enabled": True},
        "SSESpecification": {"SSEEnabled": True},
    }
    if snapshot.track_users:
        properties["AttributeDefinitions"] += [{"AttributeName": snapshot.attr_user, "AttributeType": "S"},
                                               {"AttributeName": models.USER_INDEX_SORT_KEY, "AttributeType": "N"}]
        properties["GlobalSecondaryIndexes"] = [{
            "IndexName": snapshot.user_index,
            "KeySchema": [{"AttributeName": snapshot.attr_user, "KeyType": "HASH"},
                          {"AttributeName": models.USER_INDEX_SORT_KEY, "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": models.user_index_projection(snapshot)},
        }]
    return {"SessionsTable": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain", "Properties": properties}}


def global_table_resource(regions: list[str], *, strong: bool = False,
                          snapshot: conf.Snapshot | None = None) -> dict[str, Any]:
    """The sessions table as an ``AWS::DynamoDB::GlobalTable`` with a replica in each Region:
    multi-Region eventual consistency (a stream of new and old images, which its replication
    needs) or, ``strong``, strong consistency (MRSC, which has no TTL: schedule clearsessions)."""
    table = table_resource(snapshot)["SessionsTable"]["Properties"]
    properties = {name: value for name, value in table.items() if name != "SSESpecification"}
    properties["Replicas"] = [{"Region": region} for region in regions]
    properties["SSESpecification"] = {"SSEEnabled": True}
    if strong:
        properties["MultiRegionConsistency"] = "STRONG"
        properties.pop("TimeToLiveSpecification")
    else:
        properties["StreamSpecification"] = {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    return {"SessionsTable": {"Type": "AWS::DynamoDB::GlobalTable", "DeletionPolicy": "Retain",
                              "Properties": properties}}
