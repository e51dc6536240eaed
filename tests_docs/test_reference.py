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
    rows = {name: default for name, default, _ in reference.settings_rows()}
    assert rows == {s.name: repr(s.default) for s in Conf.settings()}


def test_a_setting_without_a_meaning_fails_the_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Conf, "UNDOCUMENTED", Setting("DYNAMODB_SESSIONS_UNDOCUMENTED", 1, values.boolean, " "),
                        raising=False)
    with pytest.raises(ExtensionError, match="DYNAMODB_SESSIONS_UNDOCUMENTED has no meaning"):
        reference.settings_rows()
