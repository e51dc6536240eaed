"""Run the demo site on sessions in DynamoDB: ``make demo`` (or ``python demo/run.py``).

Starts DynamoDB Local (fetched on first use), creates the sessions table with our own
provisioning code, and serves the site until Ctrl-C, which stops everything it started.

    DEMO_PORT=9000 make demo                     # another port (default 8001)
    make demo DEMO_ARGS=--asgi                    # served by uvicorn, async views on the native transport
    DYNAMODB_ENDPOINT=http://localhost:8000 ...   # a DynamoDB Local that is already running
    DYNAMODB_REGION=eu-west-1 make demo           # real DynamoDB (with your AWS credentials)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the pynamo_sessions demo site.")
    parser.add_argument("--port", type=int, default=int(os.environ.get("DEMO_PORT", 8001)))
    parser.add_argument("--asgi", action="store_true", help="Serve with uvicorn (ASGI) instead of runserver.")
    args = parser.parse_args()
    busy = port_in_use(args.port)
    if busy:
        # Said before DynamoDB Local and the table are started, which would be wasted.
        print(f"Port {args.port} is already in use ({busy}); run `DEMO_PORT=9000 make demo` (or "
              f"--port) to use another.", file=sys.stderr)
        return 2

    from pynamo_sessions.testing import DynamoDBLocal, use_dummy_credentials

    server = None
    if os.environ.get("DYNAMODB_REGION"):
        os.environ.pop("DYNAMODB_LOCAL_ENDPOINT", None)
        print(f"Using real DynamoDB in {os.environ['DYNAMODB_REGION']} with your AWS credentials.")
    else:
        use_dummy_credentials()
        endpoint = os.environ.get("DYNAMODB_ENDPOINT")
        if not endpoint:
            print("Starting DynamoDB Local (in memory)...", flush=True)
            server = DynamoDBLocal()
            endpoint = server.start()
        os.environ["DYNAMODB_LOCAL_ENDPOINT"] = endpoint
        print(f"DynamoDB Local at {endpoint}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    # Users live in a throwaway SQLite file, as the sessions live in an in-memory DynamoDB Local.
    users = tempfile.TemporaryDirectory(prefix="pynamo-sessions-demo-")
    os.environ["DEMO_DATABASE"] = str(Path(users.name) / "users.sqlite3")
    try:
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        call_command("createsessiontable")
        print(f"\nDemo site: http://127.0.0.1:{args.port}/   (Ctrl-C stops it and DynamoDB Local)\n", flush=True)
        if args.asgi:
            import uvicorn

            uvicorn.run("demo.asgi:application", host="127.0.0.1", port=args.port, log_level="info")
        else:
            call_command("runserver", f"127.0.0.1:{args.port}", use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.stop()
        users.cleanup()
    return 0


def port_in_use(port: int) -> str | None:
    """Why ``port`` cannot be served on 127.0.0.1, or None when it can."""
    import socket

    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


if __name__ == "__main__":
    sys.exit(main())
