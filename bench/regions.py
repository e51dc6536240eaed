"""Regions: the tabs workload on a global table (MREC) in two Regions, with and without pinning.

    make bench BENCH_ARGS=regions
    make bench BENCH_ARGS="regions --lag 0.1 2 --clicks 30 --logouts 20"

Two DynamoDB Locals are two Regions' replicas of the sessions table, and the replicator of
``pynamo_sessions.testing.regions`` copies each one's writes to the other as MREC does: after a
lag drawn per write (``--lag``), the last writer winning. One site process (gunicorn, gthread)
runs in each Region, on its own replica. Two workloads, each without pinning (every call goes to
the process's own replica, as before DYNAMODB_SESSIONS_REGIONS) and with it:

- tabs: one session, 8 tabs; each tab's requests alternate between the two Regions' sites, and
  each increments the tab's own key. Lost: increments acknowledged (HTTP 200) but not stored
  once replication has settled.
- logouts: a session is signed out in one Region and, before replication brings the deletion
  over, the next request of another tab lands in the other Region. Undone: sessions still
  stored, in either replica, once replication has settled.

Every DynamoDB call goes through a counting proxy per (site, Region), so the cost is counted:
calls per request, and the share that crossed to another Region. Printed, and written to
bench/results/regions.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.tabs.__main__ import get, start

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
TABLE = "bench-tabs-sessions"  # bench.tabs.settings'


@dataclass
class Mode:
    pinned: bool
    acknowledged: dict[str, int] = field(default_factory=dict)
    stored: dict[str, int] = field(default_factory=dict)
    errors: dict[int, int] = field(default_factory=dict)
    logouts: int = 0
    undone: int = 0
    requests: int = 0
    calls: int = 0
    cross_region: int = 0
    dropped: int = 0  # writes the replicator's last-writer-wins threw away
    # One tab alone, alternating between the Regions: the cost of a request without contention.
    alone_requests: int = 0
    alone_calls: int = 0
    alone_cross_region: int = 0

    @property
    def lost(self) -> int:
        return sum(max(0, n - self.stored.get(key, 0)) for key, n in self.acknowledged.items())


class Sites:
    """One gunicorn site per Region, each reaching each Region through a counting proxy."""

    def __init__(self, regions: Any, pinned: bool, args: argparse.Namespace) -> None:
        from pynamo_sessions.testing import free_port
        from pynamo_sessions.testing.faultproxy import FaultProxy

        self.names = list(regions.endpoints)
        self.proxies = {(site, region): FaultProxy(url)
                        for site in self.names for region, url in regions.endpoints.items()}
        for proxy in self.proxies.values():
            proxy.start()
        self.ports = {site: free_port() for site in self.names}
        self.processes = []
        for site in self.names:
            endpoints = {region: self.proxies[(site, region)].endpoint for region in self.names}
            env = {**os.environ, "TABS_ENGINE": "dynamodb", "TABS_ENDPOINT": endpoints[site], "TABS_REGION": site,
                   "DJANGO_SETTINGS_MODULE": "bench.tabs.settings", "PYTHONPATH": str(ROOT)}
            if pinned:
                env["TABS_REGIONS"] = json.dumps(endpoints)
            self.processes.append(start("gunicorn", env, self.ports[site], 1, args.threads))

    def wait(self) -> None:
        import time

        from pynamo_sessions.testing import wait_until_up

        for site in self.names:
            wait_until_up(f"http://127.0.0.1:{self.ports[site]}/stored/", time.monotonic() + 60, None)

    def connection(self, site: str) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.ports[site], timeout=60)

    def counts(self) -> tuple[int, int]:
        """Calls in all, and those from a site to another Region's replica."""
        total = sum(len(proxy.operations) for proxy in self.proxies.values())
        cross = sum(len(proxy.operations) for (site, region), proxy in self.proxies.items() if site != region)
        return total, cross

    def stop(self) -> None:
        from pynamo_sessions.testing import stop_process

        for process in self.processes:
            stop_process(process)
        for proxy in self.proxies.values():
            proxy.stop()


def run_mode(regions: Any, pinned: bool, args: argparse.Namespace) -> Mode:
    from pynamo_sessions.testing.regions import client

    mode = Mode(pinned)
    replicator = regions.follow(TABLE)
    sites = Sites(regions, pinned, args)
    lock = threading.Lock()
    home, away = sites.names
    try:
        sites.wait()
        # Tabs: one session created in the first Region, each tab alternating between the two.
        status, _, cookie = get(sites.connection(home), "/tab/0/", None)
        assert status == 200 and cookie
        mode.requests += 1
        mode.acknowledged = {f"tab{n}": 0 for n in range(args.tabs)}
        mode.acknowledged["tab0"] = 1

        def tab(number: int) -> None:
            connections = {site: sites.connection(site) for site in sites.names}
            for click in range(args.clicks):
                site = sites.names[(number + click) % 2]
                try:
                    status, _, _ = get(connections[site], f"/tab/{number}/", cookie)
                except http.client.RemoteDisconnected:
                    # The server had closed this idle keep-alive connection (gunicorn's keepalive
                    # is 2 s): the request never reached it. Resent once, as a browser does.
                    connections[site] = sites.connection(site)
                    status, _, _ = get(connections[site], f"/tab/{number}/", cookie)
                with lock:
                    mode.requests += 1
                    if status == 200:
                        mode.acknowledged[f"tab{number}"] += 1
                    else:
                        mode.errors[status] = mode.errors.get(status, 0) + 1

        tabs = [threading.Thread(target=tab, args=(n,)) for n in range(args.tabs)]
        for thread in tabs:
            thread.start()
        for thread in tabs:
            thread.join()
        regions.settle(timeout=60)
        status, mode.stored, _ = get(sites.connection(home), "/stored/", cookie)
        mode.requests += 1
        assert status == 200

        # One tab alone: what a request costs when no other request of its session runs at once.
        before = sites.counts()
        status, _, alone = get(sites.connection(home), "/tab/0/", None)
        assert status == 200 and alone
        connections = {site: sites.connection(site) for site in sites.names}
        for click in range(args.clicks):
            status, _, _ = get(connections[sites.names[click % 2]], "/tab/0/", alone)
            assert status == 200
        after = sites.counts()
        mode.alone_requests = 1 + args.clicks
        mode.alone_calls, mode.alone_cross_region = after[0] - before[0], after[1] - before[1]
        mode.requests += mode.alone_requests

        # Logouts: signed out in one Region, the next request of another tab in the other.
        for round_number in range(args.logouts):
            signed_in, signed_out_in = (home, away) if round_number % 2 == 0 else (away, home)
            status, _, session = get(sites.connection(signed_in), "/tab/0/", None)
            assert status == 200 and session
            regions.settle(timeout=60)  # every replica holds the session
            get(sites.connection(signed_out_in), "/logout/", session)
            get(sites.connection(signed_in), "/tab/1/", session)  # in flight in the other Region
            mode.requests += 3
            mode.logouts += 1
            regions.settle(timeout=60)
            left = [client(url, region).get_item(TableName=TABLE, Key={"id": {"S": session}}, ConsistentRead=True)
                    .get("Item") for region, url in regions.endpoints.items()]
            mode.undone += any(item is not None for item in left)
        mode.calls, mode.cross_region = sites.counts()
        mode.dropped = replicator.dropped
    finally:
        sites.stop()
        replicator.stop()
    return mode


def table(modes: list[Mode], args: argparse.Namespace) -> str:
    lines = [
        f"lag {args.lag[0]:g}-{args.lag[1]:g} s, {args.tabs} tabs x {args.clicks} clicks alternating between the "
        f"Regions, {args.logouts} logouts",
        "",
        "| pinning | acknowledged | stored | lost | logouts | undone | non-200 | calls per request | "
        "cross-Region | one tab alone: calls per request | cross-Region | dropped by LWW |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode in modes:
        errors = ", ".join(f"{status}: {n}" for status, n in sorted(mode.errors.items())) or "none"
        share = mode.cross_region / mode.calls if mode.calls else 0.0
        lines.append(
            f"| {'DYNAMODB_SESSIONS_REGIONS' if mode.pinned else 'none'} | {sum(mode.acknowledged.values())} | "
            f"{sum(mode.stored.get(k, 0) for k in mode.acknowledged)} | {mode.lost} | {mode.logouts} | "
            f"{mode.undone} | {errors} | {mode.calls / max(1, mode.requests):.2f} | {share:.0%} | "
            f"{mode.alone_calls / max(1, mode.alone_requests):.2f} | "
            f"{mode.alone_cross_region / max(1, mode.alone_calls):.0%} | {mode.dropped} |"
        )
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench regions", description=__doc__.splitlines()[0])
    parser.add_argument("--lag", type=float, nargs=2, default=[0.1, 2.0], metavar=("LOW", "HIGH"),
                        help="replication lag in seconds, drawn per write")
    parser.add_argument("--tabs", type=int, default=8)
    parser.add_argument("--clicks", type=int, default=20, help="requests per tab")
    parser.add_argument("--logouts", type=int, default=10)
    parser.add_argument("--threads", type=int, default=8, help="gunicorn threads per site")
    parser.add_argument("--seed", type=int, default=1, help="the lags' random seed")
    args = parser.parse_args(argv)

    from pynamo_sessions.testing.regions import TwoRegions

    modes = []
    with TwoRegions(lag=(args.lag[0], args.lag[1]), seed=args.seed) as regions:
        regions.create_table(TABLE)
        assert regions.replicator is not None
        regions.replicator.stop()
        for pinned in (False, True):
            print(f"  {'pinned' if pinned else 'unpinned'}: {args.tabs} tabs x {args.clicks} clicks, "
                  f"{args.logouts} logouts", file=sys.stderr, flush=True)
            modes.append(run_mode(regions, pinned, args))
    print(table(modes, args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "regions.json"
    path.write_text(json.dumps({"date": datetime.now(UTC).isoformat(timespec="seconds"), "args": vars(args),
                                "modes": [vars(mode) | {"lost": mode.lost} for mode in modes]}, indent=2))
    print(f"\nwritten to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
