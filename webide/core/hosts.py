"""Whether a host name or address is this machine's loopback (a URL that only this machine can reach)."""

from __future__ import annotations

import ipaddress


def is_loopback_host(host: str) -> bool:
    """``localhost`` (and its subdomains), 127.0.0.0/8 and ::1, with or without brackets or a trailing dot."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
