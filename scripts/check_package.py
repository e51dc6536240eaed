"""The package as a new user gets it: built, checked, installed alone, used by a new project.

    make package        (run by make test; needs the jar that make fetches)

1. Builds the sdist and the wheel; `twine check --strict` renders the long description.
2. The sdist holds what its tests need; the wheel holds the package and nothing else.
3. Installs the wheel alone (dependencies from the index) into a fresh virtualenv.
4. In a project made by `django-admin startproject`, appends the README's settings example as
   written (pointing it at a DynamoDB Local, with no AWS credentials or region in the
   environment), then runs `migrate` (no django_session table may appear), `createsessiontable`,
   and one logged-in request to the admin.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "dist"


def run(*command: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"FAILED: {' '.join(map(str, command))}\n{result.stdout}\n{result.stderr}")
    return result.stdout


def step(message: str) -> None:
    print(f"package: {message}", flush=True)


def build() -> tuple[Path, Path]:
    shutil.rmtree(DIST, ignore_errors=True)
    step("building the sdist and the wheel")
    run(sys.executable, "-m", "build", "--outdir", DIST, ROOT)
    [sdist] = DIST.glob("*.tar.gz")
    [wheel] = DIST.glob("*.whl")
    step("twine check --strict (the long description must render)")
    run(sys.executable, "-m", "twine", "check", "--strict", sdist, wheel)
    return sdist, wheel


def check_contents(sdist: Path, wheel: Path) -> None:
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    needed = {"LICENSE", "CHANGELOG.md", "conftest.py", "pyproject.toml", "Makefile", "tests/conftest.py",
              "tests/settings.py", "tests/urls.py", "tests/helpers.py", "tests/brokencache.py", "demo/run.py",
              "tests/lambda_events.py", "tests_django/settings.py", "tests_django/source.py"}
    missing = needed - names
    if missing:
        sys.exit(f"FAILED: the sdist lacks {sorted(missing)}, which its tests need")
    with zipfile.ZipFile(wheel) as archive:
        tops = {name.split("/", 1)[0] for name in archive.namelist()}
    extra = {top for top in tops if top != "pynamo_sessions" and not top.endswith(".dist-info")}
    templates = {"pynamo_sessions/templates/pynamo_sessions/sessions.html",
                 "pynamo_sessions/templates/admin/auth/user/change_form.html",
                 "pynamo_sessions/templates/admin/pynamo_sessions/user_sessions.html",
                 "pynamo_sessions/templatetags/pynamo_sessions.py", "pynamo_sessions/py.typed"}
    if not templates <= set(zipfile.ZipFile(wheel).namelist()):
        sys.exit(f"FAILED: the wheel lacks {sorted(templates - set(zipfile.ZipFile(wheel).namelist()))}")
    if extra:
        sys.exit(f"FAILED: the wheel carries more than the package: {sorted(extra)}")
    metadata = zipfile.ZipFile(wheel).read(next(n for n in zipfile.ZipFile(wheel).namelist()
                                                 if n.endswith("METADATA"))).decode()
    # No Project-URL until the project is published: a Documentation link to a page that does
    # not exist would be the first thing a newcomer follows.
    for field in ("License-File: LICENSE", "Development Status", "Requires-Dist: aiobotocore",
                  "Description-Content-Type: text/markdown", "## Install"):
        if field not in metadata:
            sys.exit(f"FAILED: the wheel's metadata has no {field!r}")
    dangling = re.findall(r"\]\((?:#|(?![a-z]+://|mailto:))[^)]*\)", metadata)
    if dangling or "Project-URL:" in metadata:
        sys.exit(f"FAILED: the package index description links where the index has nothing: {dangling[:5]}")
    step(f"contents: sdist has its tests' files, wheel has {sorted(tops)}")


def settings_example() -> str:
    readme = (ROOT / "README.md").read_text()
    match = re.search(r"<!-- settings-example -->\n```python\n(.*?)```", readme, re.S)
    if not match:
        sys.exit("FAILED: the README has no settings example")
    return match.group(1)


def smoke(wheel: Path, work: Path) -> None:
    from pynamo_sessions.testing import DynamoDBLocal

    step("installing the wheel alone into a fresh virtualenv")
    venv.create(work / "venv", with_pip=True)
    python = work / "venv" / "bin" / "python"
    run(python, "-m", "pip", "install", "--disable-pip-version-check", "-q", wheel)
    run(work / "venv" / "bin" / "django-admin", "startproject", "smokesite", cwd=work)
    project = work / "smokesite"
    with DynamoDBLocal() as endpoint:
        example = settings_example().replace(
            '# DYNAMODB_LOCAL_ENDPOINT = "http://localhost:8000"', f'DYNAMODB_LOCAL_ENDPOINT = "{endpoint}"')
        with (project / "smokesite" / "settings.py").open("a") as settings:
            settings.write("\n" + example)
        # A new user's machine: no AWS credentials, no region, no AWS config.
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true")
        manage = (python, "manage.py")
        step("migrate: no django_session table")
        run(*manage, "migrate", "-v", "0", cwd=project, env=env)
        tables = run(python, "-c", "import sqlite3; print(sqlite3.connect('db.sqlite3').execute("
                     "\"select group_concat(name) from sqlite_master where type='table'\").fetchone()[0])",
                     cwd=project, env=env)
        if "django_session" in tables:
            sys.exit(f"FAILED: migrate created django_session: {tables}")
        step("createsessiontable, twice")
        first = run(*manage, "createsessiontable", cwd=project, env=env)
        second = run(*manage, "createsessiontable", cwd=project, env=env)
        if "Created table 'django_sessions'" not in first or "already exists" not in second:
            sys.exit(f"FAILED: createsessiontable said {first!r} then {second!r}")
        step("one logged-in request to the admin")
        script = textwrap.dedent("""
            import django, os
            os.environ["DJANGO_SETTINGS_MODULE"] = "smokesite.settings"
            django.setup()
            from django.contrib.auth.models import User
            from django.test import Client
            User.objects.create_superuser("admin", "admin@example.com", "a-long-password-1")
            client = Client(HTTP_HOST="localhost")  # startproject allows it with DEBUG on
            response = client.post("/admin/login/?next=/admin/",
                                   {"username": "admin", "password": "a-long-password-1"})
            assert response.status_code == 302, response.status_code
            response = client.get("/admin/")
            assert response.status_code == 200 and b"Log out" in response.content, response.status_code
            from pynamo_sessions.backends.dynamodb import SessionStore
            key = client.cookies["sessionid"].value
            assert SessionStore(key).load()["_auth_user_id"] == "1"
            print("logged in; the session is in DynamoDB")
        """)
        print(textwrap.indent(run(python, "-c", script, cwd=project, env=env).strip(), "    "))
        check = run(*manage, "check", cwd=project, env=env)
        step(f"manage.py check: {check.strip()}")


def main() -> int:
    started = time.monotonic()
    sdist, wheel = build()
    check_contents(sdist, wheel)
    with tempfile.TemporaryDirectory(prefix="pynamo-sessions-package-") as work:
        smoke(wheel, Path(work))
    step(f"all good in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
