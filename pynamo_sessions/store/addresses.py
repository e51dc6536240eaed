"""How much of a visitor's IP address a session item keeps (DYNAMODB_SESSIONS_CLIENT_IP)."""

from __future__ import annotations

import ipaddress

#: The network a truncated address keeps: enough to tell "a new place", not who.
IPV4_PREFIX = 24
IPV6_PREFIX = 48


def kept_address(address: str, mode: str) -> str | None:
    """``address`` as kept: whole (``"full"``), its network (``"truncated"``: 203.0.113.0/24,
    2001:db8:1::/48) or nothing (``"none"``). A value that is not an IP address (a proxy's
    placeholder) is kept whole only when the whole address is."""
    if mode == "none" or not address:
        return None
    if mode == "full":
        return address
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    prefix = IPV4_PREFIX if parsed.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{parsed}/{prefix}", strict=False))
