"""ASGI benchmark: async views under uvicorn, Django's stock async session path against ours.

    make bench BENCH_ARGS=asgi
    make bench BENCH_ARGS="asgi --requests 1000 --repetitions 3"

Two uvicorn processes (one worker each) serve the same async views against the same DynamoDB
Local table: ``stock`` runs Django's SessionMiddleware and SessionBase's async methods (each a
sync call in a thread, as every Django session backend does), ``native`` ours (the middleware
and the store on the loop's aiobotocore client). They take turns cell by cell, repetition after
repetition, so drift on the machine hits both alike. For each view and concurrency it prints
medians of: requests per second, p50/p99 latency, the server process's CPU per request (from
/proc), and DynamoDB calls per request (from the metrics callback).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
VARIANTS = ("stock", "native")
VIEWS = {"read-only": "read", "read-modify-write": "rmw"}
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


class Server:
    def __init__(self, variant: str, endpoint: str) -> None:
        from pynamo_sessions.testing import free_port

        self.variant = variant
        self.port = free_port()
        env = {**os.environ, "BENCH_ASGI_VARIANT": variant, "BENCH_ENDPOINT": endpoint,
               "DJANGO_SETTINGS_MODULE": "bench.asgi.settings", "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bench.asgi.app:application", "--port", str(self.port),
             "--workers", "1", "--loop", "asyncio", "--no-access-log", "--log-level", "warning"],
            cwd=ROOT, env=env,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        from pynamo_sessions.testing import stop_process

        stop_process(self.process)


async def calls_made(session: Any, server: Server) -> int:
    async with session.get(f"{server.url}/calls/") as response:
        return int((await response.json())["calls"])


async def cell(server: Server, path: str, clients: int, requests: int) -> dict[str, float]:
    """``requests`` requests spread over ``clients`` concurrent clients, each with its own session."""
    import aiohttp

    latencies: list[float] = []
    per_client = max(1, requests // clients)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as probe:
        sessions = [aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                          connector=aiohttp.TCPConnector(limit=1)) for _ in range(clients)]
        try:
            for session in sessions:  # each client's session exists before the clock starts
                async with session.get(f"{server.url}/rmw/") as response:
                    assert response.status == 200, response.status
            calls_before = await calls_made(probe, server)

            async def visit(session: Any) -> None:
                for _ in range(per_client):
                    started = time.perf_counter()
                    async with session.get(f"{server.url}/{path}/") as response:
                        await response.read()
                        assert response.status == 200, response.status
                    latencies.append(time.perf_counter() - started)

            cpu_before, wall_before = cpu_seconds(server.process.pid), time.perf_counter()
            await asyncio.gather(*(visit(session) for session in sessions))
            wall = time.perf_counter() - wall_before
            cpu = cpu_seconds(server.process.pid) - cpu_before
            calls = await calls_made(probe, server) - calls_before
        finally:
            for session in sessions:
                await session.close()
    done = len(latencies)
    ordered = sorted(latencies)
    return {
        "rps": done / wall,
        "p50_ms": ordered[done // 2] * 1000,
        "p99_ms": ordered[min(done - 1, int(done * 0.99))] * 1000,
        "cpu_ms_per_request": cpu / done * 1000,
        "calls_per_request": calls / done,
    }


async def run(args: argparse.Namespace, servers: dict[str, Server]) -> list[dict[str, Any]]:
    import aiohttp

    from pynamo_sessions.testing import wait_until_up

    first: dict[str, float] = {}
    for variant, server in servers.items():
        wait_until_up(f"{server.url}/calls/", time.monotonic() + 60, server.process)
        async with aiohttp.ClientSession() as session:  # warm up: the client, the JIT, the caches
            started = time.perf_counter()
            async with session.get(f"{server.url}/rmw/") as response:  # this process's first session request
                await response.read()
            first[variant] = (time.perf_counter() - started) * 1000
            for _ in range(args.warm_up):
                async with session.get(f"{server.url}/rmw/") as response:
                    await response.read()
    samples: dict[tuple[str, int, str], list[dict[str, float]]] = {}
    for repetition in range(args.repetitions):
        for view, path in VIEWS.items():
            for clients in args.clients:
                order = VARIANTS if repetition % 2 == 0 else tuple(reversed(VARIANTS))
                for variant in order:
                    result = await cell(servers[variant], path, clients, args.requests)
                    samples.setdefault((view, clients, variant), []).append(result)
        print(f"repetition {repetition + 1} of {args.repetitions} done", file=sys.stderr, flush=True)
    rows = []
    for (view, clients, variant), results in samples.items():
        row: dict[str, Any] = {"view": view, "clients": clients, "variant": variant}
        for name in results[0]:
            row[name] = statistics.median(r[name] for r in results)
        rows.append(row)
    print("first session request after start-up: " + ", ".join(f"{v} {ms:.1f} ms" for v, ms in first.items()))
    return rows


def report(rows: list[dict[str, Any]]) -> None:
    by = {(r["view"], r["clients"], r["variant"]): r for r in rows}
    header = (f"{'view':<18} {'clients':>7} {'path':<7} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'CPU ms/req':>10} {'calls/req':>9} {'req/s ×':>8} {'CPU ×':>6}")
    print(header)
    print("-" * len(header))
    for view in VIEWS:
        for clients in sorted({r["clients"] for r in rows}):
            stock = by[(view, clients, "stock")]
            for variant in VARIANTS:
                row = by[(view, clients, variant)]
                cpu_ratio = row["cpu_ms_per_request"] / stock["cpu_ms_per_request"]
                ratios = "" if variant == "stock" else f"{row['rps'] / stock['rps']:>8.2f} {cpu_ratio:>6.2f}"
                print(f"{view:<18} {clients:>7} {variant:<7} {row['rps']:>7.0f} {row['p50_ms']:>7.1f} "
                      f"{row['p99_ms']:>7.1f} {row['cpu_ms_per_request']:>10.2f} {row['calls_per_request']:>9.2f} "
                      f"{ratios}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench asgi", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests per cell")
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--warm-up", type=int, default=200)
    args = parser.parse_args(argv)

    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.asgi.settings"
    from pynamo_sessions.testing import local_endpoint

    servers: dict[str, Server] = {}
    with local_endpoint() as endpoint:
        os.environ["BENCH_ENDPOINT"] = endpoint
        try:
            import django

            django.setup()
            from pynamo_sessions import create_table

            create_table()
            servers = {variant: Server(variant, endpoint) for variant in VARIANTS}
            rows = asyncio.run(run(args, servers))
        finally:
            for running in servers.values():
                running.stop()
    report(rows)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "asgi.json"
    path.write_text(json.dumps({"date": datetime.now(UTC).isoformat(timespec="seconds"), "args": vars(args),
                                "rows": rows}, indent=2))
    print(f"\nwritten to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
