"""Basic login with hashed passwords: the Bokeh auth module ``artemis serve`` hands ``panel serve``
(``--auth-module artemis_panel/auth_module.py``) when ``ARTEMIS_AUTH=basic``.

Panel's own ``--basic-auth FILE`` compares plaintext passwords, so this module plugs into the hook
Bokeh's server offers for custom logins (``get_user``, ``login_url``, ``LoginHandler``,
``logout_url``, ``LogoutHandler``) and reuses Panel's pieces: its login page and cookie handling
(:class:`panel.auth.BasicLoginHandler`, with only the password check replaced by a scrypt / pbkdf2
hash check against ``ARTEMIS_CREDENTIALS``) and its ``/logout`` page. The signed ``user`` cookie it sets
is what ``pn.state.user`` reads in each session.
"""

from __future__ import annotations

import asyncio
import logging
import os

import tornado.escape
from panel.auth import BasicLoginHandler, LogoutHandler as PanelLogoutHandler, _validate_next_url
from panel.config import config
from panel.io.state import state

from artemis_panel.credentials import CredentialsError, CredentialStore

log = logging.getLogger("artemis.access")

login_url = "/login"
logout_url = "/logout"

_store: CredentialStore | None = None


def credential_store() -> CredentialStore:
    global _store
    path = os.environ.get("ARTEMIS_CREDENTIALS")
    if not path:
        raise CredentialsError("ARTEMIS_CREDENTIALS is not set: basic login needs the credentials file")
    if _store is None or str(_store.path) != path:
        _store = CredentialStore(path)
    return _store


def get_user(request_handler) -> str | None:
    """The signed-in user of a request (page or websocket): the signed ``user`` cookie, else None."""
    user = request_handler.get_secure_cookie("user", max_age_days=config.oauth_expiry)
    return user.decode("utf-8") if user else None


class LoginHandler(BasicLoginHandler):
    """Panel's login page (GET) and form (POST); the password is checked against its hash, off the
    event loop (a scrypt check takes some 50 ms)."""

    _login_endpoint = login_url

    def _validate(self, username: str, password: str) -> bool:
        try:
            return credential_store().verify(username, password)
        except (CredentialsError, OSError) as e:
            log.error("login refused: the credentials file cannot be used: %s", e)
            return False

    async def post(self):
        username = self.get_argument("username", "")
        password = self.get_argument("password", "")
        ok = await asyncio.get_running_loop().run_in_executor(None, self._validate, username, password)
        if ok:
            self.set_current_user(username)
            self.redirect(_validate_next_url(self.get_cookie("next_url", state.base_url)))
        else:
            log.warning("login refused: user %r, wrong user name or password (from %s)", username,
                        self.request.remote_ip)
            error = "?error=" + tornado.escape.url_escape("Invalid username or password!")
            self.redirect(self.request.uri.split("?")[0] + error)


class LogoutHandler(PanelLogoutHandler):
    """Panel's ``/logout``: clears the login cookies and links back to the login page."""

    _login_endpoint = login_url
