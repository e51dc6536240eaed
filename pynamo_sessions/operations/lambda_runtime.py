"""AWS Lambda SnapStart: what a process restored from a snapshot must not reuse.

SnapStart runs a function's init phase (imports, ``django.setup()``, our ``ready()``, which builds
the botocore client) once, snapshots the memory, and starts every new execution environment from
that snapshot. What the snapshot holds is then shared by every copy:

- safe to keep: the settings, the parsed botocore data (endpoints, DynamoDB's service model) and
  the client built from them, and the credentials object (Lambda's are refreshed by botocore
  when they near expiry); session keys come from ``secrets`` (the OS's randomness), never from
  the snapshotted ``random`` state;
- not safe: pooled HTTP connections (their sockets belong to the snapshotted process), the
  circuit breaker's counts (another process's past), the async clients (bound to event loops
  and connections of the past), and ``random``'s state (every copy would draw the same merge
  pauses, and collide again).

When ``snapshot_restore_py`` is importable (the Lambda Python runtime provides it; it is also on
PyPI), ``ready()`` registers ``after_restore`` with it.
"""

from __future__ import annotations

import logging
import random

logger = logging.getLogger("pynamo_sessions")

_registered = False


def register_restore_hook() -> bool:
    """Register ``after_restore`` with SnapStart once per process; False without the runtime."""
    global _registered
    if _registered:
        return True
    try:
        from snapshot_restore_py import register_after_restore
    except ImportError:
        return False
    register_after_restore(after_restore)
    _registered = True
    return True


def after_restore() -> None:
    """Forget what the snapshot must not share (see the module's docstring)."""
    from pynamo_sessions.store import aio, calls, models

    models.close_connections()
    calls.reset_breaker()
    aio.forget()
    random.seed()  # from the OS's randomness, different in every restored copy
    logger.info("Restored from a snapshot: pooled DynamoDB connections, the circuit breaker and "
                "async clients were reset.")
