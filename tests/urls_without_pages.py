"""A site that does not include the sessions pages."""

from __future__ import annotations

from tests.urls import urlpatterns as _all

urlpatterns = [p for p in _all if "account/sessions" not in str(p.pattern)]
