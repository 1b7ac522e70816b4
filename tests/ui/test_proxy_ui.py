"""The team setup of the README, run for real: two ``artemis serve`` processes with basic login over one
store, behind nginx with ``deploy/nginx.conf`` as it is (only its ports changed). Through the proxy a
user logs in and works in Measure (the WebSocket goes through it); the login cookie one process set is
honoured by the other; ``/health`` answers through the proxy without a login."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.ui.conftest import ROOT, free_port, serve, status, wait_renders
from tests.ui.test_auth_ui import USERS, add_user, fetch, log_in

NGINX = os.environ.get("ARTEMIS_NGINX", shutil.which("nginx") or "/usr/sbin/nginx")


@pytest.fixture(scope="module")
def proxied(tmp_path_factory):
    if not Path(NGINX).exists():
        pytest.fail(f"nginx not found at {NGINX}: install it with `apt-get install nginx-light` "
                    "(.ci/run does), or point ARTEMIS_NGINX at it")
    root = tmp_path_factory.mktemp("proxy")
    creds, access = root / "credentials.json", root / "access.yaml"
    add_user("ana", creds, access)
    env = {"ARTEMIS_AUTH": "basic", "ARTEMIS_CREDENTIALS": str(creds), "ARTEMIS_ACCESS": str(access),
           "ARTEMIS_COOKIE_SECRET": secrets.token_urlsafe(32)}
    public = free_port()
    ports = [free_port(), free_port()]
    procs = []
    for port in ports:  # one data folder (one store) for both, as on a team server
        procs.append(serve(root / "data", port, root / f"app-{port}.log", command=[
            sys.executable, "-m", "artemis_panel.cli", "serve", "--port", str(port), "--address", "127.0.0.1",
            "--use-xheaders", "--allow-websocket-origin", f"127.0.0.1:{public}"], extra_env=env))
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    conf = conf.replace("listen 8080;", f"listen 127.0.0.1:{public};")
    conf = conf.replace("127.0.0.1:5006 ", f"127.0.0.1:{ports[0]} ").replace("127.0.0.1:5007 ", f"127.0.0.1:{ports[1]} ")
    prefix = root / "nginx"
    for d in ("logs", "tmp"):
        (prefix / d).mkdir(parents=True)
    (prefix / "nginx.conf").write_text(conf)
    extra = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
    nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", extra],
                             stdout=(prefix / "logs" / "stdout.log").open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{public}"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(base + "/health", timeout=5)
            break
        except OSError:
            assert nginx.poll() is None and time.time() < deadline, (prefix / "logs" / "stdout.log").read_text()
            time.sleep(0.2)
    yield {"base": base, "app": base + "/panel_serve", "direct": [f"http://127.0.0.1:{p}" for p in ports],
           "logs": prefix / "logs"}
    nginx.terminate()
    for p in procs:
        p.terminate()
    for p in (nginx, *procs):
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def test_through_the_proxy_a_user_logs_in_and_works_and_any_process_knows_them(browser, proxied):
    status_code, _, body = fetch(proxied["base"] + "/health")
    assert status_code == 200 and json.loads(body)["status"] == "ok"
    status_code, headers, _ = fetch(proxied["app"])
    assert status_code == 302 and "login" in headers["Location"]  # the proxy serves the login, not data

    context = browser.new_context(viewport={"width": 1500, "height": 1400})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        log_in(page, proxied["app"], "ana", USERS["ana"][2])
        page.wait_for_url(re.compile(r"/panel_serve"))
        first = wait_renders(page, 1)
        page.locator(".f-group-by select").select_option(label="Pillar")  # over the proxied WebSocket
        after = wait_renders(page, int(first["renders"]) + 1)
        assert after["group-by"] == "pillar"
        cookie = next(c for c in context.cookies() if c["name"] == "user")
    finally:
        context.close()
    # the signed login cookie works on either process (same cookie secret): no login page from either
    for direct in proxied["direct"]:
        req = urllib.request.Request(direct + "/panel_serve", headers={"Cookie": f"user={cookie['value']}"})
        with urllib.request.urlopen(req, timeout=60) as r:
            assert r.status == 200 and "/login" not in r.url
    log = (proxied["logs"] / "access.log").read_text()
    assert re.search(r'"GET /panel_serve/ws\S* HTTP/1.1" 101', log)  # the WebSocket upgrade went through nginx
