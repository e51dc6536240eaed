"""Reference tables generated from the code, so the documentation cannot drift from it:

- ``{pynamo-settings}``: every setting from ``pynamo_sessions.conf.Conf``, with its default and
  the meaning written beside its definition; a setting without one fails the build.
- ``{pynamo-checks}``: every system check: id, level, when it fires, where it is explained
  (``checks.CHECKS``).
- ``{pynamo-commands}``: every management command's help, from its own argument parser.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util.docutils import SphinxDirective


def _table(header: list[str], rows: list[list[nodes.Node | str]], widths: list[int]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    head += _row(header)
    body = nodes.tbody()
    group += body
    for row in rows:
        body += _row(row)
    return table


def _row(cells: list[Any]) -> nodes.row:
    row = nodes.row()
    for cell in cells:
        entry = nodes.entry()
        entry += cell if isinstance(cell, nodes.Node) else nodes.paragraph(text=str(cell))
        row += entry
    return row


def _code(text: str) -> nodes.paragraph:
    paragraph = nodes.paragraph()
    paragraph += nodes.literal(text=text)
    return paragraph


def settings_rows() -> list[tuple[str, str, str, str, str]]:
    """Each setting's name, type, default, release and meaning; a setting without a meaning
    stops the build."""
    from pynamo_sessions.conf import Conf

    rows = []
    for setting in Conf.settings():
        if not setting.meaning.strip():
            raise ExtensionError(f"{setting.name} has no meaning: write one beside its definition in conf.")
        rows.append((setting.name, setting.kind, repr(setting.default), setting.since, setting.meaning))
    return rows


class SettingsDirective(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        rows: list[list[nodes.Node | str]] = [[_code(name), kind, _code(default), since, meaning]
                                              for name, kind, default, since, meaning in settings_rows()]
        return [_table(["Setting", "Type", "Default", "Since", "Meaning"], rows, [24, 14, 14, 6, 42])]


def _inline(text: str) -> nodes.paragraph:
    """A line of the code's own text, with its `backticked` names set as code."""
    paragraph = nodes.paragraph()
    for i, part in enumerate(text.split("`")):
        paragraph += nodes.literal(text=part) if i % 2 else nodes.Text(part)
    return paragraph


def checks_rows() -> list[tuple[str, str, str, str]]:
    """Each check's id, level, condition and the section that answers it."""
    from pynamo_sessions import checks

    levels = {"E": "Error", "W": "Warning", "I": "Info"}
    for id, check in checks.CHECKS.items():
        if not check.when.strip():
            raise ExtensionError(f"check pynamo_sessions.{id} does not say when it fires")
    return [(f"pynamo_sessions.{id}", levels[id[0]], check.when, f"{check.heading} ({check.page})")
            for id, check in sorted(checks.CHECKS.items(), key=lambda item: (item[0][1:], item[0]))]


class ChecksDirective(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        rows: list[list[nodes.Node | str]] = [[_code(id), level, _inline(when), where]
                                              for id, level, when, where in checks_rows()]
        return [_table(["Id", "Level", "When", "Explained in"], rows, [22, 10, 48, 20])]


class CommandsDirective(SphinxDirective):
    def run(self) -> list[nodes.Node]:
        from django.core.management import load_command_class

        import pynamo_sessions

        folder = Path(pynamo_sessions.__file__).parent / "management" / "commands"
        found: list[nodes.Node] = []
        for path in sorted(folder.glob("*.py")):
            if path.stem.startswith("_"):
                continue
            command = load_command_class("pynamo_sessions", path.stem)
            section = nodes.section(ids=[f"command-{path.stem}"])
            section += nodes.title(text=f"manage.py {path.stem}")
            section += nodes.literal_block(text=command.create_parser("manage.py", path.stem).format_help())
            found.append(section)
        return found


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("pynamo-settings", SettingsDirective)
    app.add_directive("pynamo-checks", ChecksDirective)
    app.add_directive("pynamo-commands", CommandsDirective)
    return {"parallel_read_safe": True}
