"""``artemis serve``: a login configuration that cannot work is refused before anything starts; a good one
becomes the right ``panel serve`` command, with the secrets in the environment, not on the command line."""

from __future__ import annotations

import ast
import json
import secrets
import sys

import pytest

from artemis_panel import cli
from artemis_panel.auth_config import AUTH_MODULE, ROOT
from artemis_panel.credentials import hash_password, save_credentials

AUTH_ENV = ("ARTEMIS_AUTH", "ARTEMIS_CREDENTIALS", "ARTEMIS_ACCESS", "ARTEMIS_COOKIE_SECRET",
            "ARTEMIS_OAUTH_ENCRYPTION_KEY", "ARTEMIS_COGNITO_DOMAIN", "ARTEMIS_OAUTH_CLIENT_ID",
            "ARTEMIS_OAUTH_CLIENT_SECRET", "ARTEMIS_OAUTH_REDIRECT_URI", "ARTEMIS_OAUTH_AUTHORIZE_URL",
            "ARTEMIS_OAUTH_TOKEN_URL", "ARTEMIS_OAUTH_USER_URL", "ARTEMIS_OAUTH_USER_KEY", "ARTEMIS_OAUTH_SCOPE",
            "PANEL_OAUTH_KEY", "PANEL_OAUTH_SECRET", "PANEL_OAUTH_AUTHORIZE_URL", "PANEL_OAUTH_TOKEN_URL",
            "PANEL_OAUTH_USER_URL", "PANEL_OAUTH_REDIRECT_URI", "PANEL_COOKIE_SECRET", "PANEL_BASIC_AUTH",
            "PANEL_OAUTH_PROVIDER")
COOKIE = secrets.token_urlsafe(32)
FERNET = "x7bKm4JgK3mY9XgC0pQm1QzGmB2rG0xN3yq8lJcJm3E="  # 32 bytes, url-safe base64


@pytest.fixture
def launched(monkeypatch):
    """What would have been exec'd: (argv, env); nothing is started."""
    for k in AUTH_ENV:
        monkeypatch.delenv(k, raising=False)
    calls = []
    monkeypatch.setattr("os.execve", lambda path, argv, env: calls.append((argv, env)))
    monkeypatch.setattr("artemis_panel.startup.ensure_store", lambda path=None: path)  # (tested in test_serve_sync)
    return calls


@pytest.fixture
def team(tmp_path):
    creds, access = tmp_path / "credentials.json", tmp_path / "access.yaml"
    save_credentials({"ana": hash_password("ana-password-1")}, creds)
    access.write_text("users:\n  ana: {role: analyst, brands: [artemis-burgers]}\n")
    return creds, access


def serve(capsys, *argv):
    rc = cli.main(["serve", *argv])
    return rc, capsys.readouterr().err


def basic_env(monkeypatch, creds, access, cookie=COOKIE):
    monkeypatch.setenv("ARTEMIS_AUTH", "basic")
    monkeypatch.setenv("ARTEMIS_CREDENTIALS", str(creds))
    monkeypatch.setenv("ARTEMIS_ACCESS", str(access))
    if cookie is not None:
        monkeypatch.setenv("ARTEMIS_COOKIE_SECRET", cookie)


def test_without_login_it_serves_the_app_as_before(launched, capsys):
    rc, _ = serve(capsys, "--port", "5123", "--address", "127.0.0.1", "--allow-websocket-origin", "h:5123")
    assert rc == 0
    ((argv, env),) = launched
    assert argv[:5] == [sys.executable, "-m", "panel", "serve", str(ROOT / "panel_serve.py")]
    assert argv[argv.index("--port") + 1] == "5123" and argv[argv.index("--address") + 1] == "127.0.0.1"
    assert argv[-2:] == ["--allow-websocket-origin", "h:5123"]
    assert "--auth-module" not in argv and "--oauth-provider" not in argv
    assert argv[argv.index("--plugins") + 1] == "artemis_panel.health" and "--liveness" in argv
    assert int(argv[argv.index("--unused-session-lifetime") + 1]) >= 60_000  # a slow first connect keeps its session


def test_a_bad_sync_interval_starts_nothing(launched, capsys):
    rc, err = serve(capsys, "--sync-every", "soon")
    assert rc == 2 and "interval 'soon'" in err and launched == []


def test_basic_login_command(launched, team, monkeypatch, capsys):
    creds, access = team
    basic_env(monkeypatch, creds, access)
    monkeypatch.setenv("PANEL_BASIC_AUTH", "plaintext-would-bypass-the-hashes")
    rc, _ = serve(capsys, "--num-procs", "2", "--num-threads", "3")
    assert rc == 0
    ((argv, env),) = launched
    assert argv[argv.index("--auth-module") + 1] == str(AUTH_MODULE)
    assert argv[argv.index("--num-procs") + 1] == "2" and argv[argv.index("--num-threads") + 1] == "3"
    assert COOKIE not in " ".join(argv)  # secrets never on the command line
    assert env["PANEL_COOKIE_SECRET"] == COOKIE
    assert env["ARTEMIS_CREDENTIALS"] == str(creds.resolve()) and env["ARTEMIS_ACCESS"] == str(access.resolve())
    assert "PANEL_BASIC_AUTH" not in env


def test_dry_run_starts_nothing(launched, team, monkeypatch, capsys):
    basic_env(monkeypatch, *team)
    rc, err = serve(capsys, "--dry-run")
    assert rc == 0 and launched == [] and "--auth-module" in err and COOKIE not in err


def test_oidc_cognito_command(launched, team, monkeypatch, capsys):
    _, access = team
    monkeypatch.setenv("ARTEMIS_AUTH", "oidc")
    monkeypatch.setenv("ARTEMIS_ACCESS", str(access))
    monkeypatch.setenv("ARTEMIS_COOKIE_SECRET", COOKIE)
    monkeypatch.setenv("ARTEMIS_OAUTH_ENCRYPTION_KEY", FERNET)
    monkeypatch.setenv("ARTEMIS_COGNITO_DOMAIN", "team.auth.eu-west-1.amazoncognito.com")
    monkeypatch.setenv("ARTEMIS_OAUTH_CLIENT_ID", "client-123")
    monkeypatch.setenv("ARTEMIS_OAUTH_CLIENT_SECRET", "client-secret-456")
    monkeypatch.setenv("ARTEMIS_OAUTH_REDIRECT_URI", "https://artemis.example.com/login")
    rc, err = serve(capsys)
    assert rc == 0, err
    ((argv, env),) = launched
    assert argv[argv.index("--oauth-provider") + 1] == "generic"
    assert argv[argv.index("--oauth-redirect-uri") + 1] == "https://artemis.example.com/login"
    extra = ast.literal_eval(argv[argv.index("--oauth-extra-params") + 1])  # as panel serve reads it
    base = "https://team.auth.eu-west-1.amazoncognito.com"
    assert extra["AUTHORIZE_URL"] == base + "/oauth2/authorize" and extra["TOKEN_URL"] == base + "/oauth2/token"
    assert extra["USER_URL"] == base + "/oauth2/userInfo" and extra["USER_KEY"] == "email"
    assert extra["scope"] == ["openid", "email", "profile"]
    assert (env["PANEL_OAUTH_KEY"], env["PANEL_OAUTH_SECRET"]) == ("client-123", "client-secret-456")
    assert env["PANEL_OAUTH_ENCRYPTION"] == FERNET and env["PANEL_COOKIE_SECRET"] == COOKIE
    joined = " ".join(argv)
    assert "client-secret-456" not in joined and FERNET not in joined and COOKIE not in joined


def problems(launched, capsys, *argv) -> str:
    rc, err = serve(capsys, *argv)
    assert rc == 2 and launched == [] and "nothing was started" in err
    return err


def test_login_on_without_cookie_secret_is_refused(launched, team, monkeypatch, capsys):
    basic_env(monkeypatch, *team, cookie=None)
    assert "ARTEMIS_COOKIE_SECRET is not set" in problems(launched, capsys)
    monkeypatch.setenv("ARTEMIS_COOKIE_SECRET", "short")
    assert "ARTEMIS_COOKIE_SECRET is too short" in problems(launched, capsys)


def test_missing_or_malformed_credentials_are_refused(launched, team, monkeypatch, capsys, tmp_path):
    creds, access = team
    basic_env(monkeypatch, tmp_path / "nope.json", access)
    err = problems(launched, capsys)
    assert "nope.json" in err and "not found" in err
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({"ana": hash_password("ana-password-1"), "bob": "bob-plaintext"}))
    basic_env(monkeypatch, plain, access)
    err = problems(launched, capsys)
    assert "plain.json" in err and "'bob'" in err and "plaintext" in err
    monkeypatch.delenv("ARTEMIS_CREDENTIALS")
    assert "ARTEMIS_CREDENTIALS is not set" in problems(launched, capsys)


def test_missing_or_malformed_access_file_is_refused(launched, team, monkeypatch, capsys, tmp_path):
    creds, _ = team
    bad = tmp_path / "bad-access.yaml"
    bad.write_text("users:\n  ana: {role: superuser, brands: all}\n")
    basic_env(monkeypatch, creds, bad)
    err = problems(launched, capsys)
    assert "bad-access.yaml" in err and "users.ana" in err and "role" in err
    monkeypatch.delenv("ARTEMIS_ACCESS")
    assert "ARTEMIS_ACCESS is not set" in problems(launched, capsys)


def test_oidc_needs_its_settings(launched, team, monkeypatch, capsys):
    _, access = team
    monkeypatch.setenv("ARTEMIS_AUTH", "oidc")
    monkeypatch.setenv("ARTEMIS_ACCESS", str(access))
    monkeypatch.setenv("ARTEMIS_COOKIE_SECRET", COOKIE)
    err = problems(launched, capsys)
    for name in ("ARTEMIS_OAUTH_ENCRYPTION_KEY", "ARTEMIS_OAUTH_CLIENT_ID", "ARTEMIS_OAUTH_CLIENT_SECRET",
                 "ARTEMIS_OAUTH_AUTHORIZE_URL", "ARTEMIS_OAUTH_TOKEN_URL", "ARTEMIS_OAUTH_REDIRECT_URI"):
        assert name in err
    monkeypatch.setenv("ARTEMIS_OAUTH_ENCRYPTION_KEY", "not-a-fernet-key")
    assert "32 url-safe base64-encoded bytes" in problems(launched, capsys)


def test_unknown_mode_and_reserved_flags(launched, team, monkeypatch, capsys):
    monkeypatch.setenv("ARTEMIS_AUTH", "ldap")
    assert "must be one of none, basic, oidc" in problems(launched, capsys)
    basic_env(monkeypatch, *team)
    rc, err = serve(capsys, "--basic-auth", "secret")
    assert rc == 2 and launched == [] and "--basic-auth" in err
    rc, err = serve(capsys, "--cookie-secret=abc")
    assert rc == 2 and launched == []
