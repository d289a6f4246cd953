"""The client's IP address, trusting a proxy header only as far as the settings say."""

from __future__ import annotations

import ipaddress
from typing import Any

from .settings import durin_settings


def _valid(address: Any) -> str | None:
    if not isinstance(address, str):
        return None
    try:
        return str(ipaddress.ip_address(address.strip()))
    except ValueError:
        return None


def client_ip(request: Any) -> str | None:
    """``REMOTE_ADDR``, or the address ``NUM_TRUSTED_PROXIES`` hops back in ``CLIENT_IP_HEADER``.

    With ``NUM_TRUSTED_PROXIES = 0`` (the default) the header is ignored: anyone can
    send it. With N trusted proxies in front of the app, each appending the address it
    saw, the client is the N-th entry from the right; entries further left are
    whatever the client claimed.
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
