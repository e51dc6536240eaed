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


def network_of(address: str | None) -> str | None:
    """The network an address (or a kept network, "203.0.113.0/24") is in, as "truncated" keeps
    it, to tell "the same place" whatever was kept; None for no address or not one."""
    if not address:
        return None
    try:
        network = ipaddress.ip_network(address, strict=False)
    except ValueError:
        return None
    base = network.network_address
    if isinstance(base, ipaddress.IPv6Address) and base.ipv4_mapped is not None:
        return kept_address(str(base.ipv4_mapped), "truncated")
    prefix = IPV4_PREFIX if base.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{base}/{min(prefix, network.prefixlen)}", strict=False))
