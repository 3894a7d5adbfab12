"""Who may see the web app: anyone on this machine while it listens on loopback; on any other
address only someone who has logged in, and nobody at all if no login is configured.

- CITEQA_APP_PASSWORD: a form asks for it before anything else renders (documents, answers, the
  library and its upload, delete and re-ingest actions included). It is compared in constant time
  (hmac.compare_digest), sent over the app's websocket (never in a URL), never logged, and a wrong
  one costs a pause that slows guessing. A login lasts for the browser session (st.session_state),
  which holds a keyed digest of the password, not the password.
- Streamlit's own OIDC login (`st.login`), when `[auth]` is configured in .streamlit/secrets.toml
  and no password is set.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time

import streamlit as st

from citeqa.core.netaddr import is_loopback
from citeqa.core.settings import Settings

log = logging.getLogger("citeqa.app")

_SESSION_KEY = "citeqa_logged_in"
_PROCESS_KEY = secrets.token_bytes(32)  # logins end when the app restarts
_WRONG_PAUSE_S = 1.0
_refusal_logged = False


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
        return _password_gate(pw)
    if oidc_configured():
        return _oidc_gate()
    return True


def _digest(pw: str) -> str:
    return hmac.new(_PROCESS_KEY, pw.encode("utf-8"), hashlib.sha256).hexdigest()


def _password_gate(pw: str) -> bool:
    if hmac.compare_digest(str(st.session_state.get(_SESSION_KEY, "")), _digest(pw)):
        return True
    st.title("citeqa")
    with st.form("citeqa_login", clear_on_submit=True):
        entered = st.text_input("Password", type="password", help="CITEQA_APP_PASSWORD, as set where the app runs")
        submitted = st.form_submit_button("Log in", type="primary")
    if submitted:
        if hmac.compare_digest(entered.encode("utf-8"), pw.encode("utf-8")):
            st.session_state[_SESSION_KEY] = _digest(pw)
            st.rerun()
        time.sleep(_WRONG_PAUSE_S)
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
