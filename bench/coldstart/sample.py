"""One cold start, in the fresh interpreter it runs in: import a Lambda handler module (init),
then answer a read, a read-modify-write and a read on one stored session, as API Gateway HTTP API
(v2) events. Prints one JSON line: CPU and wall seconds per phase, and where the time went.

    COLD_ENGINE=ours|floor|signed_cookies python -m bench.coldstart.sample wsgi|asgi COOKIE
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import Counter
from typing import Any

STARTED_WALL = time.perf_counter()


def cpu() -> float:
    # The process's CPU since it started, to the nanosecond (getrusage counts in scheduler ticks,
    # too coarse for two requests of a few milliseconds).
    return time.process_time()


class Botocore:
    """What a process costs in botocore's terms, counted from outside: the patches only record
    (every original runs as it would)."""

    def __init__(self) -> None:
        self.parsed: Counter[str] = Counter()
        self.clients: list[str] = []
        self.sent: list[str] = []

    def watch(self) -> None:
        import botocore.endpoint
        import botocore.loaders
        import botocore.session

        load_file = botocore.loaders.JSONFileLoader.load_file
        create_client = botocore.session.Session.create_client
        make_request = botocore.endpoint.Endpoint.make_request

        def counting_load(loader: Any, file_path: str, *args: Any, **kwargs: Any) -> Any:
            self.parsed[file_path.rsplit("/data/", 1)[-1]] += 1
            return load_file(loader, file_path, *args, **kwargs)

        def counting_create(session: Any, *args: Any, **kwargs: Any) -> Any:
            self.clients.append(type(session).__name__)
            return create_client(session, *args, **kwargs)

        def counting_request(endpoint: Any, operation_model: Any, *args: Any, **kwargs: Any) -> Any:
            self.sent.append(operation_model.name)
            return make_request(endpoint, operation_model, *args, **kwargs)

        botocore.loaders.JSONFileLoader.load_file = counting_load
        botocore.session.Session.create_client = counting_create
        botocore.endpoint.Endpoint.make_request = counting_request


def compiled_from_source(names: set[str]) -> list[str]:
    """The modules among ``names`` that had no bytecode file, so this process compiled them."""
    found = []
    for name in sorted(names):
        cached = getattr(sys.modules.get(name), "__cached__", None)
        if cached and not os.path.exists(cached):
            found.append(name)
    return found


def main() -> None:
    kind, cookie = sys.argv[1], sys.argv[2]
    modules_before = set(sys.modules)
    counted = Botocore()
    if os.environ.get("COLD_ENGINE") != "signed_cookies":  # which never imports botocore
        counted.watch()
    threads_before = {t.ident for t in threading.enumerate()}
    if os.environ.get("COLD_DEFER_CLIENT"):
        # The alternative measured: no client built at init, so the first request builds it.
        import pynamo_sessions.store.transport

        pynamo_sessions.store.transport.build_client = lambda: None

    module = "bench.coldstart.wsgi_handler" if kind == "wsgi" else "bench.coldstart.asgi_handler"
    handler = __import__(module, fromlist=["handler"]).handler
    init_cpu, init_wall = cpu(), time.perf_counter() - STARTED_WALL
    init_calls, init_clients = len(counted.sent), list(counted.clients)
    left_running = [t.name for t in threading.enumerate() if t.ident not in threads_before and t.is_alive()]

    from tests.lambda_events import Context, event

    prefix = "" if kind == "wsgi" else "a"
    paths = (f"/{prefix}read/", f"/{prefix}rmw/", f"/{prefix}read/")
    # Under valgrind (--instructions) the process is counted whole, and its phases by running it
    # with fewer requests: COLD_REQUESTS=1, then 3.
    answered = int(os.environ.get("COLD_REQUESTS", len(paths)))
    phases: list[tuple[float, float]] = []
    for path in paths[:answered]:
        wall = time.perf_counter()
        response = handler(event("apigw-v2", path, cookie=cookie), Context())
        assert response["statusCode"] == 200, response
        phases.append((cpu(), time.perf_counter() - wall))
    if answered < len(paths):
        return
    print(json.dumps({
        "init_cpu": init_cpu, "init_wall": init_wall,
        "first_cpu": phases[0][0], "first_wall": init_wall + phases[0][1],
        "next_two_cpu": phases[2][0] - phases[0][0], "next_two_wall": phases[1][1] + phases[2][1],
        "dynamodb_calls_in_init": init_calls, "clients_in_init": init_clients, "clients": counted.clients,
        "files_parsed": dict(counted.parsed),
        "modules": len(set(sys.modules) - modules_before),
        "compiled": compiled_from_source(set(sys.modules) - modules_before),
        "async_modules": len([m for m in sys.modules if m.split(".")[0] in ("aiobotocore", "aiohttp")]),
        "threads_left_after_init": left_running,
    }))


if __name__ == "__main__":
    main()
