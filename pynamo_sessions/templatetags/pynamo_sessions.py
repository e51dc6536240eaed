"""``{% load pynamo_sessions %}``: relative times as the sessions page shows them, and what it
shows of IP addresses."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from pynamo_sessions import conf

register = template.Library()


@register.simple_tag
def client_ip_kept() -> str:
    """DYNAMODB_SESSIONS_CLIENT_IP: 'full', 'truncated' or 'none', so the table says what its
    address column holds (or leaves it out)."""
    return conf.current().client_ip


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
