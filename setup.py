"""setup.cfg holds the package's metadata; this file only makes the description the package index
shows, from README.md and CHANGELOG.md.

The index gives headings no anchors and has no copy of docs/: a link to a section (``#install``)
or a relative picture (``docs/sessions-page.png``) would lead nowhere there, so each becomes its
text. ``make package`` checks the result.
"""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent


def index_description(markdown: str) -> str:
    """``markdown`` as the package index can show it: no in-page links, no relative pictures."""
    markdown = re.sub(r"!\[([^\]]*)\]\((?![a-z]+://)[^)]*\)", r"*(Picture: \1)*", markdown)
    return re.sub(r"\[([^\]]+)\]\((?:#|(?![a-z]+://|mailto:))[^)]*\)", r"\1", markdown)


if __name__ == "__main__":
    from setuptools import setup

    text = (HERE / "README.md").read_text() + "\n\n" + (HERE / "CHANGELOG.md").read_text()
    setup(long_description=index_description(text), long_description_content_type="text/markdown")
