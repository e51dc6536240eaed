"""Benchmark: pynamo_sessions against a raw-botocore reference store, on DynamoDB Local.

    make bench                                 # the request scenarios (python -m bench)
    make bench BENCH_ARGS="--requests 300"     # more requests per batch
    make bench BENCH_ARGS=clearsessions        # how the clearsessions sweep grows with the table
    make bench BENCH_ARGS=asgi                 # async views under uvicorn: stock path against ours
    make bench BENCH_ARGS=encryption           # CPU per request with encryption at rest on against off
    make bench BENCH_ARGS=users                # the sessions page's read, ordered user index or not
    make bench BENCH_ARGS=regions              # two Regions (MREC, simulated): lost writes, undone logouts

Django's real SessionMiddleware wraps tiny views; each scenario runs for each payload and engine,
interleaved over several rounds so that drift on the machine hits every engine alike. CPU is
``time.process_time`` of this process (DynamoDB Local runs in its own). Calls and capacity units
per request are counted in a separate pass through a counting proxy, so counting costs nothing
in the timed pass. Results are printed and written to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ENGINES = {
    "reference": "bench.reference",
    "pynamo": "pynamo_sessions.backends.dynamodb",
    "cached": "pynamo_sessions.backends.cached_dynamodb",
}
PAYLOADS = {"200B": 200, "4KB": 4 * 1024, "100KB": 100 * 1024}
SCENARIOS = ("new visitor", "read-only", "modify one key", "logout flush")
TABLE = "bench-sessions"
RESULTS = Path(__file__).parent / "results" / "latest.json"


def configure(endpoint: str) -> None:
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="bench-only",
        USE_TZ=True,
        DATABASES={},
        INSTALLED_APPS=["pynamo_sessions", "django.contrib.sessions"],
        SESSION_ENGINE="pynamo_sessions.backends.dynamodb",
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        DYNAMODB_LOCAL_ENDPOINT=endpoint,
        DYNAMODB_REGION="us-east-1",
        DYNAMODB_SESSIONS_TABLE=TABLE,
        LOGGING_CONFIG=None,
    )
    django.setup()


def payload_data(size: int) -> dict[str, str]:
    # Random text, so that the session's zlib compression cannot shrink it.
    text = secrets.token_urlsafe(size)[:size]
    third = len(text) // 3
    return {"a": text[:third], "b": text[third:2 * third], "c": text[2 * third:]}


def views(data: dict[str, str]) -> dict[str, Callable[[Any], Any]]:
    from django.http import HttpResponse

    def new(request: Any) -> Any:
        request.session.update(data)
        return HttpResponse("new")

    def read(request: Any) -> Any:
        return HttpResponse(str(len(request.session.get("a", ""))))

    def modify(request: Any) -> Any:
        request.session["n"] = request.session.get("n", 0) + 1
        return HttpResponse("modified")

    def flush(request: Any) -> Any:
        request.session.get("_auth_user_id")  # as django.contrib.auth.logout reads the user first
        request.session.flush()
        return HttpResponse("flushed")

    return dict(zip(SCENARIOS, (new, read, modify, flush), strict=True))


@dataclass
class Cell:
    """Everything measured for one scenario, payload and engine."""

    latencies: list[float] = field(default_factory=list)
    cpu_per_round: list[float] = field(default_factory=list)
    wall: float = 0.0
    requests: int = 0
    calls: dict[str, float] = field(default_factory=dict)
    capacity: float = 0.0


class Runner:
    def __init__(self) -> None:
        from django.conf import settings
        from django.test import RequestFactory

        self.settings = settings
        self.factory = RequestFactory()

    def store_class(self, engine: str) -> Any:
        from importlib import import_module

        return import_module(ENGINES[engine]).SessionStore

    def middleware(self, engine: str, view: Callable[[Any], Any]) -> Any:
        from django.contrib.sessions.middleware import SessionMiddleware

        # SessionMiddleware picks its engine when it is built; the stores it makes read only
        # engine-independent settings afterwards, so the engines can take turns.
        self.settings.SESSION_ENGINE = ENGINES[engine]
        return SessionMiddleware(view)

    def seed(self, engine: str, data: dict[str, str], count: int) -> list[str]:
        store_class = self.store_class(engine)
        keys = []
        for _ in range(count):
            store = store_class()
            store.update(data)
            store.save()
            keys.append(store.session_key)
        return keys

    def prepare(self, engine: str, scenario: str, data: dict[str, str], n: int) -> tuple[Any, list[Any]]:
        """The middleware-wrapped view and n requests for it, with their sessions seeded."""
        handler = self.middleware(engine, views(data)[scenario])
        if scenario == "new visitor":
            cookies: list[str | None] = [None] * n
        elif scenario == "logout flush":
            cookies = list(self.seed(engine, data, n))
        else:
            cookies = list(self.seed(engine, data, 1) * n)
        requests = []
        for key in cookies:
            request = self.factory.get("/")
            if key:
                request.COOKIES[self.settings.SESSION_COOKIE_NAME] = key
            requests.append(request)
        return handler, requests

    def batch(self, engine: str, scenario: str, data: dict[str, str], n: int) -> tuple[list[float], float, float]:
        """Run n requests; return their latencies, total CPU seconds and total wall seconds."""
        handler, requests = self.prepare(engine, scenario, data, n)
        latencies = []
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for request in requests:
            started = time.perf_counter()
            response = handler(request)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response
        return latencies, time.process_time() - cpu_start, time.perf_counter() - wall_start


def first_request(runner: Runner, data: dict[str, str]) -> dict[str, dict[str, float]]:
    """The very first request of each engine: does it pay for building a client?"""
    result = {}
    for engine in ("reference", "pynamo"):
        latencies, cpu, _ = runner.batch(engine, "new visitor", data, 1)
        result[engine] = {"latency_ms": latencies[0] * 1000, "cpu_ms": cpu * 1000}
    return result


CellKey = tuple[str, str, str]  # scenario, payload, engine


def _listening(sender: Any, **kwargs: Any) -> None:
    pass


def count_pass(runner: Runner, endpoint: str, samples: int) -> dict[CellKey, tuple[dict[str, float], float]]:
    """Calls and capacity units per request, through a counting proxy."""
    from bench import reference
    from pynamo_sessions.store.usage import dynamodb_call
    from pynamo_sessions.testing.faultproxy import FaultProxy

    proxy = FaultProxy(endpoint)
    point_at(runner.settings, proxy.start())
    reference._client = None
    counts = {}
    # Our engines ask DynamoDB for the capacity a call consumed only when someone reads it, as
    # this receiver does (the timed passes have none, as a site without metrics).
    dynamodb_call.connect(_listening, dispatch_uid="bench-count-pass")
    try:
        for scenario in SCENARIOS:
            for payload, size in PAYLOADS.items():
                data = payload_data(size)
                for engine in ENGINES:
                    handler, requests = runner.prepare(engine, scenario, data, samples)  # seeding is not counted
                    ops_before, capacity_before = len(proxy.operations), sum(proxy.capacity.values())
                    for request in requests:
                        handler(request)
                    ops = proxy.operations[ops_before:]
                    calls = {op: ops.count(op) / samples for op in sorted(set(ops))}
                    capacity = (sum(proxy.capacity.values()) - capacity_before) / samples
                    counts[(scenario, payload, engine)] = (calls, capacity)
    finally:
        dynamodb_call.disconnect(dispatch_uid="bench-count-pass")
        proxy.stop()
        point_at(runner.settings, endpoint)
        reference._client = None
    return counts


def point_at(settings: Any, endpoint: str) -> None:
    change(settings, "DYNAMODB_LOCAL_ENDPOINT", endpoint)


def change(settings: Any, name: str, value: Any) -> None:
    """Change a setting the way override_settings does, so the bound model follows."""
    from django.test.signals import setting_changed

    setattr(settings, name, value)
    setting_changed.send(sender=None, setting=name, value=value, enter=True)


def write_amplification(runner: Runner, requests: int) -> dict[str, float]:
    """Writes per read-only request with SESSION_SAVE_EVERY_REQUEST, without and with a touch interval."""
    from pynamodb.signals import pre_dynamodb_send

    settings = runner.settings
    settings.SESSION_SAVE_EVERY_REQUEST = True
    result = {}
    data = payload_data(200)
    writes: list[str] = []

    def record(sender: Any, operation_name: str, **kwargs: Any) -> None:
        if operation_name == "PutItem":
            writes.append(operation_name)

    for interval in (0, 300):
        change(settings, "DYNAMODB_SESSIONS_TOUCH_INTERVAL", interval)
        handler, prepared = runner.prepare("pynamo", "read-only", data, requests)
        writes.clear()
        pre_dynamodb_send.connect(record)
        try:
            for request in prepared:
                handler(request)
        finally:
            pre_dynamodb_send.disconnect(record)
        result[f"touch interval {interval}s"] = len(writes) / requests
    settings.SESSION_SAVE_EVERY_REQUEST = False
    change(settings, "DYNAMODB_SESSIONS_TOUCH_INTERVAL", 0)
    return result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def interleaved_round(
    runner: Runner, scenario: str, payload: str, data: dict[str, str], n: int,
    cells: dict[tuple[str, str, str], Cell],
) -> None:
    """n requests per engine, taking turns request by request, so drift hits all alike."""
    prepared = {engine: runner.prepare(engine, scenario, data, n) for engine in ENGINES}
    cpu = dict.fromkeys(ENGINES, 0.0)
    for i in range(n):
        for engine, (handler, requests) in prepared.items():
            cell = cells.setdefault((scenario, payload, engine), Cell())
            cpu_start, started = time.process_time(), time.perf_counter()
            response = handler(requests[i])
            elapsed = time.perf_counter() - started
            cpu[engine] += time.process_time() - cpu_start
            cell.latencies.append(elapsed)
            cell.wall += elapsed
            cell.requests += 1
            assert response.status_code == 200, response
    for engine in ENGINES:
        cells[(scenario, payload, engine)].cpu_per_round.append(cpu[engine] / n)


def run_requests(args: argparse.Namespace, endpoint: str) -> dict[str, Any]:
    from pynamo_sessions import create_table

    create_table()
    runner = Runner()
    first = first_request(runner, payload_data(200))
    cells: dict[tuple[str, str, str], Cell] = {}
    engines = list(ENGINES)
    for scenario in SCENARIOS:
        for payload, size in PAYLOADS.items():
            data = payload_data(size)
            for engine in engines:
                runner.batch(engine, scenario, data, 5)  # warm this path up
            for _ in range(args.rounds):
                interleaved_round(runner, scenario, payload, data, args.requests, cells)
        print(f"{scenario} done", file=sys.stderr)
    for key, (calls, capacity) in count_pass(runner, endpoint, args.count_samples).items():
        cells[key].calls, cells[key].capacity = calls, capacity
    amplification = write_amplification(runner, 50)
    return report(cells, first, amplification, args)


def report(
    cells: dict[tuple[str, str, str], Cell], first: dict[str, Any], amplification: dict[str, float],
    args: argparse.Namespace,
) -> dict[str, Any]:
    rows = []
    header = (f"{'scenario':<15} {'payload':>7} {'engine':<9} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'CPU µs':>7} {'CPU/ref':>7}  calls/request          {'CU/req':>6}")
    print(header)
    print("-" * len(header))
    for scenario in SCENARIOS:
        for payload in PAYLOADS:
            reference = cells[(scenario, payload, "reference")]
            for engine in ENGINES:
                cell = cells[(scenario, payload, engine)]
                ratios = [ours / ref for ours, ref in zip(cell.cpu_per_round, reference.cpu_per_round, strict=True)]
                row = {
                    "scenario": scenario, "payload": payload, "engine": engine,
                    "requests_per_second": cell.requests / cell.wall,
                    "p50_ms": percentile(cell.latencies, 0.50) * 1000,
                    "p99_ms": percentile(cell.latencies, 0.99) * 1000,
                    "cpu_us_per_request": statistics.median(cell.cpu_per_round) * 1e6,
                    "cpu_ratio_to_reference": statistics.median(ratios),
                    "calls_per_request": cell.calls,
                    "capacity_units_per_request": cell.capacity,
                }
                rows.append(row)
                calls = " ".join(f"{op.replace('Item', '')}={n:g}" for op, n in cell.calls.items()) or "none"
                print(f"{scenario:<15} {payload:>7} {engine:<9} {row['requests_per_second']:>7.0f} "
                      f"{row['p50_ms']:>7.2f} {row['p99_ms']:>7.2f} {row['cpu_us_per_request']:>7.0f} "
                      f"{row['cpu_ratio_to_reference']:>7.2f}  {calls:<22} {cell.capacity:>6.1f}")
    print()
    print("first request after start-up: " + ", ".join(
        f"{engine} {v['latency_ms']:.1f} ms ({v['cpu_ms']:.1f} ms CPU)" for engine, v in first.items()))
    print("SESSION_SAVE_EVERY_REQUEST, read-only requests, writes per request: " + ", ".join(
        f"{name}: {value:.2f}" for name, value in amplification.items()))
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "rounds": args.rounds, "requests_per_engine_and_round": args.requests,
        "rows": rows, "first_request": first, "write_amplification": amplification,
    }


def run_clearsessions(args: argparse.Namespace, endpoint: str) -> dict[str, Any]:
    import botocore.session
    from django.conf import settings

    from pynamo_sessions import delete_table
    from pynamo_sessions.operations import cleanup

    raw = botocore.session.get_session().create_client("dynamodb", region_name="us-east-1", endpoint_url=endpoint)
    rows = []
    print(f"{'items':>8} {'seconds':>8} {'deleted/s':>10}")
    for count in args.sizes:
        table = f"bench-sweep-{count}"
        change(settings, "DYNAMODB_SESSIONS_TABLE", table)
        raw.create_table(
            TableName=table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        past = str(int(time.time()) - 60)
        for start in range(0, count, 25):
            raw.batch_write_item(RequestItems={table: [
                {"PutRequest": {"Item": {"id": {"S": f"k{i:08d}"}, "ttl": {"N": past}, "session_data": {"S": "x"}}}}
                for i in range(start, min(count, start + 25))
            ]})
        sweep = cleanup.clear_expired(segments=args.segments)
        assert sweep.deleted == count, sweep
        rows.append({"items": count, "seconds": sweep.seconds, "deleted_per_second": sweep.rate})
        print(f"{count:>8,} {sweep.seconds:>8.1f} {sweep.rate:>10,.0f}")
        delete_table()
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "clearsessions": rows}


def main() -> int:
    if sys.argv[1:2] == ["asgi"]:
        from bench.asgi.__main__ import main as asgi

        return asgi(sys.argv[2:])
    if sys.argv[1:2] == ["coldstart"]:
        from bench.coldstart.__main__ import main as coldstart

        return coldstart(sys.argv[2:])
    if sys.argv[1:2] == ["encryption"]:
        from bench.encryption import main as encryption

        return encryption(sys.argv[2:])
    if sys.argv[1:2] == ["users"]:
        from bench.users import main as users

        return users(sys.argv[2:])
    if sys.argv[1:2] == ["tabs"]:
        from bench.tabs.__main__ import main as tabs

        return tabs(sys.argv[2:])
    if sys.argv[1:2] == ["regions"]:
        from bench.regions import main as regions

        return regions(sys.argv[2:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", default="requests", choices=["requests", "clearsessions"])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=60, help="requests per engine and round")
    parser.add_argument("--count-samples", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 20_000, 40_000])
    parser.add_argument("--segments", type=int, default=4)
    args = parser.parse_args()

    from pynamo_sessions.testing import local_endpoint

    with local_endpoint() as endpoint:
        configure(endpoint)
        result = run_requests(args, endpoint) if args.what == "requests" else run_clearsessions(args, endpoint)
    RESULTS.parent.mkdir(exist_ok=True)
    path = RESULTS.with_name(f"{args.what}.json")
    path.write_text(json.dumps(result, indent=2, default=str))
    print(f"\nwritten to {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
