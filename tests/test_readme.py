"""The README documents what the code does: its commands, every setting with its real default."""

from __future__ import annotations

import re
from pathlib import Path

import pynamo_sessions
from pynamo_sessions.conf import Conf

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = {path.name: path.read_text() for path in sorted((ROOT / "docs").glob("*.md"))}
ALL = "\n".join([README, *DOCS.values()])


def test_first_code_block_holds_the_demo_then_the_test_command() -> None:
    block = README.split("```", 2)[1].strip().splitlines()
    assert block[:2] == ["make demo", "make test"]
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "\nmake test\n" in ci


def test_every_setting_is_in_the_table_with_its_real_default() -> None:
    rows = dict(re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", DOCS["settings.md"], flags=re.MULTILINE))
    for setting in Conf.settings():
        assert setting.name in rows, f"{setting.name} is missing from docs/settings.md's table"
        assert rows[setting.name] == repr(setting.default), setting.name
    assert set(rows) == {s.name for s in Conf.settings()}


def test_every_error_the_readme_names_is_exported() -> None:
    for name in re.findall(r"`pynamo_sessions\.([A-Z][a-z]\w+)`", ALL):
        assert hasattr(pynamo_sessions, name), name


def test_every_check_id_is_documented() -> None:
    # The page's list is generated from checks.CHECKS (docs/_ext/reference.py), which
    # tests/test_checks.py holds to the ids the code raises.
    assert "```{pynamo-checks}" in DOCS["checks.md"]


def test_every_link_between_the_pages_leads_to_a_page_and_a_heading() -> None:
    def anchors(text: str) -> set[str]:
        return {re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
                for line in text.splitlines() if line.startswith("#")}

    pages = {"README.md": README, **{f"docs/{name}": text for name, text in DOCS.items()},
             "CHANGELOG.md": (ROOT / "CHANGELOG.md").read_text()}
    headings = dict(pages)
    for name, text in pages.items():  # a page that includes another has its headings too
        for included in re.findall(r"\{include\} \.\./(\S+)", text):
            headings[name] = text + "\n" + pages[included]
    for where, text in pages.items():
        folder = Path(where).parent
        for target, anchor in re.findall(r"\]\((?!https?://)([^)#\s]*)(?:#([^)\s]+))?\)", text):
            path = (folder / target).as_posix() if target else where
            path = str(Path(path)).replace("docs/../", "")
            if path.startswith("docs/_plots/"):  # drawn from docs/_data at each docs build
                assert (ROOT / "docs" / "_data" / Path(path).with_suffix(".json").name).exists(), path
                continue
            if target.endswith(".png") or target.endswith("/"):
                assert (ROOT / path).exists(), f"{where} links to {target}, which does not exist"
                continue
            assert path in pages, f"{where} links to {target}, which is not a page"
            if anchor:
                assert anchor in anchors(headings[path]), f"{where} links to {target}#{anchor}: no such heading"
