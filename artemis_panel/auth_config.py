"""How login is switched on: the environment variables, read here and nowhere else, and their checks.

==============================  ===========================================================
``ARTEMIS_AUTH``                ``none`` (default: no login, everyone admin of every brand),
                                ``basic`` (users and hashed passwords in a file) or ``oidc``
                                (an OpenID Connect provider such as AWS Cognito)
``ARTEMIS_ACCESS``              the access mapping (user / group -> role and brands)
``ARTEMIS_COOKIE_SECRET``       signs the login cookies (at least 32 characters)
``ARTEMIS_CREDENTIALS``         basic: the credentials file (JSON, password hashes)
``ARTEMIS_OAUTH_ENCRYPTION_KEY`` oidc: encrypts the tokens kept in cookies (``panel oauth-secret``)
``ARTEMIS_COGNITO_DOMAIN``      oidc: the user pool domain, e.g. ``https://team.auth.eu-west-1.amazoncognito.com``
                                (sets the three URLs below)
``ARTEMIS_OAUTH_AUTHORIZE_URL``, ``ARTEMIS_OAUTH_TOKEN_URL``, ``ARTEMIS_OAUTH_USER_URL``
                                oidc: the provider's endpoints, when not Cognito
``ARTEMIS_OAUTH_CLIENT_ID``, ``ARTEMIS_OAUTH_CLIENT_SECRET``
                                oidc: the app client
``ARTEMIS_OAUTH_REDIRECT_URI``  oidc: this server's ``/login`` as the provider calls it back,
                                e.g. ``https://artemis.example.com/login``
``ARTEMIS_OAUTH_USER_KEY``      oidc: the ID-token claim naming the user (default ``email``)
``ARTEMIS_OAUTH_SCOPE``         oidc: scopes, comma-separated (default ``openid,email,profile``)
==============================  ===========================================================

For the ``PANEL_OAUTH_*`` names Panel itself reads (``PANEL_OAUTH_KEY``, ``PANEL_OAUTH_SECRET``,
``PANEL_OAUTH_AUTHORIZE_URL``, ``PANEL_OAUTH_TOKEN_URL``, ``PANEL_OAUTH_USER_URL``), the ARTEMIS_
name wins when both are set; :func:`panel_launch` hands Panel what it needs.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

MODES = ("none", "basic", "oidc")
MIN_COOKIE_SECRET = 32
ROOT = Path(__file__).resolve().parents[1]
AUTH_MODULE = Path(__file__).resolve().with_name("auth_module.py")


class AuthConfigError(ValueError):
    """The login configuration is incomplete or wrong; ``problems`` lists every finding."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("the login configuration is not usable:\n" + "\n".join(f"  - {p}" for p in problems))


@dataclass(frozen=True)
class AuthConfig:
    mode: str = "none"
    access: Path | None = None
    credentials: Path | None = None
    cookie_secret: str | None = field(default=None, repr=False)
    encryption_key: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    authorize_url: str | None = None
    token_url: str | None = None
    user_url: str | None = None
    redirect_uri: str | None = None
    user_key: str = "email"
    scope: tuple[str, ...] = ("openid", "email", "profile")

    @property
    def enabled(self) -> bool:
        return self.mode != "none"


def _get(env: Mapping[str, str], *names: str) -> str | None:
    for n in names:
        v = env.get(n)
        if v is not None and v.strip():
            return v.strip()
    return None


def from_env(env: Mapping[str, str] | None = None) -> AuthConfig:
    """The configuration the environment describes (unchecked: see :func:`validate`)."""
    env = os.environ if env is None else env
    mode = (_get(env, "ARTEMIS_AUTH") or "none").lower()
    path = lambda name: Path(v).expanduser() if (v := _get(env, name)) else None  # noqa: E731
    domain = _get(env, "ARTEMIS_COGNITO_DOMAIN")
    if domain:
        domain = domain.rstrip("/")
        if "://" not in domain:
            domain = "https://" + domain
    cognito = (lambda suffix: f"{domain}{suffix}") if domain else (lambda suffix: None)
    scope = _get(env, "ARTEMIS_OAUTH_SCOPE")
    return AuthConfig(
        mode=mode,
        access=path("ARTEMIS_ACCESS"),
        credentials=path("ARTEMIS_CREDENTIALS"),
        cookie_secret=_get(env, "ARTEMIS_COOKIE_SECRET"),
        encryption_key=_get(env, "ARTEMIS_OAUTH_ENCRYPTION_KEY"),
        client_id=_get(env, "ARTEMIS_OAUTH_CLIENT_ID", "PANEL_OAUTH_KEY"),
        client_secret=_get(env, "ARTEMIS_OAUTH_CLIENT_SECRET", "PANEL_OAUTH_SECRET"),
        authorize_url=_get(env, "ARTEMIS_OAUTH_AUTHORIZE_URL") or cognito("/oauth2/authorize")
                      or _get(env, "PANEL_OAUTH_AUTHORIZE_URL"),
        token_url=_get(env, "ARTEMIS_OAUTH_TOKEN_URL") or cognito("/oauth2/token") or _get(env, "PANEL_OAUTH_TOKEN_URL"),
        user_url=_get(env, "ARTEMIS_OAUTH_USER_URL") or cognito("/oauth2/userInfo") or _get(env, "PANEL_OAUTH_USER_URL"),
        redirect_uri=_get(env, "ARTEMIS_OAUTH_REDIRECT_URI", "PANEL_OAUTH_REDIRECT_URI"),
        user_key=_get(env, "ARTEMIS_OAUTH_USER_KEY") or "email",
        scope=tuple(s.strip() for s in scope.split(",") if s.strip()) if scope else ("openid", "email", "profile"),
    )


def validate(cfg: AuthConfig) -> list[str]:
    """Every problem of the configuration (empty when it can be served). Reads the credentials and the
    access files, so a malformed one is found before the server starts."""
    from artemis_panel.credentials import CredentialsError, load_credentials
    from store.access import AccessFileError, load_access

    if cfg.mode not in MODES:
        return [f"ARTEMIS_AUTH={cfg.mode!r}: must be one of {', '.join(MODES)}"]
    if not cfg.enabled:
        return []
    problems: list[str] = []
    if not cfg.cookie_secret:
        problems.append("ARTEMIS_COOKIE_SECRET is not set: login cookies must be signed with a secret of at "
                        f"least {MIN_COOKIE_SECRET} characters (generate one with `panel secret`)")
    elif len(cfg.cookie_secret) < MIN_COOKIE_SECRET:
        problems.append(f"ARTEMIS_COOKIE_SECRET is too short ({len(cfg.cookie_secret)} characters; at least "
                        f"{MIN_COOKIE_SECRET}: generate one with `panel secret`)")
    if cfg.access is None:
        problems.append("ARTEMIS_ACCESS is not set: with login on, users see only the brands the access file "
                        "grants them (create it with `artemis users add`)")
    else:
        try:
            load_access(cfg.access)
        except AccessFileError as e:
            problems.append(f"ARTEMIS_ACCESS: {e}")
    if cfg.mode == "basic":
        if cfg.credentials is None:
            problems.append("ARTEMIS_CREDENTIALS is not set: basic login needs the credentials file "
                            "(create it with `artemis users add NAME --role ROLE --brands ...`)")
        else:
            try:
                if not load_credentials(cfg.credentials):
                    problems.append(f"ARTEMIS_CREDENTIALS: {cfg.credentials}: no user yet (add one with `artemis users add`)")
            except CredentialsError as e:
                problems.append(f"ARTEMIS_CREDENTIALS: {e}")
    if cfg.mode == "oidc":
        if not cfg.encryption_key:
            problems.append("ARTEMIS_OAUTH_ENCRYPTION_KEY is not set: OIDC tokens kept in cookies must be "
                            "encrypted (generate a key with `panel oauth-secret`)")
        else:
            try:
                ok = len(base64.urlsafe_b64decode(cfg.encryption_key.encode("ascii"))) == 32
            except (ValueError, UnicodeEncodeError):
                ok = False
            if not ok:
                problems.append("ARTEMIS_OAUTH_ENCRYPTION_KEY must be 32 url-safe base64-encoded bytes "
                                "(generate one with `panel oauth-secret`)")
            try:
                import cryptography  # noqa: F401
            except ImportError:
                problems.append("OIDC login needs the `cryptography` package (to encrypt the tokens)")
        for value, name in ((cfg.client_id, "ARTEMIS_OAUTH_CLIENT_ID"),
                            (cfg.client_secret, "ARTEMIS_OAUTH_CLIENT_SECRET")):
            if not value:
                problems.append(f"{name} is not set (the app client of your user pool / OIDC provider)")
        for value, name in ((cfg.authorize_url, "ARTEMIS_OAUTH_AUTHORIZE_URL"), (cfg.token_url, "ARTEMIS_OAUTH_TOKEN_URL"),
                            (cfg.user_url, "ARTEMIS_OAUTH_USER_URL")):
            if not value:
                problems.append(f"{name} is not set (or set ARTEMIS_COGNITO_DOMAIN for a Cognito user pool)")
            elif not value.startswith(("https://", "http://")):
                problems.append(f"{name}={value!r}: expected an http(s) URL")
        if not cfg.redirect_uri:
            problems.append("ARTEMIS_OAUTH_REDIRECT_URI is not set: the URL the provider sends users back to, "
                            "this server's /login (e.g. https://artemis.example.com/login), as registered "
                            "as a callback URL of the app client")
    return problems


def check(cfg: AuthConfig) -> AuthConfig:
    """``cfg``, or :class:`AuthConfigError` listing every problem."""
    problems = validate(cfg)
    if problems:
        raise AuthConfigError(problems)
    return cfg


# Panel settings a login of ours replaces: left in the environment, they would override or clash with it.
PANEL_AUTH_ENV = ("PANEL_BASIC_AUTH", "PANEL_OAUTH_PROVIDER", "PANEL_OAUTH_EXTRA_PARAMS", "PANEL_OAUTH_REDIRECT_URI",
                  "PANEL_OAUTH_KEY", "PANEL_OAUTH_SECRET", "PANEL_OAUTH_ENCRYPTION", "PANEL_COOKIE_SECRET",
                  "BOKEH_COOKIE_SECRET", "BOKEH_AUTH_MODULE", "PANEL_OAUTH_JWT_USER")


def panel_launch(cfg: AuthConfig) -> tuple[list[str], dict[str, str | None]]:
    """The ``panel serve`` arguments and the environment changes (None: remove the variable) that switch
    the configured login on. Secrets travel in the environment (Panel's own ``PANEL_*`` names), never on
    the command line, where any user of the machine could read them."""
    if not cfg.enabled:
        return [], {}
    args: list[str] = []
    env: dict[str, str | None] = dict.fromkeys(PANEL_AUTH_ENV)
    env.update({"ARTEMIS_AUTH": cfg.mode, "ARTEMIS_ACCESS": str(Path(cfg.access).resolve()),
                "PANEL_COOKIE_SECRET": cfg.cookie_secret or ""})
    if cfg.mode == "basic":
        args += ["--auth-module", str(AUTH_MODULE)]
        env["ARTEMIS_CREDENTIALS"] = str(Path(cfg.credentials).resolve())
    else:
        extra = {"AUTHORIZE_URL": cfg.authorize_url, "TOKEN_URL": cfg.token_url, "USER_URL": cfg.user_url,
                 "USER_KEY": cfg.user_key, "scope": list(cfg.scope)}
        args += ["--oauth-provider", "generic", "--oauth-extra-params", repr(extra),
                 "--oauth-redirect-uri", cfg.redirect_uri or ""]
        env.update({"PANEL_OAUTH_KEY": cfg.client_id or "", "PANEL_OAUTH_SECRET": cfg.client_secret or "",
                    "PANEL_OAUTH_ENCRYPTION": cfg.encryption_key or ""})
    return args, env
