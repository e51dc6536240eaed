"""The README documents what the code does: its commands, every setting with its real default."""

from __future__ import annotations

import re
from pathlib import Path

import pynamo_sessions
from pynamo_sessions.conf import Conf

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_first_code_block_holds_the_demo_then_the_test_command() -> None:
    block = README.split("```", 2)[1].strip().splitlines()
    assert block[:2] == ["make demo", "make test"]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci


def test_every_setting_is_in_the_table_with_its_real_default() -> None:
    rows = dict(re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", README, flags=re.MULTILINE))
    for setting in Conf.settings():
        assert setting.name in rows, f"{setting.name} is missing from the README's settings table"
        assert rows[setting.name] == repr(setting.default), setting.name
    assert set(rows) == {s.name for s in Conf.settings()}


def test_every_error_the_readme_names_is_exported() -> None:
    for name in re.findall(r"`pynamo_sessions\.([A-Z][a-z]\w+)`", README):
        assert hasattr(pynamo_sessions, name), name


def test_every_check_id_is_documented() -> None:
    package = Path(pynamo_sessions.__file__).parent
    source = (package / "checks.py").read_text() + (package / "web" / "cookie_checks.py").read_text()
    ids = set(re.findall(r'"(?:pynamo_sessions\.)?([EWI]\d{3})"', source))
    documented = set(re.findall(r"`pynamo_sessions\.([EWI]\d{3})`", README))
    assert ids == documented
