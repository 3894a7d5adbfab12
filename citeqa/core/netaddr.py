"""Which addresses a server of citeqa's may listen on without a login: loopback only.

The web app (`citeqa app`, `streamlit run app/main.py`), `citeqa serve-db` and the HTTP API all
ask `is_loopback` before they listen; anything else must be protected (a password or an API key)
or is refused.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


def is_loopback(host: str | None) -> bool:
    """True if listening on `host` is reachable from this machine only.

    An address literal is checked as it is ("127.0.0.2", "::1", "[::1]"); a name ("localhost") is
    resolved, and every address it resolves to must be loopback. Empty, "0.0.0.0" and "::" (all
    interfaces), other addresses, and names that do not resolve are not."""
    host = (host or "").strip()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
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


def host_of(value: str) -> str:
    """The host of a Host header or an Origin URL, without port or brackets, lower case."""
    netloc = urlsplit(value).netloc if "://" in value else value
    try:
        return (urlsplit(f"//{netloc}").hostname or "").lower()
    except ValueError:
        return ""


def is_loopback_name(host: str) -> bool:
    """Whether a request's Host names this machine's loopback: "localhost" or a loopback address.
    Never resolved (unlike is_loopback): a DNS-rebinding name resolves to 127.0.0.1 by design."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def free_socket_path(path: str) -> None:
    """Make `path` ready for a Unix socket to be bound there: a stale socket file (no server
    behind it, left by one that did not stop cleanly) is removed; a live one, or any other file,
    is a ConfigError naming --uds."""
    from pathlib import Path

    from citeqa.core.errors import ConfigError

    target = Path(path)
    if target.is_socket():
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(target))
        except OSError:
            target.unlink()
        else:
            raise ConfigError(f"{path} is in use by another server; stop it or choose another --uds path")
        finally:
            probe.close()
    elif target.exists():
        raise ConfigError(f"{path} exists and is not a socket; choose another --uds path")
