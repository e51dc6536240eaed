"""Cold starts on AWS Lambda: a fresh interpreter per sample imports a Lambda handler module and
answers a read, a read-modify-write and a read on one stored session (API Gateway v2 events).

    make bench BENCH_ARGS=coldstart
    make bench BENCH_ARGS="coldstart --rounds 100"
    make bench BENCH_ARGS="coldstart --instructions"   # also in valgrind's instruction counts

Each round runs one sample of every variant in turn (our engine, the floor, the PynamoDB floor,
Django's signed_cookies; under apig-wsgi and under Mangum), every other round in reverse order,
so drift on the machine hits all alike; the samples run on CPUs apart from DynamoDB Local's and
import bytecode compiled beforehand, as a deployed function does (see ``compile_sources``). It
prints paired medians of ours / floor (process CPU, and wall) for init + first request and for the
two requests after it, with a 95 % interval for each (this machine's noise), the medians
themselves, and where the time goes: botocore clients built, botocore data files parsed (and
how often), modules imported, aiobotocore/aiohttp modules, DynamoDB calls during init and
threads of ours left running after it.
"""

from __future__ import annotations

import argparse
import compileall
import concurrent.futures
import functools
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
ENGINES = ("ours", "floor", "pynamodb_floor", "signed_cookies")
KINDS = ("wsgi", "asgi")
# Per kind, what runs: under ASGI also ours with native async forced (the default on Lambda is
# the sync client in a thread: see DYNAMODB_SESSIONS_ASYNC_TRANSPORT).
# Ours next to the floor, so that each pair of samples meets the same machine (its speed drifts
# by a tenth and more within seconds); the PynamoDB floor shows which part of the gap is PynamoDB's.
VARIANTS = {"wsgi": ("ours", "floor", "pynamodb_floor", "ours_deferred", "signed_cookies"),
            "asgi": ("ours", "floor", "pynamodb_floor", "ours_native", "signed_cookies")}
# What Lambda's runtime sets, so that the samples run as in an execution environment.
LAMBDA_ENV = {"AWS_LAMBDA_FUNCTION_NAME": "coldstart", "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11"}


def split_cpus() -> tuple[set[int], set[int]] | None:
    """CPUs for DynamoDB Local, and CPUs apart from them for the samples; None with fewer than two.

    On Lambda DynamoDB never runs on the function's CPU. Sharing one here would have the JVM
    answer each request on the sample's core, between its send and its receive, and take the
    sample's caches with it: noise, and a cost no function pays.
    """
    if not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return set(cpus[: len(cpus) // 2]), set(cpus[len(cpus) // 2:])


def site_env(engine: str, endpoint: str, **extra: str) -> dict[str, str]:
    """The environment of a process of the benchmark's site on ``engine``, as on Lambda."""
    return {**os.environ, **LAMBDA_ENV, "COLD_ENGINE": engine, "COLD_ENDPOINT": endpoint, "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "bench.coldstart.settings", **extra}


def pinned(cpus: set[int] | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that keeps the child on ``cpus`` (None: anywhere)."""
    return None if cpus is None else functools.partial(os.sched_setaffinity, 0, cpus)


def run(kind: str, engine: str, endpoint: str, cookie: str, cpus: set[int] | None) -> dict[str, Any]:
    env = site_env(engine, endpoint, **({"COLD_DEFER_CLIENT": "1"} if engine == "ours_deferred" else {}))
    out = subprocess.run([sys.executable, "-m", "bench.coldstart.sample", kind, cookie], cwd=ROOT, env=env,
                         capture_output=True, text=True, check=False, preexec_fn=pinned(cpus))
    if out.returncode != 0:
        raise RuntimeError(f"{kind}/{engine} sample failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def instructions(kind: str, engine: str, endpoint: str, cookie: str, requests: int, cpus: set[int] | None) -> int:
    """CPU instructions of one whole sample answering ``requests`` requests, counted by valgrind
    (callgrind): slow, but the same on every run, where this machine's CPU time drifts. Any CPU
    will do: sharing one changes no count."""
    env = site_env(engine, endpoint, COLD_REQUESTS=str(requests), PYTHONHASHSEED="0")
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
                          "-m", "bench.coldstart.sample", kind, cookie],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=False, preexec_fn=pinned(cpus))
    found = re.search(r"Collected : (\d+)", out.stderr)
    if out.returncode != 0 or found is None:
        raise RuntimeError(f"{kind}/{engine} under valgrind failed:\n{out.stderr[-3000:]}")
    return int(found.group(1))


def print_instructions(endpoint: str, cookies: dict[str, str], cpus: set[int] | None) -> dict[str, Any]:
    """Ours and the PynamoDB floor against the floor in instructions: init + first request, and
    the next two requests (a sample answering three less one answering one)."""
    engines = ("ours", "pynamodb_floor", "floor")
    jobs = [(kind, engine, requests) for kind in KINDS for engine in engines for requests in (1, 3)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = dict(zip(jobs, pool.map(
            lambda job: instructions(job[0], job[1], endpoint, cookies[job[1]], job[2], cpus), jobs), strict=True))
    found: dict[str, Any] = {}
    print(f"\n{'instructions, millions':<28}{'ours/floor':>11}{'PynamoDB floor/floor':>22}"
          f"{'ours':>9}{'PynamoDB floor':>16}{'floor':>9}")
    for kind in KINDS:
        first = {engine: counts[(kind, engine, 1)] for engine in engines}
        next_two = {engine: counts[(kind, engine, 3)] - first[engine] for engine in engines}
        for label, measured in (("init + 1st request", first), ("next two requests", next_two)):
            ours, pynamodb, floor = (measured[engine] for engine in engines)
            found[f"{kind} {label} ours/floor"] = ours / floor
            found[f"{kind} {label} pynamodb_floor/floor"] = pynamodb / floor
            print(f"{kind.upper() + ', ' + label:<28}{ours / floor:>10.3f}x{pynamodb / floor:>21.3f}x"
                  f"{ours / 1e6:>9.1f}{pynamodb / 1e6:>16.1f}{floor / 1e6:>9.1f}")
    return found


def compile_sources() -> None:
    """Compile this checkout's modules that the samples import, as installing a package does.

    ``pip install`` (a wheel, or ``pip install -t`` for a Lambda zip) writes every module's
    bytecode, and Lambda's code directory is read-only, so a deployed function never compiles
    at a cold start. A checkout run with PYTHONDONTWRITEBYTECODE set (this machine's default)
    would compile this package and the floor's one module in every sample: about 7 % of our
    cold start, which no user pays. The sample reports how many modules it compiled (0 here).
    """
    for folder in ("pynamo_sessions", "bench"):
        compileall.compile_dir(ROOT / folder, quiet=1)
    for name in ("__init__.py", "lambda_events.py"):
        compileall.compile_file(ROOT / "tests" / name, quiet=1)


def stored_session(engine: str, endpoint: str) -> str:
    """A session with count = 1 in the engine's store, made through the same handler."""
    code = (
        "import json; from bench.coldstart.wsgi_handler import handler; "
        "from tests.lambda_events import Context, event; "
        "r = handler(event('apigw-v2', '/rmw/'), Context()); "
        "print([c.strip().split(';')[0] for c in r['cookies'] if c.strip().startswith('sessionid=')][0])"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=site_env(engine, endpoint), capture_output=True,
                         text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def median_interval(values: list[float], resamples: int = 4000) -> tuple[float, float]:
    """A 95 % interval for the median of ``values`` (percentile bootstrap, fixed seed): how far
    this machine's noise leaves the figure uncertain."""
    draw = random.Random(0)
    medians = sorted(statistics.median(draw.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(resamples * 0.025)], medians[int(resamples * 0.975) - 1]


def summary(samples: dict[tuple[str, str], list[dict[str, Any]]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for kind in KINDS:
        floor = samples[(kind, "floor")]
        row: dict[str, Any] = {}
        for phase in ("first", "next_two"):
            for measure in ("cpu", "wall"):
                name = f"{phase}_{measure}"
                for engine in VARIANTS[kind]:
                    row[f"{name} {engine} ms"] = statistics.median(s[name] for s in samples[(kind, engine)]) * 1000
                    if engine not in ("floor", "signed_cookies"):  # paired: each sample against its round's floor
                        ratios = [o[name] / f[name] for o, f in zip(samples[(kind, engine)], floor, strict=True)]
                        row[f"{name} {engine}/floor"] = statistics.median(ratios)
                        row[f"{name} {engine}/floor 95% CI"] = median_interval(ratios)
        for engine in [e for e in VARIANTS[kind] if e not in ("signed_cookies", "ours_deferred", "pynamodb_floor")]:
            last = samples[(kind, engine)][-1]
            row[f"{engine}: clients built (in init)"] = f"{len(last['clients'])} ({len(last['clients_in_init'])})"
            row[f"{engine}: data files parsed"] = sum(last["files_parsed"].values())
            row[f"{engine}: any file parsed twice"] = [f for f, n in last["files_parsed"].items() if n > 1]
            row[f"{engine}: modules imported"] = last["modules"]
            row[f"{engine}: modules compiled from source"] = len(last["compiled"])
            row[f"{engine}: aiobotocore/aiohttp modules"] = last["async_modules"]
            row[f"{engine}: DynamoDB calls in init"] = last["dynamodb_calls_in_init"]
            row[f"{engine}: threads left after init"] = last["threads_left_after_init"]
        row["signed_cookies: modules imported"] = samples[(kind, "signed_cookies")][-1]["modules"]
        found[kind] = row
    return found


def print_summary(found: dict[str, Any], rounds: int) -> None:
    for kind, row in found.items():
        print(f"\n{kind.upper()} ({'apig-wsgi' if kind == 'wsgi' else 'Mangum'}), {rounds} rounds, medians")
        print(f"{'':<24}{'ours/floor':>11}{'95 % CI':>14}{'ours ms':>9}{'floor ms':>10}{'signed_cookies ms':>19}")
        for phase, label in (("first", "init + 1st request"), ("next_two", "next two requests")):
            for measure in ("cpu", "wall"):
                name = f"{phase}_{measure}"
                others = "".join(
                    f"   ({label_of}: {row[f'{name} {other}/floor']:.2f}x, {row[f'{name} {other} ms']:.0f} ms)"
                    for other, label_of in (("pynamodb_floor", "PynamoDB floor"), ("ours_native", "native async"),
                                            ("ours_deferred", "client at 1st request"))
                    if f"{name} {other} ms" in row)
                low, high = row[f"{name} ours/floor 95% CI"]
                print(f"{label + ', ' + measure:<24}{row[f'{name} ours/floor']:>10.2f}x{f'{low:.2f}-{high:.2f}':>14}"
                      f"{row[f'{name} ours ms']:>9.0f}{row[f'{name} floor ms']:>10.0f}"
                      f"{row[f'{name} signed_cookies ms']:>19.0f}{others}")
        for key, value in row.items():
            if ":" in key:
                print(f"  {key}: {value}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench coldstart", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--instructions", action="store_true",
                        help="also count CPU instructions under valgrind, which do not drift (a few minutes more)")
    args = parser.parse_args(argv)
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind on the PATH (Debian: apt-get install valgrind)")

    from pynamo_sessions.testing import local_endpoint

    compile_sources()
    all_cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    split = split_cpus()
    sample_cpus = None
    if split is not None:
        server_cpus, sample_cpus = split
        os.sched_setaffinity(0, server_cpus)  # DynamoDB Local, started below, inherits it
        print(f"  DynamoDB Local on CPUs {sorted(server_cpus)}, samples on {sorted(sample_cpus)}", file=sys.stderr)
    with local_endpoint() as endpoint:
        subprocess.run([sys.executable, "-m", "django", "createsessiontable"], cwd=ROOT, env=site_env("ours", endpoint),
                       check=True, stdout=subprocess.DEVNULL)
        cookies = {engine: stored_session(engine, endpoint) for engine in ENGINES}
        cookies["ours_native"] = cookies["ours_deferred"] = cookies["ours"]
        samples: dict[tuple[str, str], list[dict[str, Any]]] = {(k, e): [] for k in KINDS for e in VARIANTS[k]}
        for number in range(args.rounds):
            print(f"  round {number + 1} of {args.rounds}", file=sys.stderr, flush=True)
            for kind in KINDS:
                # Every other round in reverse, so that no variant always follows the same one.
                order = VARIANTS[kind] if number % 2 == 0 else VARIANTS[kind][::-1]
                for engine in order:
                    samples[(kind, engine)].append(run(kind, engine, endpoint, cookies[engine], sample_cpus))
        found = summary(samples)
        print_summary(found, args.rounds)
        if args.instructions:
            found["instructions"] = print_instructions(endpoint, cookies, all_cpus)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "coldstart.json"
    path.write_text(json.dumps({"date": datetime.now(UTC).isoformat(timespec="seconds"), "summary": found,
                                "samples": {f"{k}/{e}": v for (k, e), v in samples.items()}}, indent=2))
    print(f"\nwritten to {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
