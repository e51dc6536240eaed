"""The generated reference (docs/_ext/reference.py), run by ``make docs`` where Sphinx is installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sphinx.errors import ExtensionError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "docs" / "_ext"))

import reference

from pynamo_sessions.conf import Conf, Setting, values


def test_the_settings_reference_lists_every_setting_with_its_default() -> None:
    rows = {name: (kind, default) for name, kind, default, _, _ in reference.settings_rows()}
    assert rows == {s.name: (s.kind, repr(s.default)) for s in Conf.settings()}
    assert "any" not in {kind for kind, _ in rows.values()}  # every check says what it takes
    assert rows["DYNAMODB_SESSIONS_BILLING_MODE"][0] == "str: 'PAY_PER_REQUEST' | 'PROVISIONED'"


def test_a_setting_without_a_meaning_fails_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Conf, "UNDOCUMENTED", Setting("DYNAMODB_SESSIONS_UNDOCUMENTED", 1, values.boolean, " "),
                        raising=False)
    with pytest.raises(ExtensionError, match="DYNAMODB_SESSIONS_UNDOCUMENTED has no meaning"):
        reference.settings_rows()


def test_the_checks_reference_lists_every_check_with_when_it_fires() -> None:
    from pynamo_sessions import checks

    rows = {id: (level, when) for id, level, when, _ in reference.checks_rows()}
    assert set(rows) == {f"pynamo_sessions.{id}" for id in checks.CHECKS}
    assert rows["pynamo_sessions.E101"] == ("Error", "(deploy) the table does not exist")
    assert rows["pynamo_sessions.W111"][1].startswith(
        "(deploy) `SESSION_COOKIE_SECURE` is not `True` with our middleware")


def test_a_check_that_does_not_say_when_it_fires_fails_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    from pynamo_sessions import checks

    monkeypatch.setitem(checks.CHECKS, "W999", checks.Check(" ", "README.md", "Install"))
    with pytest.raises(ExtensionError, match=r"pynamo_sessions\.W999 does not say when it fires"):
        reference.checks_rows()
