"""Run the demo site on sessions in DynamoDB: ``make demo`` (or ``python demo/run.py``).

Starts DynamoDB Local (fetched on first use), creates the sessions table with our own
provisioning code, and serves the site until Ctrl-C, which stops everything it started.

    DEMO_PORT=9000 make demo                     # another port
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
    args = parser.parse_args()

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
        call_command("runserver", f"127.0.0.1:{args.port}", use_reloader=False)
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.stop()
        users.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
