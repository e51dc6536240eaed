"""A readable device from a stored user agent: "Firefox on Linux", "Safari on iPhone".

Parsed with ua-parser (the uap-core rules), not hand-written regexes: browsers change their
user agents every few months, and the rules are kept up to date upstream.
"""

from __future__ import annotations

from functools import lru_cache

import ua_parser
from django.utils.translation import gettext as _

# Families that name no device worth showing; the operating system says more.
_GENERIC_DEVICES = frozenset({"Other", "Generic Smartphone", "Generic Feature Phone", "Spider", "K", "Mac"})


@lru_cache(maxsize=512)
def describe(user_agent: str | None) -> str:
    if not user_agent:
        return _("Unknown device")
    result = ua_parser.parse(user_agent)
    browser = result.user_agent.family if result.user_agent else None
    if browser and browser.startswith("Mobile "):
        browser = browser.removeprefix("Mobile ")
    device = result.device.family if result.device and result.device.family not in _GENERIC_DEVICES else None
    where = device or (result.os.family if result.os else None)
    if browser and where:
        return _("%(browser)s on %(device)s") % {"browser": browser, "device": where}
    return browser or where or _("Unknown device")
