"""A small HTTP proxy between botocore and DynamoDB Local that records calls and injects faults.

Faults are injected on the wire, as a real outage would show them, instead of by patching
botocore: botocore's own retries, timeouts and error parsing all take part. Point
DYNAMODB_LOCAL_ENDPOINT at ``FaultProxy(upstream).start()`` to test how your own app behaves
when DynamoDB throttles, fails, drops the connection or answers slowly. It also adds up the
capacity units DynamoDB reports per operation, which the benchmark prints.
"""

from __future__ import annotations

import http.client
import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# The faults a test can ask for.
PASS = "pass"  # noqa: S105 - a mode name, not a password
THROTTLE = "throttle"  # 400 ProvisionedThroughputExceededException
SERVER_ERROR = "server_error"  # 500 InternalServerError
DROP = "drop"  # read the request, close the connection without answering
RESET = "reset"  # read the request, reset the connection (as a host that refuses it)
BLACKHOLE = "blackhole"  # read the request, never answer; the connection closes once the fault clears
SLOW = "slow"  # wait `delay` seconds before forwarding
# One session's key over DynamoDB's per-partition limit: requests for the first item key seen
# after the fault is set (or for `hot_keys`, when set) answer 400
# ProvisionedThroughputExceededException with a *KeyRangeThroughputExceeded reason; every other
# request passes.
HOT_KEY = "hot_key"
# BatchWriteItem carried out in part, as DynamoDB does when it throttles some of a batch: the first
# `batch_keep` requests of each batch are forwarded, and the answer (200) lists the rest as
# UnprocessedItems. Other operations pass.
UNPROCESSED = "unprocessed"
# The request is carried out by DynamoDB Local, then the connection is closed before the answer
# reaches the client: botocore sees a lost connection and resends a request that already took effect.
LOSE_ANSWER = "lose_answer"
# A blackholed request is held at most this long, so no thread of ours outlives a test by much.
BLACKHOLE_LIMIT = 60.0

# A strongly consistent global table (MRSC) refusing a write that conflicts with one being
# replicated from another Region: 400 ReplicatedWriteConflictException, which botocore retries.
REPLICATED_CONFLICT = "replicated_conflict"

_ERRORS = {
    THROTTLE: (400, "ProvisionedThroughputExceededException", "The level of configured provisioned throughput "
               "for the table was exceeded."),
    REPLICATED_CONFLICT: (400, "ReplicatedWriteConflictException", "One or more items in this request are being "
                          "modified by a request in another Region."),
    SERVER_ERROR: (500, "InternalServerError", "Internal server error"),
}


def _named_keys(body: bytes) -> tuple[str | None, set[str]]:
    """The hash key value a GetItem/DeleteItem request's ``Key`` names (None for other requests),
    and every string value of its ``Key`` or ``Item`` (a PutItem's key is among them)."""
    try:
        request = json.loads(body)
    except ValueError:
        return None, set()
    if not isinstance(request, dict):
        return None, set()
    named = request.get("Key") or request.get("Item") or {}
    values = {v["S"] for v in named.values() if isinstance(v, dict) and isinstance(v.get("S"), str)}
    key = next(iter(values)) if "Key" in request and len(values) == 1 else None
    return key, values


def _decoded(body: bytes) -> Any:
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or 80
        self.fault = PASS
        self.delay = 5.0
        self.operations: list[str] = []
        # Every request as sent (operation, decoded JSON body), for tests that look at what was asked.
        self.requests: list[tuple[str, Any]] = []
        self.capacity: dict[str, float] = {}
        self.faulted = 0
        # When set, the fault applies to this many more requests only, then PASS resumes.
        self.remaining: int | None = None
        # When set, only this operation is faulted; the others pass.
        self.only: str | None = None
        # THROTTLE's ThrottlingReasons ("TableReadProvisionedThroughputExceeded"); none by default,
        # as DynamoDB Local and older endpoints send none.
        self.throttling_reasons: list[str] = []
        # The item keys HOT_KEY throttles.
        self.hot_keys: set[str] = set()
        # How many requests of each batch UNPROCESSED lets through (None: half, rounded up).
        self.batch_keep: int | None = None
        # A global secondary index that has not caught up (DynamoDB's are eventually consistent,
        # DynamoDB Local's never lag): Query answers leave out the items with these key values.
        self.index_lag: set[str] = set()
        self._query_gate: threading.Barrier | None = None
        # Merged into every DescribeTable answer's Table: what DynamoDB Local cannot show, such as
        # a global table's {"Replicas": [...], "MultiRegionConsistency": "STRONG"}.
        self.table_description: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._cleared = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> str:
        self._thread.start()
        return self.endpoint

    def stop(self) -> None:
        self._cleared.set()  # let blackholed requests go
        self._server.shutdown()
        self._server.server_close()

    def count(self, operation: str) -> int:
        with self._lock:
            return self.operations.count(operation)

    def fail_next(self, count: int, fault: str) -> None:
        with self._lock:
            self.fault, self.remaining = fault, count

    def set_fault(self, fault: str, *, only: str | None = None) -> None:
        """Inject ``fault`` into every request from now on, or only into ``only`` operations
        ("PutItem"); PASS ends it and releases blackholed requests."""
        with self._lock:
            self.fault, self.remaining, self.only = fault, None, only
            if fault != HOT_KEY:
                self.hot_keys = set()
            if fault == PASS:
                self._cleared.set()
            else:
                self._cleared.clear()

    def hold_queries(self, count: int, timeout: float = 10.0) -> None:
        """Hold each of the next ``count`` Queries until all ``count`` have arrived (parallel
        requests that each write, then query: every write is then done before any query is
        answered). Released anyway after ``timeout`` seconds."""
        with self._lock:
            self._query_gate = threading.Barrier(count, timeout=timeout)

    def _await_query_gate(self) -> None:
        with self._lock:
            gate = self._query_gate
        if gate is None:
            return
        try:
            if gate.wait() == 0:
                with self._lock:
                    if self._query_gate is gate:
                        self._query_gate = None
        except threading.BrokenBarrierError:
            pass

    def _record(self, operation: str, named: tuple[str | None, set[str]]) -> str:
        with self._lock:
            self.operations.append(operation)
            fault = self.fault
            if self.only is not None and operation != self.only:
                return PASS
            if fault == UNPROCESSED and operation != "BatchWriteItem":
                return PASS
            if fault == HOT_KEY:
                key, values = named
                if not self.hot_keys and key is not None:
                    self.hot_keys.add(key)  # the first session read after the fault is set
                if not self.hot_keys & values:
                    return PASS
            if fault != PASS:
                self.faulted += 1
                if self.remaining is not None:
                    self.remaining -= 1
                    if self.remaining <= 0:
                        self.fault, self.remaining = PASS, None
            return fault

    def _add_capacity(self, target: str, data: bytes) -> None:
        if not target:
            return
        try:
            units = json.loads(data).get("ConsumedCapacity", {}).get("CapacityUnits")
        except (ValueError, AttributeError):
            return
        if isinstance(units, (int, float)):
            operation = target.rpartition(".")[2]
            with self._lock:
                self.capacity[operation] = self.capacity.get(operation, 0.0) + units

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._forward(b"")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                target = self.headers.get("X-Amz-Target", "")
                operation = target.rpartition(".")[2]
                fault = proxy._record(operation, _named_keys(body))
                with proxy._lock:
                    proxy.requests.append((operation, _decoded(body)))
                if fault in _ERRORS:
                    status, code, message = _ERRORS[fault]
                    payload: dict[str, Any] = {"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}
                    if fault == THROTTLE and proxy.throttling_reasons:
                        payload["ThrottlingReasons"] = [{"reason": r} for r in proxy.throttling_reasons]
                    self._answer(status, payload)
                elif fault == HOT_KEY:
                    kind = "Read" if operation in ("GetItem", "Query", "Scan") else "Write"
                    self._answer(400, {
                        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                        "message": "Throughput exceeds the current capacity for one or more partitions.",
                        "ThrottlingReasons": [{"reason": f"Table{kind}KeyRangeThroughputExceeded",
                                               "resource": "arn:aws:dynamodb:us-east-1:000000000000:table/faultproxy"}],
                    })
                elif fault == DROP:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif fault == RESET:
                    self.close_connection = True
                    # SO_LINGER 0: close() sends RST instead of FIN.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                elif fault == UNPROCESSED:
                    self._forward_in_part(body)
                elif fault == LOSE_ANSWER:
                    self._forward(body, answer=False)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                elif fault == BLACKHOLE:
                    proxy._cleared.wait(BLACKHOLE_LIMIT)
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                else:
                    if fault == SLOW:
                        time.sleep(proxy.delay)
                    if operation == "Query":
                        proxy._await_query_gate()
                    if operation == "Query" and proxy.index_lag:
                        self._forward_lagging(body)
                    elif operation == "DescribeTable" and proxy.table_description:
                        self._forward_described(body)
                    else:
                        self._forward(body)

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("x-amzn-RequestId", "faultproxy")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _forward(self, body: bytes, *, answer: bool = True) -> None:
                status, headers, data = self._upstream(body)
                if not answer:
                    return
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("connection", "transfer-encoding", "content-length", "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _upstream(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
                upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=30)
                try:
                    # The signature covers the body, which DynamoDB Local does not verify: a
                    # request cut down by _forward_in_part is accepted as it is.
                    skipped = ("connection", "content-length")
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in skipped}
                    headers["Content-Length"] = str(len(body))
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                finally:
                    upstream.close()
                proxy._add_capacity(self.headers.get("X-Amz-Target", ""), data)
                return response.status, response.getheaders(), data

            def _forward_lagging(self, body: bytes) -> None:
                status, _, data = self._upstream(body)
                answer = json.loads(data)
                if status == 200 and "Items" in answer:
                    lagging = proxy.index_lag
                    answer["Items"] = [item for item in answer["Items"] if not any(
                        isinstance(v, dict) and v.get("S") in lagging for v in item.values())]
                    answer["Count"] = len(answer["Items"])
                self._answer(status, answer)

            def _forward_described(self, body: bytes) -> None:
                status, _, data = self._upstream(body)
                answer = json.loads(data)
                if status == 200 and "Table" in answer:
                    answer["Table"].update(proxy.table_description)
                self._answer(status, answer)

            def _forward_in_part(self, body: bytes) -> None:
                request = json.loads(body)
                kept: dict[str, list[Any]] = {}
                unprocessed: dict[str, list[Any]] = {}
                for table, writes in request.get("RequestItems", {}).items():
                    keep = proxy.batch_keep if proxy.batch_keep is not None else (len(writes) + 1) // 2
                    if writes[:keep]:
                        kept[table] = writes[:keep]
                    if writes[keep:]:
                        unprocessed[table] = writes[keep:]
                answer: dict[str, Any] = {}
                if kept:
                    status, _, data = self._upstream(json.dumps({**request, "RequestItems": kept}).encode())
                    if status != 200:
                        self._answer(status, json.loads(data))
                        return
                    answer = json.loads(data)
                answer["UnprocessedItems"] = unprocessed
                self._answer(200, answer)

        return Handler
