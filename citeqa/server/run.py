"""Starting citeqa's servers: the exposure rule, the listening socket, and uvicorn."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from citeqa.core.errors import ConfigError
from citeqa.core.netaddr import free_socket_path, is_loopback
from citeqa.core.settings import Settings
from citeqa.engine import Citeqa


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


def bind_unix(path: str) -> socket.socket:
    """A Unix socket at `path` that only this user may connect to (mode 0600): on a machine shared
    with other users, loopback is open to all of them, a socket file is not. A stale socket file
    (no server behind it) is replaced; a live one is a ConfigError."""
    target = Path(path)
    free_socket_path(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    previous = os.umask(0o177)  # created 0600: no moment where another user could connect
    try:
        sock.bind(str(target))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {path}: {exc.strerror or exc}; choose another --uds path") from None
    finally:
        os.umask(previous)
    return sock


def listen(settings: Settings, host: str, port: int, uds: str | None, command: str) -> socket.socket:
    """The socket a server listens on: a Unix socket with `uds`, else host:port (loopback unless
    CITEQA_API_KEY is set)."""
    if uds:
        return bind_unix(uds)
    require_auth_off_loopback(settings, host, command)
    return bind(host, port)


def close_listener(sock: socket.socket, uds: str | None) -> None:
    """Close the socket (uvicorn may have already) and remove the Unix socket's file."""
    sock.close()
    if uds:
        with contextlib.suppress(OSError):
            os.unlink(uds)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _Stopped(Exception):
    pass


def _raise_stopped(sig: int, frame: object) -> None:
    raise _Stopped


def uvicorn_level(verbosity: int) -> str:
    return {-1: "error", 0: "warning"}.get(verbosity, "info")


def run_uvicorn(app: object, sock: socket.socket, verbosity: int, on_exit: Callable[[], None] | None = None) -> None:
    """Serve `app` on `sock` until Ctrl-C or SIGTERM; `on_exit` runs as soon as the signal comes,
    before uvicorn waits for open requests (it ends the answers they wait for)."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: object) -> None:
            if on_exit is not None and not self.should_exit:
                on_exit()
            super().handle_exit(sig, frame)  # type: ignore[arg-type]

    if sock.family == socket.AF_UNIX:
        where: dict = {"uds": sock.getsockname()}
    else:
        where = {"host": sock.getsockname()[0], "port": sock.getsockname()[1]}
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        **where,
        log_level=uvicorn_level(verbosity),
        access_log=verbosity > 0,
        # Open streams are closed (which stops their answers) rather than waited for.
        timeout_graceful_shutdown=3,
    )
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then raises the signal again for the handler
    # it found: this one ends the run normally, so that the engine is closed and the exit status is 0.
    main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in STOP_SIGNALS} if main else {}
    try:
        Server(config).run(sockets=[sock])
    except _Stopped:
        pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve_api(
    engine: Citeqa,
    host: str,
    port: int,
    *,
    uds: str | None = None,
    verbosity: int = 0,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the HTTP API over `engine` on host:port (or the Unix socket `uds`) until Ctrl-C or SIGTERM."""
    from citeqa.server.app import create_app

    sock = listen(engine.settings, host, port, uds, "citeqa serve")
    try:
        # Loaded before the first request, so that a model or index problem stops the start.
        engine.generator  # noqa: B018
        engine.store  # noqa: B018
        app = create_app(engine)
        app.state.health.refresh()  # the first /healthz answers from it instead of opening the index
        if on_ready is not None:
            on_ready(url_of(sock))
        try:
            run_uvicorn(app, sock, verbosity, on_exit=app.state.answers.stop_all)
        finally:
            app.state.answers.stop_all()
            app.state.answers.wait_idle()
            app.state.writes.close()  # lets a running upload or removal finish
            app.state.health.close()
    finally:
        close_listener(sock, uds)


def url_of(sock: socket.socket) -> str:
    if sock.family == socket.AF_UNIX:
        return f"unix:{sock.getsockname()}"
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
