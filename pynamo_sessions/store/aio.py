"""The async transport: an aiobotocore client per event loop, sending what the PynamoDB model
serializes, the very requests PynamoDB itself would send.

Optional (``pip install "pynamo-sessions[async]"``): aiobotocore pins botocore to a narrow range,
so sync users are not made to take it. Without it, ``available()`` is False and the stores'
async methods run their sync twins in a thread, as Django's own backends do.

An aiobotocore client belongs to the event loop it was made on. Each loop gets one, owned by a
task that lives as long as the loop: when a loop shuts down (``asyncio.run``, and the loop that
``async_to_sync`` makes for every call), asyncio cancels that task and the client is closed with
it, so short-lived loops leak nothing. The first session call on a new loop starts building the
client and is itself sent through the sync client in a thread, built in ``ready()``, so no
request waits for a client to be built; the calls after it are native. aiobotocore is imported
only when an async client is built (or, in a process that serves ASGI, at ``ready()``).
``await connect()`` builds it up front, for code that has a startup hook.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import threading
from functools import cache
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pynamo_sessions import conf
from pynamo_sessions.store import calls, models, ops, retries, wire

logger = logging.getLogger("pynamo_sessions")

_session: Any = None
_session_lock = threading.Lock()


@cache
def available() -> bool:
    """Whether the async extra (aiobotocore) is installed. Found without importing it: a
    process that serves WSGI never pays for aiobotocore and aiohttp (about 160 modules)."""
    return importlib.util.find_spec("aiobotocore") is not None


def enabled() -> bool:
    """Whether async session calls use the native transport (DYNAMODB_SESSIONS_ASYNC_TRANSPORT)."""
    mode = conf.current().async_transport
    if mode == "thread" or not available():
        return False
    return mode == "native" or not conf.on_lambda()


def transport_in_use() -> str:
    """Which transport async session calls use in this process, and why, in a few words."""
    mode = conf.current().async_transport
    if mode == "thread":
        return "their sync twins in a thread (DYNAMODB_SESSIONS_ASYNC_TRANSPORT = 'thread')"
    if not available():
        return ("their sync twins in a thread: the async extra is not installed "
                "(pip install 'pynamo-sessions[async]' for native async session calls)")
    if not enabled():
        return "their sync twins in a thread on AWS Lambda (DYNAMODB_SESSIONS_ASYNC_TRANSPORT = 'auto')"
    return "the native async transport (aiobotocore, on each event loop)"


def _aio_session() -> Any:
    """One aiobotocore session per process, reading botocore's data files (endpoints, DynamoDB's
    service model) through the sync client's loader, which has already parsed them: each file is
    parsed once per process, whichever transport asks first."""
    global _session
    if _session is None:
        with _session_lock:
            if _session is None:
                from aiobotocore.session import AioSession

                session = AioSession()
                session.register_component("data_loader", models.data_loader())
                _session = session
    return _session


def prepare() -> None:
    """Import aiobotocore and make the session now (at start-up, in a process that serves ASGI),
    so that the first async request pays only for its loop's client."""
    if enabled():
        _aio_session()


def forget() -> None:
    """Drop every loop's client and the session (after a SnapStart restore: their connections
    belong to the snapshotted process). The next async call builds them again."""
    global _session
    for holder in list(_clients.values()):
        holder.stopping.set()
    _clients.clear()
    _unbuildable.clear()
    _session = None


def _config(snapshot: conf.Snapshot) -> Any:
    from aiobotocore.config import AioConfig

    # The same timeouts, retries and pool as the sync client (models.build).
    return AioConfig(
        connect_timeout=snapshot.connect_timeout,
        read_timeout=snapshot.read_timeout,
        max_pool_connections=snapshot.max_pool_connections,
        retries={"total_max_attempts": 1 + snapshot.max_retry_attempts, "mode": snapshot.retry_mode},
        parameter_validation=False,
    )


class _LoopClient:
    """The client of one event loop (for one Region's replica), and the task that owns it."""

    def __init__(self, fields: tuple[Any, ...], region: str | None) -> None:
        self.fields = fields
        self.region = region
        self.client: Any = None
        self.ready = asyncio.Event()
        self.stopping = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def own(self, snapshot: conf.Snapshot, loop: asyncio.AbstractEventLoop) -> None:
        place = (loop, self.region)
        try:
            region_name, url = models.endpoint(snapshot, self.region)
            credentials = models.client_credentials(snapshot, url) or (None, None)
            creator = _aio_session().create_client(
                "dynamodb", region_name=region_name, endpoint_url=url,
                aws_access_key_id=credentials[0], aws_secret_access_key=credentials[1], config=_config(snapshot),
            )
            async with creator as client:
                retries.spare_quota_on_hot_keys(client, 1 + snapshot.max_retry_attempts)
                self.client = client
                self.ready.set()
                await self.stopping.wait()  # until the settings change or the loop shuts down
        except Exception as exc:  # noqa: BLE001 - the sync path then reports the real problem
            # A client that cannot be built (no region, say) is not retried on every call of
            # every loop: these settings go through the sync path until they change.
            _unbuildable.add(self.fields)
            logger.warning("Could not build the async DynamoDB client (%s: %s); async session calls run "
                           "their sync twins in a thread.", type(exc).__name__, exc)
        finally:
            self.client = None
            self.ready.set()
            if _clients.get(place) is self:
                del _clients[place]


# Keyed by loop (and Region: None for this process's); an entry leaves when its owner task ends,
# which a loop's shutdown brings about.
_clients: dict[tuple[asyncio.AbstractEventLoop, str | None], _LoopClient] = {}
_unbuildable: set[tuple[Any, ...]] = set()


def _holder(region: str | None = None) -> _LoopClient | None:
    snapshot = conf.current()
    fields = models.connection_fields(snapshot)
    if region is not None:
        fields += (region, models.endpoint(snapshot, region))
    if fields in _unbuildable:
        return None
    loop = asyncio.get_running_loop()
    place = (loop, region)
    holder = _clients.get(place)
    if holder is None or holder.fields != fields:
        if holder is not None:
            holder.stopping.set()
        _forget_closed_loops()
        holder = _clients[place] = _LoopClient(fields, region)
        holder.task = loop.create_task(holder.own(snapshot, loop), name="pynamo_sessions-async-client")
    return holder


def client(region: str | None = None) -> Any:
    """The running loop's client (for ``region``'s replica, else this process's) when it is ready;
    None while it is being built or without the extra (the caller then sends through the sync
    transport in a thread)."""
    holder = _holder(region) if enabled() else None
    return None if holder is None else holder.client


async def connect(region: str | None = None) -> None:
    """Build the running loop's client (for ``region``'s replica, else this process's) now, from a
    startup hook or in tests, and wait for it."""
    holder = _holder(region) if enabled() else None
    if holder is not None:
        await holder.ready.wait()


def _forget_closed_loops() -> None:
    # A loop closed before its owner task ever ran (cancelled before its first step) never runs
    # the task's clean-up; nothing can use a closed loop again, so its entry goes here.
    for place in [place for place in _clients if place[0].is_closed()]:
        _clients.pop(place, None)


def open_clients() -> int:
    """How many loops hold a client now (for tests: short-lived loops must leave none)."""
    _forget_closed_loops()
    return len(_clients)


async def send(client: Any, op: ops.DynamoDBOp) -> Any:
    """Send ``op`` with ``client``; the same answers and errors as ``transport.send``."""
    snapshot = conf.current()
    model = models.bound_model()
    # The requests of store.wire (ops.Put.request: PynamoDB's own builder for an item of another
    # shape), as the sync transport sends them: the same request on the wire.
    capacity = ops.capacity_to_return(snapshot)
    attempt = calls.begin(op.operation, snapshot, op.conflict, op.region)
    try:
        if isinstance(op, ops.Get):
            response = await client.get_item(**wire.key_request(model, op.item_key),
                                              ConsistentRead=snapshot.consistent_read, ReturnConsumedCapacity=capacity)
            raw = response.get("Item")
            return ops.got(attempt, None if raw is None else models.from_raw(model, raw), snapshot)
        if isinstance(op, ops.Put):
            # What save() sends, its version condition and next version included.
            try:
                response = await client.put_item(**op.request(), ReturnConsumedCapacity=capacity)
            except ClientError as exc:
                return ops.put_failed(attempt, exc)
            wire.written(op.item)  # as save() does
            return ops.written(attempt, response)
        return ops.written(attempt, await client.delete_item(**wire.key_request(model, op.item_key),
                                                             ReturnConsumedCapacity=capacity))
    except (BotoCoreError, ClientError) as exc:
        raise attempt.failed(exc) from exc
