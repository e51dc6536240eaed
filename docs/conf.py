"""Sphinx configuration: the pages are MyST Markdown (docs/*.md, the README included as the
overview); the reference of settings, checks and commands is generated from the code by
``_ext/reference.py``, so it cannot drift. Built with ``make docs`` (``sphinx-build -W``, every
warning an error), which ``make test`` runs, and on Read the Docs by ``.readthedocs.yaml``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE / "_ext")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "docs_settings")

import django  # noqa: E402 - after the path and settings above

django.setup()

import pynamo_sessions  # noqa: E402

project = "pynamo_sessions"
author = "The pynamo_sessions authors"
release = version = pynamo_sessions.__version__
extensions = ["myst_parser", "sphinx.ext.autodoc", "reference", "plots"]
source_suffix = {".md": "markdown"}
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]
exclude_patterns = ["_build", "_data"]
html_theme = "alabaster"
html_title = "pynamo_sessions"
html_theme_options = {"page_width": "1240px", "body_max_width": "none"}
autodoc_member_order = "bysource"
autodoc_typehints = "description"
nitpicky = False
