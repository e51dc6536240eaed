"""The sync transport: each operation sent through the PynamoDB model's connection, as its own
get/save/delete send them (the requests from ``store.wire``, or PynamoDB's builder for an item of
another shape)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from pynamodb.connection.base import BOTOCORE_EXCEPTIONS
from pynamodb.exceptions import DeleteError, GetError, PutError

from pynamo_sessions import conf
from pynamo_sessions.exceptions import DYNAMODB_ERRORS, SessionStorageError
from pynamo_sessions.store import calls, deletion, models, ops, retries, wire

# The operations whose ReturnConsumedCapacity ops.capacity_to_return decides.
_SENT = ("GetItem", "PutItem", "DeleteItem")
_CAPACITY_HANDLER = "pynamo_sessions-capacity"
_client_asking: Any = None  # the last client given the handler
_PREPARED = "_pynamo_sessions_prepared"  # set on each client given it (another Region's, too)


def send(op: ops.DynamoDBOp) -> Any:
    snapshot = conf.current()
    region = op.region
    model = models.bound_model(region=region)
    attempt = calls.begin(op.operation, snapshot, op.conflict, region)
    try:
        _prepared_client(model)  # as PynamoDB would build it inside the call: its failures are the call's
        # Sent through PynamoDB's connection (its signals, its errors), as its get/save/delete
        # send them; the requests themselves come from store.wire.
        connection = model._get_connection().connection
        if isinstance(op, ops.Get):
            # What model.get() does, but an item that another program wrote with values this
            # store cannot read is no session (models.from_raw) instead of a TypeError.
            request = {**wire.key_request(model, op.item_key), "ConsistentRead": snapshot.consistent_read}
            try:
                raw = (connection.dispatch("GetItem", request) or {}).get("Item")
            except BOTOCORE_EXCEPTIONS as exc:
                raise GetError(f"Failed to get item: {exc}", exc) from exc
            return ops.got(attempt, None if raw is None else models.from_raw(model, raw), snapshot)
        if isinstance(op, ops.Put):
            try:
                return ops.written(attempt, _put(connection, op))
            except DYNAMODB_ERRORS as exc:
                return ops.put_failed(attempt, exc)
        # Deleting is unconditional: a logout or a revocation wins over any version.
        try:
            return ops.written(attempt, connection.dispatch("DeleteItem", wire.key_request(model, op.item_key)))
        except BOTOCORE_EXCEPTIONS as exc:
            raise DeleteError(f"Failed to delete item: {exc}", exc) from exc
    except DYNAMODB_ERRORS as exc:
        raise attempt.failed(exc) from exc


def _put(connection: Any, op: ops.Put) -> Any:
    """What save() sends and does: the write on its conditions, then the next version."""
    try:
        response = connection.dispatch("PutItem", op.request())
    except BOTOCORE_EXCEPTIONS as exc:
        raise PutError(f"Failed to put item: {exc}", exc) from exc
    wire.written(op.item)
    return response


def delete_all(item_keys: Sequence[str]) -> list[str]:
    """Carry out ``deletion.BatchDeletion`` for ``item_keys``, in each session's home Region
    (``deletion.by_home``): each round's chunks sent at once (threads), the pauses it asks for
    slept. Returns the keys deleted, or raises what the plan raises when it could not finish."""
    groups = deletion.by_home(item_keys, conf.current())
    if len(groups) == 1:
        region, group = next(iter(groups.items()))
        return _delete_all_in(region, group)
    return deletion.in_each_region(groups, _delete_all_in)


def _delete_all_in(region: str | None, item_keys: Sequence[str]) -> list[str]:
    plan = deletion.BatchDeletion(item_keys, now=time.monotonic())
    pool = None
    try:
        while chunks := plan.next_round():
            if len(chunks) == 1:
                _delete_chunks(plan, chunks, map, region)
            else:
                if pool is None:
                    from concurrent.futures import ThreadPoolExecutor  # rare: not paid at start-up

                    pool = ThreadPoolExecutor(max_workers=deletion.PARALLEL_BATCHES,
                                              thread_name_prefix="pynamo_sessions-delete")
                _delete_chunks(plan, chunks, pool.map, region)
            pause = plan.pause(time.monotonic())
            if pause is None:
                break
            time.sleep(pause)
    finally:
        if pool is not None:
            pool.shutdown()
    plan.raise_if_incomplete()
    return plan.deleted


def _delete_chunks(plan: deletion.BatchDeletion, chunks: list[list[str]], mapper: Callable[..., Any],
                   region: str | None) -> None:
    def send(chunk: list[str]) -> tuple[list[str], list[str] | None, BaseException | None]:
        try:
            return chunk, delete_batch(chunk, region), None
        except SessionStorageError as exc:
            return chunk, None, exc

    for chunk, unprocessed, error in mapper(send, chunks):
        if error is not None:
            plan.failed(chunk, error)
        else:
            plan.answered(chunk, unprocessed or [])


def delete_batch(item_keys: Sequence[str], region: str | None = None) -> list[str]:
    """One BatchWriteItem of deletes (at most 25); answers the item keys DynamoDB left
    unprocessed. Sent through the model's connection: PynamoDB's ``BatchWrite`` would resend
    unprocessed keys without a pause and raise, after ``max_retry_attempts``, without saying
    which keys it did delete; the plan in ``pynamo_sessions.store.deletion`` decides that instead."""
    snapshot = conf.current()
    model = models.bound_model(region=region)
    attempt = calls.begin("BatchWriteItem", snapshot, region=region)
    try:
        _prepared_client(model)
        response = model._get_connection().batch_write_item(
            delete_items=[model(item_key)._get_keys() for item_key in item_keys])  # type: ignore[no-untyped-call]
    except DYNAMODB_ERRORS as exc:
        raise attempt.failed(exc) from exc
    left = unprocessed_keys(response, snapshot)
    attempt.answered("unprocessed" if left else ops.OK)
    return left


def unprocessed_keys(response: Any, snapshot: conf.Snapshot) -> list[str]:
    """The item keys of the deletes a BatchWriteItem answer lists as unprocessed."""
    requests = ((response or {}).get("UnprocessedItems") or {}).get(snapshot.table_name) or []
    left = []
    for request in requests:
        key = ((request.get("DeleteRequest") or {}).get("Key") or {}).get(snapshot.attr_id) or {}
        if isinstance(key.get("S"), str):
            left.append(key["S"])
    return left


def build_client() -> None:
    """Create the request path's botocore client now, so that no request pays for it.

    Called from the app's ``ready()``, on the main thread: on AWS Lambda that is the init phase,
    which SnapStart and provisioned concurrency snapshot, and which a WSGI or ASGI server runs
    before its first request. No request is sent (building a client is local work: loading
    the service model, resolving credentials). PynamoDB creates its client lazily inside the
    first call and offers no public way to do it earlier.
    """
    _prepared_client(models.bound_model())


def _prepared_client(model: type[models.SessionItem]) -> Any:
    """The model's botocore client (built if need be), asking for capacity as decided.

    PynamoDB asks every call for the capacity it consumed, and its get/save/delete take no say
    in it; a handler on the client's botocore events sets what ``ops.capacity_to_return``
    decides instead. It is given to each client PynamoDB builds (PynamoDB builds another when
    it finds the credentials empty); botocore ignores a second registration of the same id.
    """
    global _client_asking
    client = model._get_connection().connection.client
    if client is not _client_asking:
        if not getattr(client, _PREPARED, False):
            retries.spare_quota_on_hot_keys(client, 1 + model.Meta.max_retry_attempts)
            for operation in _SENT:
                client.meta.events.register(f"before-parameter-build.dynamodb.{operation}", _capacity_param,
                                            unique_id=f"{_CAPACITY_HANDLER}-{operation}")
            setattr(client, _PREPARED, True)
        _client_asking = client
    return client


def _capacity_param(params: dict[str, Any], **kwargs: Any) -> None:
    params["ReturnConsumedCapacity"] = ops.capacity_to_return(conf.current())
