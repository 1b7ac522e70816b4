"""Login and brand access in Chromium: ``artemis serve`` with basic login (hashed passwords) and two users,
A granted the demo brand and B another brand only; and with OIDC login against a small OpenID provider
on 127.0.0.1 that answers like Cognito (groups in the ID token's ``cognito:groups``)."""

from __future__ import annotations

import base64
import http.server
import io
import json
import re
import secrets
import threading
import time
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from contextlib import redirect_stdout
from unittest import mock

import pytest

from artemis_panel import cli
from store.paths import BUNDLED_DEMO_RUNS
from tests.ui.conftest import free_port, serve, status, wait_renders

USERS = {"ana": ("analyst", "artemis-burgers", "ana-" + secrets.token_hex(6)),
         "bob": ("modeler", "other-brand", "bob-" + secrets.token_hex(6))}


def add_user(name: str, creds, access) -> None:
    role, brands, password = USERS[name]
    with mock.patch("sys.stdin", io.StringIO(password + "\n")), redirect_stdout(io.StringIO()):
        rc = cli.main(["users", "add", name, "--role", role, "--brands", brands, "--password-stdin",
                       "--credentials", str(creds), "--access", str(access)])
    assert rc == 0


@pytest.fixture(scope="module")
def auth_app(tmp_path_factory):
    root = tmp_path_factory.mktemp("auth-ui")
    creds, access = root / "credentials.json", root / "access.yaml"
    for name in USERS:
        add_user(name, creds, access)
    port = free_port()
    log = root / "panel.log"
    proc = serve(root / "data", port, log, command=[
        sys.executable, "-m", "artemis_panel.cli", "serve", "--port", str(port), "--address", "127.0.0.1",
        "--num-threads", "4", "--allow-websocket-origin", f"127.0.0.1:{port}"],
        extra_env={"ARTEMIS_AUTH": "basic", "ARTEMIS_CREDENTIALS": str(creds), "ARTEMIS_ACCESS": str(access),
                   "ARTEMIS_COOKIE_SECRET": secrets.token_urlsafe(32)})
    yield {"base": f"http://127.0.0.1:{port}", "app": f"http://127.0.0.1:{port}/panel_serve", "log": log}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def demo_run_id() -> str:
    (folder,) = [p for p in BUNDLED_DEMO_RUNS.iterdir() if p.is_dir()]
    return folder.name


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, data: dict | None = None):
    """One request without cookies and without following redirects: (status, headers, body)."""
    opener = urllib.request.build_opener(NoRedirect)
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with opener.open(urllib.request.Request(url, data=body), timeout=60) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def test_without_login_only_the_login_page_is_served(auth_app, demo_run_id):
    status, headers, body = fetch(auth_app["app"])
    assert status == 302 and "login" in headers["Location"]
    assert "Artemis Burgers" not in body and demo_run_id not in body
    login = urllib.parse.urljoin(auth_app["app"], headers["Location"])
    status, _, body = fetch(login)
    assert status == 200 and 'name="password"' in body
    assert "Artemis Burgers" not in body and demo_run_id not in body and "artemis-burgers" not in body
    # a wrong password gets no login cookie, only the login page again
    status, headers, _ = fetch(auth_app["base"] + "/login", {"username": "ana", "password": "not-" + USERS["ana"][2]})
    assert status == 302 and "error=" in headers["Location"]
    assert not any(c.startswith("user=") and not c.startswith('user=""') for c in headers.get_all("Set-Cookie") or [])
    status, headers, _ = fetch(auth_app["base"] + "/login", {"username": "nobody", "password": USERS["ana"][2]})
    assert status == 302 and "error=" in headers["Location"]
    assert re.search(r"login refused: user 'ana'", auth_app["log"].read_text())


def test_health_and_liveness_answer_without_login_and_say_nothing_of_brands(auth_app, demo_run_id):
    status, headers, body = fetch(auth_app["base"] + "/health")
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    health = json.loads(body)
    from store.schema import SCHEMA_VERSION

    assert health["status"] == "ok" and health["schema_version"] == SCHEMA_VERSION and health["store_age_s"] >= 0
    assert "Artemis Burgers" not in body and demo_run_id not in body
    status, _, body = fetch(auth_app["base"] + "/liveness?endpoint=/panel_serve")
    assert status == 200 and json.loads(body) == {"/panel_serve": True}


def log_in(page, url: str, user: str, password: str) -> None:
    page.goto(url)
    page.wait_for_url(re.compile(r"/login"))
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")


def brand_options(page) -> list[str]:
    return [t.strip() for t in page.locator(".f-brand select option").all_inner_texts()]


def test_user_a_sees_the_demo_brand_and_logs_out(browser, auth_app, demo_run_id):
    context = browser.new_context(viewport={"width": 1500, "height": 1400})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        log_in(page, auth_app["app"], "ana", "wrong-password")
        page.wait_for_url(re.compile(r"/login\?error="))
        assert "Invalid username or password" in page.locator("#error-message").inner_text()
        assert not [c for c in context.cookies() if c["name"] == "user" and c["value"]]

        log_in(page, auth_app["app"], "ana", USERS["ana"][2])
        page.wait_for_url(re.compile(r"/panel_serve"))
        wait_renders(page, 1)
        assert page.locator(".bk-tab", has_text="Measure").first.is_visible()
        assert brand_options(page) == ["Artemis Burgers"]
        assert demo_run_id in page.locator(".f-run select").input_value()
        badge = page.locator(".user-line").first
        assert "ana · analyst" in badge.inner_text()

        badge.locator("a.logout-link").click()
        page.wait_for_url(re.compile(r"/logout"))
        assert not [c for c in context.cookies() if c["name"] == "user" and c["value"]]
        page.goto(auth_app["app"])
        page.wait_for_url(re.compile(r"/login"))
        assert page.locator("#password").is_visible()
    finally:
        context.close()


def test_user_b_does_not_see_the_demo_brand(browser, auth_app, demo_run_id):
    context = browser.new_context(viewport={"width": 1500, "height": 1400})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        log_in(page, auth_app["app"], "bob", USERS["bob"][2])
        page.wait_for_url(re.compile(r"/panel_serve"))
        wait_renders(page, 1)
        assert "Artemis Burgers" not in brand_options(page)
        assert "No run in the store" in page.locator(".kpi-empty").first.inner_text()
        assert "no data for your brands (other-brand)" in page.locator(".user-line").first.inner_text()
        assert "bob · modeler" in page.locator(".user-line").first.inner_text()

        # a crafted request: the run picker's model set, in the page, to the demo brand's run id (as a
        # hand-made WebSocket message would); the session refuses it and shows nothing of that run
        sent = page.evaluate("""(runId) => { for (const doc of Bokeh.documents) { for (const m of doc._all_models.values()) {
                 if ((m.css_classes || []).includes('f-run')) { m.value = runId; return true; } } } return false; }""",
                             demo_run_id)
        assert sent
        page.wait_for_timeout(3000)
        st = status(page)
        assert st["total"] in ("", "0") and "No run in the store" in page.locator(".kpi-empty").first.inner_text()
        assert demo_run_id not in page.locator(".measure-table").first.inner_text()
        for tab in ("Forecast", "Compare"):
            page.locator(".bk-tab", has_text=tab).first.click()
            page.wait_for_timeout(2000)
            assert "Artemis Burgers" not in page.locator(".main-tabs").first.inner_text()
    finally:
        context.close()


# ------------------------------------------------------------------------------------------------ OIDC
def jwt(claims: dict) -> str:
    enc = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")  # noqa: E731
    return f"{enc({'alg': 'none', 'typ': 'JWT'})}.{enc(claims)}.sig"


class FakeCognito(http.server.ThreadingHTTPServer):
    """/oauth2/authorize signs ``self.user`` in at once; /oauth2/token trades the code (with the client
    secret) for an ID token holding the user's email and ``cognito:groups``."""

    def __init__(self, client_id: str, client_secret: str):
        self.client_id, self.client_secret = client_id, client_secret
        self.user: dict = {}
        self.codes: dict[str, dict] = {}
        self.token_requests: list[dict] = []
        super().__init__(("127.0.0.1", 0), FakeCognitoHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class FakeCognitoHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(u.query))
        if u.path != "/oauth2/authorize" or q.get("client_id") != self.server.client_id:
            self.send_error(400)
            return
        code = secrets.token_hex(8)
        self.server.codes[code] = dict(self.server.user)
        target = q["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": q["state"]})
        self.send_response(302)
        self.send_header("Location", target)
        self.end_headers()

    def do_POST(self):
        form = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        self.server.token_requests.append(form)
        claims = self.server.codes.pop(form.get("code"), None)
        if (self.path != "/oauth2/token" or claims is None or form.get("client_secret") != self.server.client_secret
                or form.get("client_id") != self.server.client_id):
            self.send_response(400)
            body = b'{"error": "invalid_grant"}'
        else:
            now = int(time.time())
            claims = {**claims, "aud": self.server.client_id, "iat": now, "exp": now + 3600}
            body = json.dumps({"id_token": jwt(claims), "access_token": jwt({"sub": claims["email"], "exp": now + 3600}),
                               "refresh_token": "r-" + secrets.token_hex(8), "token_type": "Bearer",
                               "expires_in": 3600}).encode()
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def oidc_app(tmp_path_factory):
    from cryptography.fernet import Fernet

    root = tmp_path_factory.mktemp("oidc-ui")
    access = root / "access.yaml"
    access.write_text("users: {}\ngroups:\n  burger-team: {role: analyst, brands: [artemis-burgers]}\n")
    idp = FakeCognito("artemis-client", "client-" + secrets.token_hex(8))
    threading.Thread(target=idp.serve_forever, daemon=True).start()
    port = free_port()
    log = root / "panel.log"
    proc = serve(root / "data", port, log, command=[
        sys.executable, "-m", "artemis_panel.cli", "serve", "--port", str(port), "--address", "127.0.0.1",
        "--num-threads", "4", "--allow-websocket-origin", f"127.0.0.1:{port}"],
        extra_env={"ARTEMIS_AUTH": "oidc", "ARTEMIS_ACCESS": str(access),
                   "ARTEMIS_COOKIE_SECRET": secrets.token_urlsafe(32),
                   "ARTEMIS_OAUTH_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                   "ARTEMIS_COGNITO_DOMAIN": idp.url, "ARTEMIS_OAUTH_CLIENT_ID": idp.client_id,
                   "ARTEMIS_OAUTH_CLIENT_SECRET": idp.client_secret,
                   "ARTEMIS_OAUTH_REDIRECT_URI": f"http://127.0.0.1:{port}/login"})
    yield {"app": f"http://127.0.0.1:{port}/panel_serve", "idp": idp, "log": log}
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
    idp.shutdown()


def test_oidc_groups_claim_grants_the_brands(browser, oidc_app):
    idp = oidc_app["idp"]
    for email, groups, want in [("carol@example.com", ["burger-team"], ["Artemis Burgers"]),
                                ("dave@example.com", ["strangers"], [])]:
        idp.user = {"email": email, "cognito:groups": groups, "cognito:username": email.split("@")[0]}
        context = browser.new_context(viewport={"width": 1500, "height": 1400})
        page = context.new_page()
        page.set_default_timeout(60_000)
        try:
            page.goto(oidc_app["app"])  # -> /login -> the provider -> /login?code= -> the app
            page.wait_for_url(re.compile(r"/panel_serve"))
            wait_renders(page, 1)
            assert brand_options(page) == want
            badge = page.locator(".user-line").first.inner_text()
            assert email in badge and ("analyst" if want else "no access") in badge
        finally:
            context.close()
    assert len(idp.token_requests) == 2 and all(r["grant_type"] == "authorization_code" for r in idp.token_requests)
    assert "access denied: user 'dave@example.com'" in oidc_app["log"].read_text()
