"""Soak: a real gunicorn (gthread) site on sessions in DynamoDB Local while DynamoDB fails.

    make soak                                  # default settings, then degraded mode
    make soak SOAK_ARGS="--modes raise --fault-seconds 20"

Concurrent clients each own a session and loop over three pages: one that increments a counter
in the session, one that reads it, and one that never touches the session. The fault proxy
between the site and DynamoDB Local injects, in turn, an outage (every connection reset), a
blackhole (requests hang unanswered), a throttling storm and one visitor's hot key (throttled
with DynamoDB's per-key reason), each followed by recovery. It
prints, per phase and page, status counts, p50/p99 latency and the share of 503s that carry
Retry-After; then it reads every session back from the table (directly, not through the proxy)
and reports acknowledged increments that were lost, increments that were never attempted, and
sessions reset to empty.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.soak import load
from bench.soak.load import PAGES, Sample
from pynamo_sessions.testing import faultproxy

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
SESSION_PAGES = ("increment", "read")
WARM_UP = "warm-up"
# One visitor's session key over DynamoDB's per-partition limit (the first session read after the
# phase begins): that visitor gets 503s, everyone else must not, and the breaker must stay shut.
HOT_KEY = "hot key"
CROSSED = "crossed a phase boundary"


class Phases:
    """The fault schedule, and which phase a moment belongs to."""

    def __init__(self, fault_seconds: float, recovery_seconds: float, baseline_seconds: float) -> None:
        # DynamoDB Local's JVM and the workers warm up before anything is measured.
        self.plan = [(WARM_UP, faultproxy.PASS, 5.0), ("baseline", faultproxy.PASS, baseline_seconds)]
        for name, fault in (("outage", faultproxy.RESET), ("blackhole", faultproxy.BLACKHOLE),
                            ("throttling", faultproxy.THROTTLE), (HOT_KEY, faultproxy.HOT_KEY)):
            self.plan += [(name, fault, fault_seconds), (f"recovery after {name}", faultproxy.PASS, recovery_seconds)]
        self.starts: dict[str, float] = {}

    def at(self, moment: float) -> str:
        """The phase under way at wall-clock ``moment``."""
        current = self.plan[0][0]
        for name, start in self.starts.items():
            if moment >= start:
                current = name
        return current


def run_mode(mode: str, args: argparse.Namespace, endpoint: str) -> dict[str, Any]:
    from pynamo_sessions.testing import free_port, stop_process, wait_until_up
    from pynamo_sessions.testing.faultproxy import FaultProxy

    proxy = FaultProxy(endpoint)
    proxy_endpoint = proxy.start()
    port = free_port()
    RESULTS.mkdir(parents=True, exist_ok=True)
    log_path = RESULTS / f"soak-{mode}-gunicorn.log"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.soak.settings", "SOAK_ENDPOINT": proxy_endpoint,
           "SOAK_ON_UNAVAILABLE": mode, "PYTHONPATH": str(ROOT)}
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "bench.soak.wsgi:application", "--worker-class", "gthread",
             "--workers", str(args.workers), "--threads", str(args.threads), "--bind", f"127.0.0.1:{port}",
             "--timeout", "120", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/plain/", time.monotonic() + 60, None)
        return drive(mode, args, port, proxy)
    finally:
        stop_process(server, timeout=30)
        proxy.stop()


def drive(mode: str, args: argparse.Namespace, port: int, proxy: Any) -> dict[str, Any]:
    from pynamo_sessions.backends.dynamodb import SessionStore

    phases = Phases(args.fault_seconds, args.recovery_seconds, args.baseline_seconds)
    lead = 3.0  # for the visitors' process to start and create their sessions
    started = time.time() + lead
    until = started + sum(seconds for _, _, seconds in phases.plan)
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        future = pool.submit(load.visit, args.clients, port, args.think, until)
        time.sleep(max(0.0, started - time.time()))
        for name, fault, seconds in phases.plan:
            phases.starts[name] = time.time()
            proxy.set_fault(fault)
            print(f"  {mode}: {name} ({seconds:g} s)", file=sys.stderr, flush=True)
            time.sleep(seconds)
        proxy.set_fault(faultproxy.PASS)
        samples, clients = future.result()
    # A request counts in the phase in which it was sent and answered. The few sent just before
    # a fault begins or ends and answered after it are counted apart: they would show a baseline
    # 503 or a recovery timeout that belongs to the phase next to it.
    crossed = 0
    for sample in samples:
        sample.phase = phases.at(sample.sent)
        if phases.at(sample.done) != sample.phase:
            crossed += 1
            sample.phase = CROSSED

    lost = phantom = reset = 0
    for client in clients:
        stored = SessionStore(client.cookie).load().get("count", 0) if client.cookie else 0
        lost += max(0, client.acknowledged - stored)
        phantom += max(0, stored - client.attempted)
        reset += int(stored == 0 or len(client.keys_seen) > 1 or client.resets > 0)
    log = (RESULTS / f"soak-{mode}-gunicorn.log").read_text()
    return {
        "mode": mode,
        "rows": summarize(samples, phases),
        "targets": targets(samples, phases, args),
        "sessions": len(clients),
        "lost_acknowledged_increments": lost,
        "phantom_increments": phantom,
        "sessions_reset": reset,
        "crossed_a_phase_boundary": crossed,
        "breaker_opened": log.count("circuit breaker opened"),
        "breaker_closed": log.count("circuit breaker closed"),
    }


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


def summarize(samples: list[Sample], phases: Phases) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[(sample.phase, sample.page)].append(sample)
    rows = []
    for name, _, _ in phases.plan:
        if name == WARM_UP:
            continue
        for page in PAGES:
            group = groups.get((name, page), [])
            statuses: dict[int, int] = defaultdict(int)
            for sample in group:
                statuses[sample.status] += 1
            unavailable = [s for s in group if s.status == 503]
            rows.append({
                "phase": name, "page": page, "requests": len(group), "statuses": dict(sorted(statuses.items())),
                "p50_ms": percentile([s.latency for s in group], 0.50) * 1000,
                "p99_ms": percentile([s.latency for s in group], 0.99) * 1000,
                "max_ms": max((s.latency for s in group), default=0.0) * 1000,
                "share_503": len(unavailable) / len(group) if group else 0.0,
                "503_with_retry_after": (sum(s.retry_after for s in unavailable) / len(unavailable)
                                         if unavailable else None),
            })
    return rows


def targets(samples: list[Sample], phases: Phases, args: argparse.Namespace) -> dict[str, Any]:
    """The figures the issue sets targets for, computed from the same samples."""
    plain = [s for s in samples if s.page == "plain"]
    found: dict[str, Any] = {
        "status_500": sum(s.status == 500 for s in samples),
        "503_without_retry_after": sum(s.status == 503 and not s.retry_after for s in samples),
        "plain_worst_phase_ok_share": min(
            (sum(s.status == 200 for s in group) / len(group))
            for name, _, _ in phases.plan if name != WARM_UP and (group := [s for s in plain if s.phase == name])
        ),
        "plain_worst_phase_p99_ms": max(
            percentile([s.latency for s in plain if s.phase == name], 0.99) * 1000
            for name, _, _ in phases.plan if name != WARM_UP
        ),
    }
    hot = [s for s in samples if s.phase == HOT_KEY and s.page in SESSION_PAGES]
    failed_clients = {s.client for s in hot if s.status != 200}
    found[f"{HOT_KEY}: visitors whose session requests failed"] = len(failed_clients)
    others = [s for s in hot if s.client not in failed_clients]
    found[f"{HOT_KEY}: other visitors' session ok share"] = (
        sum(s.status == 200 for s in others) / len(others) if others else None)
    for name in ("outage", "blackhole", "throttling"):
        begin = phases.starts[name]
        late = [s.latency for s in samples
                if s.phase == name and s.page in SESSION_PAGES and s.sent >= begin + 3]
        found[f"{name}: session p99 ms from 3 s in"] = percentile(late, 0.99) * 1000
        recovery = f"recovery after {name}"
        start = phases.starts[recovery]
        after = [s for s in samples if s.phase == recovery and s.page in SESSION_PAGES]
        settled = [s for s in after if s.sent >= start + 5]
        found[f"{recovery}: session ok share from 5 s in"] = (
            sum(s.status == 200 for s in settled) / len(settled) if settled else None)
        failures = [s.done - start for s in after if s.status != 200]
        found[f"{recovery}: last failed session request answered, s in"] = max(failures) if failures else 0.0
    return found


def print_mode(result: dict[str, Any]) -> None:
    print(f"\nDYNAMODB_SESSIONS_ON_UNAVAILABLE = {result['mode']!r}")
    header = (f"{'phase':<28} {'page':<10} {'requests':>8}  {'statuses':<26} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
              f"{'503':>6} {'w/ Retry-After':>14}")
    print(header)
    print("-" * len(header))
    for row in result["rows"]:
        statuses = " ".join(f"{code}:{n}" for code, n in row["statuses"].items())
        with_header = "-" if row["503_with_retry_after"] is None else f"{row['503_with_retry_after']:.0%}"
        print(f"{row['phase']:<28} {row['page']:<10} {row['requests']:>8}  {statuses:<26} "
              f"{row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} {row['max_ms']:>8.0f} {row['share_503']:>6.0%} "
              f"{with_header:>14}")
    print()
    for name, value in result["targets"].items():
        if not isinstance(value, float):
            shown = str(value)
        elif "share" in name:
            shown = f"{value:.1%}"
        else:
            shown = f"{value:.0f}" if " ms" in name else f"{value:.1f}"
        print(f"  {name}: {shown}")
    print(f"  sessions: {result['sessions']}, lost acknowledged increments: "
          f"{result['lost_acknowledged_increments']}, phantom increments: {result['phantom_increments']}, "
          f"sessions reset: {result['sessions_reset']}")
    print(f"  requests that crossed a phase boundary, counted apart: {result['crossed_a_phase_boundary']}")
    print(f"  breaker (all workers): opened {result['breaker_opened']} times, closed {result['breaker_closed']} times")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["raise", "anonymous"], choices=["raise", "anonymous"])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--think", type=float, default=0.02, help="seconds each client waits between requests")
    parser.add_argument("--baseline-seconds", type=float, default=5)
    parser.add_argument("--fault-seconds", type=float, default=10)
    parser.add_argument("--recovery-seconds", type=float, default=8)
    args = parser.parse_args()

    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.soak.settings"
    from pynamo_sessions.testing import local_endpoint

    with local_endpoint() as endpoint:
        os.environ["SOAK_ENDPOINT"] = endpoint  # the driver reads the table directly
        import django

        django.setup()
        from pynamo_sessions import create_table

        create_table()
        results = []
        for mode in args.modes:
            result = run_mode(mode, args, endpoint)
            print_mode(result)
            results.append(result)
    path = RESULTS / "soak.json"
    path.write_text(json.dumps({"date": datetime.now(UTC).isoformat(timespec="seconds"), "results": results},
                               indent=2))
    print(f"\nwritten to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
