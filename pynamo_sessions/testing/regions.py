"""Two Regions on one machine: two DynamoDB Locals, and a replicator between them that behaves as
a multi-Region, eventually consistent global table (MREC) does.

No machine here has two AWS Regions, and DynamoDB Local has no global tables; what MREC does to
our guarantees is shown on this instead:

- each DynamoDB Local is one Region's replica of the sessions table, with a stream of new and
  old images;
- the ``Replicator`` follows both streams and applies each write to the other replica after a
  lag (``lag``: seconds, or a (low, high) range drawn per write, in order per item), as MREC
  does: conditions were checked in the Region that wrote, and a conflict is settled by the last
  writer (the write seen last wins in both replicas; the one it beat is dropped, recording
  nothing).

    with TwoRegions(lag=(0.1, 2.0)) as regions:     # two DynamoDB Locals, us-east-1 and eu-west-1
        regions.create_table("sessions")            # or create it yourself, then regions.follow(table)
        ... a site per Region: regions.endpoints[region] ...
        regions.settle()                            # until every write has reached both replicas
    print(regions.replicator.dropped)               # writes a later one beat (LWW)

A write the replicator applies shows up on the other replica's stream too; it is recognised
there (the replicator remembers what it wrote) and not sent back.
"""

from __future__ import annotations

import heapq
import json
import random
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from pynamo_sessions.testing import DUMMY_CREDENTIALS, DynamoDBLocal, use_dummy_credentials

REGIONS = ("us-east-1", "eu-west-1")
_POLL = 0.01  # seconds between two reads of each stream


def client(endpoint: str, region: str, service: str = "dynamodb") -> Any:
    """A plain botocore client of one replica (``service="dynamodbstreams"``: of its stream)."""
    import botocore.session
    from botocore.config import Config

    return botocore.session.get_session().create_client(
        service, region_name=region, endpoint_url=endpoint, aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"total_max_attempts": 5}))


def _fingerprint(image: dict[str, Any] | None) -> str:
    return "-" if image is None else json.dumps(image, sort_keys=True)


@dataclass(order=True)
class _Change:
    due: float
    order: int  # an item's writes that fall due at once are applied in the order they were made
    seen: float = field(compare=False)  # when the write was made (seen on its stream)
    source: str = field(compare=False)
    target: str = field(compare=False)
    key: dict[str, Any] = field(compare=False)
    image: dict[str, Any] | None = field(compare=False)  # None: a deletion


class Replicator:
    """MREC between the replicas in ``endpoints`` (Region -> endpoint) of table ``table``.

    Counts what it did: ``replicated`` writes applied to the other replica, ``dropped`` writes
    that a later write to the same item beat (last writer wins: the changes of the dropped one
    are lost, in both replicas)."""

    def __init__(self, endpoints: dict[str, str], table: str, *, lag: float | tuple[float, float] = 0.5,
                 seed: int | None = None) -> None:
        self.endpoints = endpoints
        self.table = table
        self.lag = (lag, lag) if isinstance(lag, (int, float)) else lag
        self._random = random.Random(seed)
        self._clients = {region: client(url, region) for region, url in endpoints.items()}
        self._streams = {region: client(url, region, "dynamodbstreams") for region, url in endpoints.items()}
        self._iterators: dict[str, dict[str, str | None]] = {region: {} for region in endpoints}
        self._queue: list[_Change] = []
        self._made = 0
        self._last_due: dict[tuple[str, str], float] = {}  # (target, key): so an item's writes keep their order
        self._last_write: dict[tuple[str, str], float] = {}  # (replica, key): when its current value was written
        self._echoes: dict[tuple[str, str], list[str]] = {}  # what we wrote, to recognise on the stream
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._held = threading.Event()
        self._thread: threading.Thread | None = None
        self.replicated = 0
        self.dropped = 0
        self.errors: list[str] = []

    # The streams ------------------------------------------------------------------------

    @staticmethod
    def enable_stream(dynamodb: Any, table: str) -> None:
        description = dynamodb.describe_table(TableName=table)["Table"]
        if not (description.get("StreamSpecification") or {}).get("StreamEnabled"):
            dynamodb.update_table(TableName=table, StreamSpecification={
                "StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})

    def start(self) -> Replicator:
        for region, dynamodb in self._clients.items():
            self.enable_stream(dynamodb, self.table)
            self._discover(region, start="LATEST")
        self._thread = threading.Thread(target=self._run, name="pynamo_sessions-replicator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _discover(self, region: str, *, start: str = "TRIM_HORIZON") -> None:
        """Find the stream's shards (a new one opens as the old one closes) and read each once."""
        arn = self._clients[region].describe_table(TableName=self.table)["Table"]["LatestStreamArn"]
        streams = self._streams[region]
        shards = streams.describe_stream(StreamArn=arn)["StreamDescription"].get("Shards") or []
        known = self._iterators[region]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in known:
                continue
            # A shard found at start is read from now on; one opened later, from its first record.
            open_shard = "EndingSequenceNumber" not in shard.get("SequenceNumberRange", {})
            if start == "LATEST" and not open_shard:
                known[shard_id] = None
                continue
            known[shard_id] = streams.get_shard_iterator(StreamArn=arn, ShardId=shard_id,
                                                         ShardIteratorType=start)["ShardIterator"]

    def _run(self) -> None:
        rediscover = 0.0
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                if now >= rediscover:
                    for region in self.endpoints:
                        self._discover(region)
                    rediscover = now + 0.5
                for region in self.endpoints:
                    self._read(region)
                self._apply_due()
            except Exception as exc:  # noqa: BLE001 - a test tool: say what broke, keep replicating
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self._stop.wait(_POLL)

    def _read(self, region: str) -> None:
        iterators = self._iterators[region]
        for shard_id, iterator in list(iterators.items()):
            if iterator is None:
                continue
            answer = self._streams[region].get_records(ShardIterator=iterator)
            iterators[shard_id] = answer.get("NextShardIterator")
            for record in answer.get("Records") or []:
                self._seen(region, record["dynamodb"], record["eventName"])

    def _seen(self, region: str, change: dict[str, Any], event: str) -> None:
        key = change["Keys"]
        name = _fingerprint(key)
        image = None if event == "REMOVE" else change.get("NewImage")
        with self._lock:
            echoes = self._echoes.get((region, name))
            if echoes and _fingerprint(image) in echoes:
                echoes.remove(_fingerprint(image))  # our own write, replicated here: not sent back
                return
            seen = time.monotonic()
            self._last_write[(region, name)] = seen
            for target in self.endpoints:
                if target == region:
                    continue
                due = max(seen + self._random.uniform(*self.lag), self._last_due.get((target, name), 0.0))
                self._last_due[(target, name)] = due
                self._made += 1
                heapq.heappush(self._queue, _Change(due, self._made, seen, region, target, key, image))

    def hold(self) -> None:
        """Apply nothing until ``release()``: the replicas stay as they are (a lag as long as a test
        needs, whatever the machine's speed); the streams are still read, so no write is missed."""
        self._held.set()

    def release(self) -> None:
        self._held.clear()

    def _apply_due(self) -> None:
        while not self._held.is_set():
            with self._lock:
                if not self._queue or self._queue[0].due > time.monotonic():
                    return
                change = heapq.heappop(self._queue)
                name = _fingerprint(change.key)
                if self._last_write.get((change.target, name), -1.0) > change.seen:
                    self.dropped += 1  # the target holds a later write: last writer wins
                    continue
            self._write(change, name)

    def _write(self, change: _Change, name: str) -> None:
        dynamodb = self._clients[change.target]
        if change.image is None:
            old = dynamodb.delete_item(TableName=self.table, Key=change.key, ReturnValues="ALL_OLD").get("Attributes")
        else:
            old = dynamodb.put_item(TableName=self.table, Item=change.image, ReturnValues="ALL_OLD").get("Attributes")
        with self._lock:
            self.replicated += 1
            self._last_write[(change.target, name)] = change.seen
            if _fingerprint(old) != _fingerprint(change.image):  # a write that changed nothing streams nothing
                self._echoes.setdefault((change.target, name), []).append(_fingerprint(change.image))

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def settle(self, timeout: float = 30.0) -> None:
        """Release a hold and wait until every write made so far has reached every replica
        (streams read, queue applied, nothing more arriving)."""
        deadline = time.monotonic() + timeout
        quiet_since: float | None = None
        self.release()
        while time.monotonic() < deadline:
            if self.pending():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 0.3:
                return
            time.sleep(0.02)
        raise TimeoutError(f"replication did not settle in {timeout} s ({self.pending()} writes pending)")


class TwoRegions:
    """Two DynamoDB Locals as the Regions of a global table (``endpoints``), and the replicator
    of a table on them once ``create_table`` or ``follow`` names it. ``given`` maps a Region to a
    DynamoDB Local already running (a test run's) instead of starting one for it."""

    def __init__(self, *, lag: float | tuple[float, float] = 0.5, regions: tuple[str, str] = REGIONS,
                 given: dict[str, str] | None = None, seed: int | None = None) -> None:
        self.regions = regions
        self.lag = lag
        self.seed = seed
        self.given = given or {}
        self.endpoints: dict[str, str] = {}
        self.replicator: Replicator | None = None
        self._stack = ExitStack()

    def __enter__(self) -> TwoRegions:
        use_dummy_credentials()
        for region in self.regions:
            self.endpoints[region] = self.given.get(region) or self._stack.enter_context(DynamoDBLocal())
        return self

    def __exit__(self, *exc: object) -> None:
        if self.replicator is not None:
            self.replicator.stop()
        self._stack.close()

    def create_table(self, table: str, key_attribute: str = "id") -> Replicator:
        """A bare sessions table (string hash key, on demand) in each Region, replicated."""
        for region, url in self.endpoints.items():
            client(url, region).create_table(
                TableName=table, BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[{"AttributeName": key_attribute, "AttributeType": "S"}],
                KeySchema=[{"AttributeName": key_attribute, "KeyType": "HASH"}],
                StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        return self.follow(table)

    def follow(self, table: str) -> Replicator:
        """Replicate ``table`` (already in both Regions) from now on."""
        if self.replicator is not None:
            self.replicator.stop()
        self.replicator = Replicator(self.endpoints, table, lag=self.lag, seed=self.seed).start()
        return self.replicator

    def settle(self, timeout: float = 30.0) -> None:
        assert self.replicator is not None, "create_table() or follow() first"
        self.replicator.settle(timeout)

    def items(self, region: str, table: str) -> Iterator[dict[str, Any]]:
        """Every item of one replica (a Scan): what the harness's checks compare."""
        dynamodb = client(self.endpoints[region], region)
        for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
            yield from page.get("Items") or []
