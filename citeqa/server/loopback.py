"""Is an address to listen on reachable only from this machine?"""

from __future__ import annotations

import ipaddress
import socket


def is_loopback(host: str) -> bool:
    """True when every address `host` stands for is a loopback address (127.0.0.0/8, ::1).

    A name ("localhost", or one from /etc/hosts) is resolved; one that does not resolve, or an
    empty host or 0.0.0.0 / :: (every interface), is not loopback."""
    host = host.strip().strip("[]")
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return False
    addresses = {info[4][0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a.split("%", 1)[0]).is_loopback for a in addresses)
