"""Tabs: parallel requests on one session, as a browser sends them, through real servers.

    make bench BENCH_ARGS=tabs
    make bench BENCH_ARGS="tabs --tabs 6 --clicks 100"

One session, N tabs: each tab is a thread with its own keep-alive connection that clicks a view
incrementing *its own* key of the shared session, one request after another. The site runs under
gunicorn (gthread, sync views) and under uvicorn (async views), on our engine and on Django's
``db`` engine (SQLite), in turn. At the end the driver reads the session back through the site
and prints, per server and engine, the increments the server acknowledged (HTTP 200) against
those stored, key by key. An engine that loses nothing stores exactly what it acknowledged.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
ENGINES = {"dynamodb": "pynamo_sessions (dynamodb)", "cached_dynamodb": "pynamo_sessions (cached_dynamodb)",
           "db": "Django's db (SQLite)"}
SERVERS = ("gunicorn", "uvicorn")


@dataclass
class Run:
    server: str
    engine: str
    acknowledged: dict[str, int] = field(default_factory=dict)
    stored: dict[str, int] = field(default_factory=dict)
    errors: dict[int, int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def lost(self) -> int:
        return sum(max(0, n - self.stored.get(key, 0)) for key, n in self.acknowledged.items())


def start(server: str, env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    if server == "gunicorn":
        command = ["-m", "gunicorn", "bench.tabs.app:wsgi()", "--worker-class", "gthread", "--workers", str(workers),
                   "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--log-level", "warning"]
    else:
        command = ["-m", "uvicorn", "bench.tabs.app:asgi", "--factory", "--workers", str(workers), "--port", str(port),
                   "--no-access-log", "--log-level", "warning"]
    return subprocess.Popen([sys.executable, *command], cwd=ROOT, env=env)


Answer = tuple[int, dict[str, Any], str | None]  # status, JSON body, a new session cookie if one was set


def get(connection: http.client.HTTPConnection, path: str, cookie: str | None) -> Answer:
    headers = {"Cookie": f"sessionid={cookie}"} if cookie else {}
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    set_cookie = response.getheader("Set-Cookie") or ""
    new = set_cookie.split("sessionid=", 1)[1].split(";", 1)[0] if "sessionid=" in set_cookie else None
    data = json.loads(body) if response.status == 200 else {}
    return response.status, data, new


def one_run(server: str, engine: str, args: argparse.Namespace, endpoint: str, database: str) -> Run:
    from pynamo_sessions.testing import free_port, stop_process, wait_until_up

    port = free_port()
    env = {**os.environ, "TABS_ENGINE": engine, "TABS_ENDPOINT": endpoint, "TABS_DATABASE": database,
           "DJANGO_SETTINGS_MODULE": "bench.tabs.settings", "PYTHONPATH": str(ROOT)}
    process = start(server, env, port, args.workers, args.threads)
    run = Run(server, engine)
    view = "tab" if server == "gunicorn" else "atab"
    lock = threading.Lock()
    try:
        wait_until_up(f"http://127.0.0.1:{port}/stored/", time.monotonic() + 60, None)
        first = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        status, _, cookie = get(first, f"/{view}/0/", None)
        assert status == 200 and cookie, "the first click must create the session"
        run.acknowledged = {f"tab{n}": 0 for n in range(args.tabs)}
        run.acknowledged["tab0"] = 1

        def tab(number: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            for _ in range(args.clicks):
                status, _, _ = get(connection, f"/{view}/{number}/", cookie)
                with lock:
                    if status == 200:
                        run.acknowledged[f"tab{number}"] += 1
                    else:
                        run.errors[status] = run.errors.get(status, 0) + 1

        started = time.perf_counter()
        tabs = [threading.Thread(target=tab, args=(n,)) for n in range(args.tabs)]
        for thread in tabs:
            thread.start()
        for thread in tabs:
            thread.join()
        run.seconds = time.perf_counter() - started
        final = http.client.HTTPConnection("127.0.0.1", port, timeout=60)  # the first may have idled out
        status, run.stored, _ = get(final, "/stored/", cookie)
        assert status == 200
    finally:
        stop_process(process)
    return run


def table(runs: list[Run]) -> str:
    lines = [
        "| server | engine | acknowledged | stored | lost | per tab: acknowledged → stored | non-200 |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        per_tab = " ".join(f"{run.acknowledged[k]}→{run.stored.get(k, 0)}" for k in run.acknowledged)
        errors = ", ".join(f"{status}: {n}" for status, n in sorted(run.errors.items())) or "none"
        lines.append(
            f"| {run.server} | {ENGINES[run.engine]} | {sum(run.acknowledged.values())} | "
            f"{sum(run.stored.get(k, 0) for k in run.acknowledged)} | {run.lost} | {per_tab} | {errors} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench tabs", description=__doc__.splitlines()[0])
    parser.add_argument("--tabs", type=int, default=8)
    parser.add_argument("--clicks", type=int, default=40, help="requests per tab")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--servers", nargs="+", default=list(SERVERS), choices=SERVERS)
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    args = parser.parse_args(argv)

    from pynamo_sessions.testing import local_endpoint

    runs: list[Run] = []
    with local_endpoint() as endpoint, tempfile.TemporaryDirectory() as scratch:
        database = str(Path(scratch) / "sessions.sqlite3")
        env = {**os.environ, "TABS_ENDPOINT": endpoint, "TABS_DATABASE": database, "PYTHONPATH": str(ROOT),
               "DJANGO_SETTINGS_MODULE": "bench.tabs.settings", "TABS_CACHE_DIR": str(Path(scratch) / "cache")}
        os.environ["TABS_CACHE_DIR"] = env["TABS_CACHE_DIR"]
        subprocess.run([sys.executable, "-m", "django", "createsessiontable"], cwd=ROOT, check=True,
                       env={**env, "TABS_ENGINE": "dynamodb"}, stdout=subprocess.DEVNULL)
        if "db" in args.engines:
            subprocess.run([sys.executable, "-m", "django", "migrate", "--verbosity", "0"], cwd=ROOT, check=True,
                           env={**env, "TABS_ENGINE": "db"})
        for server in args.servers:
            for engine in args.engines:
                print(f"  {server} / {engine}: {args.tabs} tabs x {args.clicks} clicks", file=sys.stderr, flush=True)
                runs.append(one_run(server, engine, args, endpoint, database))
    print(table(runs))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "tabs.json"
    path.write_text(json.dumps({"date": datetime.now(UTC).isoformat(timespec="seconds"), "args": vars(args),
                                "runs": [vars(run) | {"lost": run.lost} for run in runs]}, indent=2, default=str))
    print(f"\nwritten to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
