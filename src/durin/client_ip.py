"""The client's IP address, trusting a proxy header only as far as the settings say."""

from __future__ import annotations

import ipaddress
from typing import Any

from .settings import durin_settings


def _host(entry: str) -> str:
    """The address part of a forwarded entry: ``1.2.3.4:80`` and ``[2001:db8::1]:443`` included.

    Proxies write the port along with the address (Azure, some ingress controllers),
    and IPv6 addresses in brackets; a bare IPv6 address has more than one colon.
    """
    entry = entry.strip().strip('"')
    if entry.startswith("["):
        host, closed, rest = entry[1:].partition("]")
        return host if closed and (not rest or rest[:1] == ":" and _is_port(rest[1:])) else ""
    host, colon, port = entry.partition(":")
    if colon and ":" not in port:  # exactly one colon: IPv4 with a port
        return host if _is_port(port) else ""
    return entry


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _valid(address: Any) -> str | None:
    if not isinstance(address, str):
        return None
    try:
        ip = ipaddress.ip_address(_host(address))
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.scope_id:
        # A zone (fe80::1%eth0) names an interface of the proxy, not a client;
        # PostgreSQL's inet type refuses it.
        ip = ipaddress.IPv6Address(int(ip))
    return str(ip)


def client_ip(request: Any) -> str | None:
    """``REMOTE_ADDR``, or the address ``NUM_TRUSTED_PROXIES`` hops back in ``CLIENT_IP_HEADER``.

    With ``NUM_TRUSTED_PROXIES = 0`` (the default) the header is ignored: anyone can
    send it. With N trusted proxies in front of the app, each appending the address it
    saw, the client is the N-th entry from the right; entries further left are
    whatever the client claimed. An entry may carry a port.
    """
    meta = getattr(request, "META", {})
    proxies = durin_settings.NUM_TRUSTED_PROXIES
    if proxies:
        hops = [hop for hop in str(meta.get(durin_settings.CLIENT_IP_HEADER, "")).split(",")]
        if len(hops) >= proxies:
            forwarded = _valid(hops[-proxies])
            if forwarded:
                return forwarded
    return _valid(meta.get("REMOTE_ADDR"))


def client_network(request: Any) -> str | None:
    """The block one client controls: its IPv4 address, or the /64 of its IPv6 address.

    An IPv6 host is normally given a whole /64 and can pick any address in it, so
    counting per address would let it start a fresh count at will. An IPv4 address
    mapped into IPv6 (``::ffff:192.0.2.1``) counts as the IPv4 address.
    """
    address = client_ip(request)
    if address is None:
        return None
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
