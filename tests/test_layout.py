"""The package's parts import one way: the store at the bottom, then operations, then the web side
and the commands; the test tools import the store and operations, and the runtime never imports
them. Each module is imported in a fresh interpreter (Django set up without our app, so that its
``ready()`` imports nothing) and what it pulled in is compared with what its part may use."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "pynamo_sessions"
BASE = {"conf", "exceptions", "signals"}  # settings, errors and signals, beneath everything
MAY_IMPORT = {
    "store": {"store"},
    "backends": {"store", "backends"},
    "operations": {"store", "backends", "operations"},
    "management": {"store", "backends", "operations", "management"},
    "web": {"store", "backends", "operations", "web"},
    "testing": {"store", "backends", "operations", "testing"},
    # What a project names in its settings and code: anything but the test tools.
    "apps": {"store", "backends", "operations", "web", "apps", "checks"},
    "checks": {"store", "backends", "operations", "web", "checks"},
    "middleware": {"store", "middleware"},
    "urls": {"store", "backends", "operations", "web", "urls"},
}

PROBE = """
import json, sys
import django
from django.conf import settings
settings.configure(INSTALLED_APPS=["django.contrib.auth", "django.contrib.contenttypes",
                                   "django.contrib.messages", "django.contrib.admin"],
                   SECRET_KEY="layout", ROOT_URLCONF="pynamo_sessions.urls")
django.setup()
import importlib
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(n for n in sys.modules if n.startswith("pynamo_sessions."))))
"""


def modules() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__main__" or "templatetags" in parts:
            continue
        found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return [m for m in found if m != "pynamo_sessions" and m.split(".")[1] not in BASE]


def part(module: str) -> str:
    return module.split(".")[1]


@pytest.mark.parametrize("module", modules())
def test_each_module_imports_only_the_parts_beneath_it(module: str) -> None:
    result = subprocess.run([sys.executable, "-c", PROBE, module], capture_output=True, text=True, check=False,
                            cwd=PACKAGE.parent, timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = {part(m) for m in json.loads(result.stdout.splitlines()[-1])}
    beyond = loaded - BASE - MAY_IMPORT[part(module)]
    assert not beyond, f"{module} pulls in {sorted(beyond)}"


def test_every_part_has_a_rule_and_says_what_it_holds() -> None:
    assert {part(m) for m in modules()} <= set(MAY_IMPORT)
    for package in ("store", "web", "operations", "testing"):
        doc = (PACKAGE / package / "__init__.py").read_text()
        assert doc.startswith('"""') and "import" in doc.split('"""')[1], package
