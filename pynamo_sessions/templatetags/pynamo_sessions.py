"""``{% load pynamo_sessions %}``: relative times as the sessions page shows them."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def ago(moment: datetime | None) -> str:
    """ "just now", "5 minutes ago", "2 days, 3 hours ago"; "—" when unknown."""
    if moment is None:
        return "—"
    # The sessions page's times are aware (UTC) even with USE_TZ = False, where Django's "now"
    # is naive: compare with a now of the moment's own kind.
    if (datetime.now(moment.tzinfo) - moment).total_seconds() < 60:
        return _("just now")
    return _("%(time)s ago") % {"time": timesince(moment)}
