"""The sync transport: each operation sent through the PynamoDB model's own get/save/delete."""

from __future__ import annotations

from typing import Any

from pynamo_sessions import calls, conf, models, ops
from pynamo_sessions.exceptions import DYNAMODB_ERRORS


def send(op: ops.DynamoDBOp) -> Any:
    snapshot = conf.current()
    model = models.bound_model()
    attempt = calls.begin(op.operation, snapshot, op.conflict)
    try:
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
