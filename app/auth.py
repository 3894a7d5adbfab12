"""Who may see the web app: anyone on this machine while it listens on loopback; on any other
address only someone who has logged in, and nobody at all if no login is configured.

- CITEQA_APP_PASSWORD: a form asks for it before anything else renders (documents, answers, the
  library and its upload, delete and re-ingest actions included). It is compared in constant time
  (digests, so that not even its length shows), sent over the app's websocket (never in a URL),
  never logged. Wrong ones are counted per client address and in all (citeqa/core/attempts.py):
  past CITEQA_MAX_FAILED_LOGINS a minute, guesses are not checked for a growing while, and each
  failure is logged with the address. A login lasts for the browser session (st.session_state),
  which holds a keyed digest of the password, not the password.
- Without a login, only requests addressed to a loopback name are served (DNS rebinding: a page
  whose name resolves to 127.0.0.1): Streamlit's server.allowedHosts refuses the websocket (set by
  `citeqa app` and .streamlit/config.toml), and the page checks the Host again before rendering.
- Streamlit's own OIDC login (`st.login`), when `[auth]` is configured in .streamlit/secrets.toml
  and no password is set.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets

import streamlit as st

from citeqa.core.attempts import FailedLogins, same_secret
from citeqa.core.netaddr import host_of, is_loopback, is_loopback_name
from citeqa.core.settings import Settings

log = logging.getLogger("citeqa.app")

_SESSION_KEY = "citeqa_logged_in"
_PROCESS_KEY = secrets.token_bytes(32)  # logins end when the app restarts
_refusal_logged = False
_failures: FailedLogins | None = None  # one count for the process: every session's guesses
_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def password(settings: Settings | None) -> str | None:
    if settings is None or settings.app_password is None:
        return None
    return settings.app_password.get_secret_value() or None


def oidc_configured() -> bool:
    """Whether Streamlit's own login is configured ([auth] in .streamlit/secrets.toml)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file, or an unreadable one: no OIDC login
        return False


def allowed_hosts(address: str | None, settings: Settings | None) -> list[str]:
    """Streamlit's server.allowedHosts for the app on `address`: loopback names only, unless a
    login protects it (then any: the login does)."""
    if password(settings) is not None or oidc_configured():
        return ["*"]
    host = (address or "").strip("[]").lower()
    return [*_LOOPBACK_NAMES, *([host] if is_loopback_name(host) and host not in _LOOPBACK_NAMES else [])]


def foreign_host() -> str | None:
    """The Host this session's page was requested under, when it is not a loopback name."""
    try:
        host = st.context.headers.get("Host")
    except Exception:  # no request behind this run (AppTest)
        return None
    if host is None or is_loopback_name(host_of(host)):
        return None
    return host


def exposure_problem(address: str | None, settings: Settings | None) -> str | None:
    """Why the app must not serve on `address` (None or "" means every interface), or None."""
    if (address or "").startswith("unix://") or is_loopback(address):
        return None
    if password(settings) is not None or oidc_configured():
        return None
    where = address if address and address not in ("0.0.0.0", "::") else "every network interface"
    return (
        f"citeqa's web app would listen on {where}, where other machines can reach it, without a login. "
        "Set CITEQA_APP_PASSWORD (or Streamlit's [auth] login in .streamlit/secrets.toml), or listen on "
        "127.0.0.1 only: citeqa app --host 127.0.0.1, or server.address in .streamlit/config.toml"
    )


_listening: list[str] | None = None


def network_addresses() -> list[str]:
    """The addresses other than loopback this process listens on: the Streamlit server's, read from
    the kernel's socket table once (what is bound, whatever the options said). None under AppTest."""
    global _listening
    if _listening is None:
        try:
            import psutil

            bound = {c.laddr.ip for c in psutil.Process().net_connections("inet") if c.status == psutil.CONN_LISTEN}
        except Exception:  # no socket table to read: trust the option ("" binds every interface)
            from streamlit import runtime

            bound = {st.get_option("server.address") or "0.0.0.0"} if runtime.exists() else set()
        _listening = sorted(a for a in bound if not a.startswith("unix://") and not is_loopback(a))
    return _listening


def admitted(settings: Settings | None) -> bool:
    """True if this browser session may see the app; otherwise the page shows only why not (a
    refusal to serve on a network address without a login) or the login."""
    global _refusal_logged
    exposed = network_addresses()
    if exposed and (problem := exposure_problem(exposed[0], settings)):
        if not _refusal_logged:
            _refusal_logged = True
            log.error("%s", problem)
        st.error(f"**citeqa refuses to serve on this address.**  \n{problem}", icon=":material/lock:")
        return False
    pw = password(settings)
    if pw is not None:
        return _password_gate(pw, settings)
    if oidc_configured():
        return _oidc_gate()
    if host := foreign_host():
        log.warning("refused a page requested as %r: without a login only loopback names are served", host)
        st.error(
            f"**citeqa answers only at 127.0.0.1 or localhost without a login, not at {host}.** "
            "Set CITEQA_APP_PASSWORD to open it to other names.",
            icon=":material/lock:",
        )
        return False
    return True


def _digest(pw: str) -> str:
    return hmac.new(_PROCESS_KEY, pw.encode("utf-8"), hashlib.sha256).hexdigest()


def failures(settings: Settings | None) -> FailedLogins:
    global _failures
    if _failures is None:
        _failures = FailedLogins(settings.max_failed_logins if settings else 10, what="web app password")
    return _failures


def client_address() -> str:
    try:
        return st.context.ip_address or "unknown"
    except Exception:  # no request behind this run (AppTest)
        return "unknown"


def _password_gate(pw: str, settings: Settings | None) -> bool:
    if hmac.compare_digest(str(st.session_state.get(_SESSION_KEY, "")), _digest(pw)):
        return True
    # In a placeholder, so that a successful login clears the form at once: left to the rerun, the
    # faded form stayed on screen beside the app until the app's first run ended.
    login = st.empty()
    with login.container():
        st.title("citeqa")
        with st.form("citeqa_login", clear_on_submit=True):
            entered = st.text_input("Password", type="password", help="CITEQA_APP_PASSWORD, as set where the app runs")
            submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        address, counted = client_address(), failures(settings)
        if (wait := counted.wait_s(address)) > 0:  # not even checked: guessing must not go on
            st.error(f"Too many wrong passwords; try again in {math.ceil(wait)} s.", icon=":material/lock:")
            return False
        if same_secret(entered, pw):
            counted.succeeded(address)
            st.session_state[_SESSION_KEY] = _digest(pw)
            login.empty()
            st.rerun()
        counted.failed(address)
        st.error("Wrong password.", icon=":material/lock:")
    return False


def _oidc_gate() -> bool:
    if _oidc_logged_in():
        return True
    st.title("citeqa")
    st.button("Log in", on_click=st.login, type="primary", key="citeqa_oidc_login")
    return False


def logout_button(settings: Settings) -> None:
    """A log-out button in the sidebar, where a login is configured."""
    if password(settings) is not None:
        if st.button("Log out", icon=":material/logout:", key="citeqa_logout"):
            st.session_state.pop(_SESSION_KEY, None)
            st.rerun()
    elif oidc_configured() and _oidc_logged_in():
        st.button("Log out", icon=":material/logout:", key="citeqa_logout", on_click=st.logout)


def _oidc_logged_in() -> bool:
    return bool(st.user.get("is_logged_in", False))  # absent when no login ever happened (AppTest)
