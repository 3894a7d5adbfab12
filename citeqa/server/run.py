"""Starting citeqa's servers: the exposure rule, the listening socket, and uvicorn."""

from __future__ import annotations

import socket
from collections.abc import Callable

from citeqa.core.errors import ConfigError
from citeqa.core.settings import Settings
from citeqa.engine import Citeqa
from citeqa.server.loopback import is_loopback


def require_auth_off_loopback(settings: Settings, host: str, command: str) -> None:
    """Refuse to listen beyond this machine without a token: the index holds private documents."""
    if settings.api_key is None and not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host} without authentication: anyone who can reach it could read "
            "your documents. Set CITEQA_API_KEY to a secret token (clients send 'Authorization: Bearer "
            f"<token>'), or listen on loopback only: {command} --host 127.0.0.1"
        )


def bind(host: str, port: int) -> socket.socket:
    """A socket bound to host:port (not yet listening), or a ConfigError saying why not."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise ConfigError(f"cannot listen on {host}: {exc.strerror}; give --host an address of this machine") from None
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port") from None
    return sock


def uvicorn_level(verbosity: int) -> str:
    return {-1: "error", 0: "warning"}.get(verbosity, "info")


def run_uvicorn(app: object, sock: socket.socket, verbosity: int) -> None:
    import uvicorn

    host, port = sock.getsockname()[:2]
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        log_level=uvicorn_level(verbosity),
        access_log=verbosity > 0,
        # Open streams are closed (which stops their answers) rather than waited for.
        timeout_graceful_shutdown=3,
    )
    uvicorn.Server(config).run(sockets=[sock])


def serve_api(
    engine: Citeqa, host: str, port: int, *, verbosity: int = 0, on_ready: Callable[[str], None] | None = None
) -> None:
    """Serve the HTTP API over `engine` on host:port until Ctrl-C or SIGTERM."""
    from citeqa.server.app import create_app

    require_auth_off_loopback(engine.settings, host, "citeqa serve")
    sock = bind(host, port)
    try:
        # Loaded before the first request, so that a model or index problem stops the start.
        engine.generator  # noqa: B018
        engine.store  # noqa: B018
        app = create_app(engine)
        if on_ready is not None:
            on_ready(url_of(sock))
        run_uvicorn(app, sock, verbosity)
    finally:
        sock.close()


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
