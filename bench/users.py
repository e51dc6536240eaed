"""What the sessions page reads: a user with 3 and with 300 sessions, on an ordered user index (a
sort key on the last use) and on an index made by an earlier release (the user id alone).

    make bench BENCH_ARGS=users

Each case reads the 50 sessions the page shows (``users.recent_sessions``), interleaved over
rounds; the figures are medians of wall time and of this process's CPU (DynamoDB Local runs in
its own), and the items DynamoDB returned. Results go to bench/results/users.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.__main__ import RESULTS, change, configure

PAGE = 50
USERS = {"3 sessions": 3, "300 sessions": 300}
TABLES = {"ordered": "bench-users-ordered", "earlier release": "bench-users-earlier"}


def fill(count: int, user_id: str) -> None:
    from pynamo_sessions.store import models

    model = models.bound_model()
    now = time.time()
    with model.batch_write() as batch:
        for n in range(count):
            batch.save(model(f"u{user_id}x{n:05d}".ljust(32, "x"), data="e30:1tQ6qK:placeholder",
                             expires=datetime.now(UTC) + timedelta(hours=1), user_id=user_id,
                             updated=int(now) - n, user_agent=f"Mozilla/5.0 Bench/{n}", ip_address="10.0.0.1"))


def earlier_release_table(raw: Any, table: str) -> None:
    """The sessions table as releases before the ordered user index made it: a user index keyed
    by the user id alone (no sort key), projecting the page's columns."""
    raw.create_table(
        TableName=table, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"},
                              {"AttributeName": "user_id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[{
            "IndexName": "user_id-index", "KeySchema": [{"AttributeName": "user_id", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "INCLUDE",
                           "NonKeyAttributes": ["ttl", "updated", "user_agent", "ip_address", "created"]},
        }],
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench users", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)

    import botocore.session
    from django.conf import settings

    from pynamo_sessions import create_table
    from pynamo_sessions.operations import users
    from pynamo_sessions.testing import local_endpoint

    with local_endpoint() as endpoint:
        configure(endpoint)
        change(settings, "DYNAMODB_SESSIONS_TRACK_USERS", True)
        raw = botocore.session.get_session().create_client("dynamodb", region_name="us-east-1",
                                                            endpoint_url=endpoint)
        for kind, table in TABLES.items():
            change(settings, "DYNAMODB_SESSIONS_TABLE", table)
            if kind == "ordered":
                create_table()
            else:
                earlier_release_table(raw, table)
            for who, count in USERS.items():
                fill(count, who.split()[0])
        samples: dict[tuple[str, str], list[tuple[float, float, int]]] = {}
        for _ in range(args.rounds):
            for kind, table in TABLES.items():
                change(settings, "DYNAMODB_SESSIONS_TABLE", table)
                for who in USERS:
                    wall, cpu = time.perf_counter(), time.process_time()
                    shown, _total = users.recent_sessions(who.split()[0], PAGE)
                    samples.setdefault((kind, who), []).append(
                        (time.perf_counter() - wall, time.process_time() - cpu, len(shown)))
        read = {}
        for kind, table in TABLES.items():
            change(settings, "DYNAMODB_SESSIONS_TABLE", table)
            for who in USERS:
                read[(kind, who)] = _items_read(who.split()[0])
    rows = []
    print(f"{'index':<16} {'user':<13} {'ms':>6} {'CPU ms':>7} {'items read':>10}")
    for (kind, who), values in samples.items():
        row = {"index": kind, "user": who, "ms": statistics.median(v[0] for v in values) * 1000,
               "cpu_ms": statistics.median(v[1] for v in values) * 1000, "items_read": read[(kind, who)]}
        rows.append(row)
        print(f"{kind:<16} {who:<13} {row['ms']:>6.1f} {row['cpu_ms']:>7.1f} {row['items_read']:>10}")
    path = RESULTS.with_name("users.json")
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"date": datetime.now(UTC).isoformat(timespec="seconds"), "rounds": args.rounds,
                                "rows": rows}, indent=2))
    print(f"written to {path}")
    return 0


def _items_read(user_id: str) -> int:
    """How many items the page's read made DynamoDB return (ScannedCount of each Query)."""
    from pynamo_sessions.operations import users
    from pynamo_sessions.store import models

    counted: list[int] = []
    events = models.bound_model()._get_connection().connection.client.meta.events

    def record(parsed: dict[str, Any], **kwargs: Any) -> None:
        counted.append(int(parsed.get("ScannedCount", 0)))

    events.register("after-call.dynamodb.Query", record, unique_id="bench-users")
    try:
        users.recent_sessions(user_id, PAGE)
    finally:
        events.unregister("after-call.dynamodb.Query", unique_id="bench-users")
    return sum(counted)
