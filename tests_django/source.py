"""Django's test modules for the installed Django version, fetched once from its sdist on PyPI.

The wheel Django is installed from has no tests; the sdist of the very same version does. Only
the two test packages our run imports are unpacked (``sessions_tests``, and ``cache`` for its
failing cache backend) into ``.cache/django-tests/<version>/``.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("sessions_tests", "cache")


def django_tests_dir() -> Path:
    version = django.get_version()
    target = ROOT / ".cache" / "django-tests" / version
    if all((target / package / "__init__.py").exists() for package in PACKAGES):
        return target
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--no-binary", ":all:", "--dest", scratch, f"django=={version}"],
            check=True,
        )
        [sdist] = Path(scratch).glob("*.tar.gz")
        with tarfile.open(sdist) as archive:
            members = [m for m in archive.getmembers() if _wanted(m.name)]
            if not members:
                raise RuntimeError(f"{sdist.name} has no tests/{PACKAGES[0]}: cannot run Django's session tests.")
            prefix = members[0].name.split("/", 1)[0] + "/tests/"
            for member in members:
                member.name = member.name.removeprefix(prefix)
            archive.extractall(target, members=members, filter="data")
    return target


def _wanted(name: str) -> bool:
    parts = name.split("/")
    return len(parts) >= 4 and parts[1] == "tests" and parts[2] in PACKAGES
