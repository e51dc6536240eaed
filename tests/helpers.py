"""Small helpers shared by the tests."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from pynamodb.signals import pre_dynamodb_send

#: ``await via(store, "save")``: a store method called through one transport (the ``via`` fixture).
Via = Callable[..., Awaitable[Any]]


@contextmanager
def count_calls() -> Iterator[Counter[str]]:
    """Count the DynamoDB operations PynamoDB sends inside the block, by name."""
    calls: Counter[str] = Counter()

    def record(sender: Any, operation_name: str, **kwargs: Any) -> None:
        calls[operation_name] += 1

    pre_dynamodb_send.connect(record)
    try:
        yield calls
    finally:
        pre_dynamodb_send.disconnect(record)


def closed_port_url() -> str:
    """The URL of a local port nothing listens on."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def create_table_of_an_earlier_release(raw: Any, table: str) -> None:
    """The sessions table as releases before the ordered user index made it (the bench's own)."""
    from bench.users import earlier_release_table

    earlier_release_table(raw, table)
    raw.update_time_to_live(TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": "ttl"})


FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")
