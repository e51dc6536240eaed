"""The sync transport: each operation sent through the PynamoDB model's own get/save/delete."""

from __future__ import annotations

from typing import Any

from pynamo_sessions import calls, conf, models, ops
from pynamo_sessions.exceptions import DYNAMODB_ERRORS

# The operations whose ReturnConsumedCapacity ops.capacity_to_return decides.
_SENT = ("GetItem", "PutItem", "DeleteItem")
_CAPACITY_HANDLER = "pynamo_sessions-capacity"
_client_asking: Any = None  # the last client given the handler


def send(op: ops.DynamoDBOp) -> Any:
    snapshot = conf.current()
    model = models.bound_model()
    attempt = calls.begin(op.operation, snapshot, op.conflict)
    try:
        _prepared_client(model)  # as PynamoDB would build it inside the call: its failures are the call's
        if isinstance(op, ops.Get):
            try:
                item = model.get(op.item_key, consistent_read=snapshot.consistent_read)
            except model.DoesNotExist:
                item = None
            return ops.got(attempt, item, snapshot)
        if isinstance(op, ops.Put):
            try:
                # save() adds the version condition and, once written, bumps item.version.
                return ops.written(attempt, op.item.save(
                    condition=op.condition(), add_version_condition=op.add_version_condition))
            except DYNAMODB_ERRORS as exc:
                return ops.put_failed(attempt, exc)
        # Deleting is unconditional: a logout or a revocation wins over any version.
        return ops.written(attempt, model(op.item_key).delete(add_version_condition=False))
    except DYNAMODB_ERRORS as exc:
        raise attempt.failed(exc) from exc


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
        for operation in _SENT:
            client.meta.events.register(f"before-parameter-build.dynamodb.{operation}", _capacity_param,
                                        unique_id=f"{_CAPACITY_HANDLER}-{operation}")
        _client_asking = client
    return client


def _capacity_param(params: dict[str, Any], **kwargs: Any) -> None:
    params["ReturnConsumedCapacity"] = ops.capacity_to_return(conf.current())
