"""What encryption at rest costs: CPU per request with DYNAMODB_SESSIONS_ENCRYPT on against off.

    make bench BENCH_ARGS=encryption
    make bench BENCH_ARGS="encryption --rounds 16"

Our engine only, through Django's SessionMiddleware as ``python -m bench`` runs it, on DynamoDB
Local. Each round takes turns request by request, encryption off then on; the figure is the
median of the per-round ratios, so drift on the machine hits both alike. The switch between
requests is untimed: the settings and each setting's model (kept, with its warm client) are bound
before the clock starts.
Also: what turning it on adds to a cold start (importing ``cryptography`` and deriving the keys),
in fresh interpreters. Results are printed and written to bench/results/encryption.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from typing import Any

from bench.__main__ import PAYLOADS, RESULTS, Runner, change, configure, payload_data

SCENARIOS = ("new visitor", "read-only", "modify one key")
WARM_UP = 5

_INIT = (
    "import time; started = time.perf_counter()\n"
    "{body}\n"
    "print(time.perf_counter() - started)"
)
_SEALING_INIT = (
    "from cryptography.hazmat.primitives.ciphers.aead import AESGCM\n"
    "from cryptography.hazmat.primitives import hashes\n"
    "from cryptography.hazmat.primitives.kdf.hkdf import HKDF\n"
    "AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b'x').derive(b'secret'))"
)


def switch(runner: Runner, encrypt: bool) -> None:
    """Turn encryption on or off, and have the settings and the model bound before the clock
    starts (the model of each setting is built once and kept: ``models.bound_model``)."""
    from pynamo_sessions import conf
    from pynamo_sessions.store import models

    change(runner.settings, "DYNAMODB_SESSIONS_ENCRYPT", encrypt)
    conf.current()
    models.bound_model()


def interleaved_round(runner: Runner, scenario: str, data: dict[str, str], n: int) -> dict[bool, float]:
    """n requests with encryption off and n with it on, taking turns request by request; CPU
    seconds per request of each."""
    prepared = {}
    for encrypt in (False, True):
        switch(runner, encrypt)
        prepared[encrypt] = runner.prepare("pynamo", scenario, data, n)  # seeded as that setting writes
    cpu = {False: 0.0, True: 0.0}
    for i in range(n):
        for encrypt, (handler, requests) in prepared.items():
            switch(runner, encrypt)
            started = time.process_time()
            response = handler(requests[i])
            cpu[encrypt] += time.process_time() - started
            assert response.status_code == 200, response
    return {encrypt: total / n for encrypt, total in cpu.items()}


def init_cost(samples: int) -> float:
    """Seconds that importing cryptography and deriving a key add to a fresh interpreter."""
    def run(body: str) -> float:
        out = subprocess.run([sys.executable, "-c", _INIT.format(body=body)], capture_output=True, text=True,
                             check=True)
        return float(out.stdout.strip())

    added = [run(_SEALING_INIT) - run("pass") for _ in range(samples)]
    return statistics.median(added)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench encryption", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--requests", type=int, default=40, help="timed requests per block")
    parser.add_argument("--init-samples", type=int, default=10)
    args = parser.parse_args(argv)

    from pynamo_sessions import create_table
    from pynamo_sessions.testing import local_endpoint

    rows: list[dict[str, Any]] = []
    with local_endpoint() as endpoint:
        configure(endpoint)
        create_table()
        runner = Runner()
        print(f"{'scenario':<15} {'payload':>7} {'off µs':>8} {'on µs':>8} {'on/off':>7}")
        for scenario in SCENARIOS:
            for payload, size in PAYLOADS.items():
                data = payload_data(size)
                for encrypt in (False, True):
                    switch(runner, encrypt)
                    runner.batch("pynamo", scenario, data, WARM_UP)  # this path, each setting's client
                off, on, ratios = [], [], []
                for _ in range(args.rounds):
                    cpu = interleaved_round(runner, scenario, data, args.requests)
                    off.append(cpu[False])
                    on.append(cpu[True])
                    ratios.append(cpu[True] / cpu[False])
                row = {"scenario": scenario, "payload": payload,
                       "cpu_us_off": statistics.median(off) * 1e6, "cpu_us_on": statistics.median(on) * 1e6,
                       "ratio": statistics.median(ratios)}
                rows.append(row)
                print(f"{scenario:<15} {payload:>7} {row['cpu_us_off']:>8.0f} {row['cpu_us_on']:>8.0f} "
                      f"{row['ratio']:>7.3f}")
    started = time.perf_counter()
    init = init_cost(args.init_samples)
    print(f"\ncold start with encryption on: +{init * 1000:.1f} ms (import cryptography, derive a key; "
          f"median of {args.init_samples} fresh interpreters, {time.perf_counter() - started:.0f} s)")
    result = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "rounds": args.rounds,
              "requests_per_block": args.requests, "rows": rows, "init_seconds": init}
    path = RESULTS.with_name("encryption.json")
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    print(f"written to {path}")
    return 0
