"""``panel serve panel_serve.py`` started on 127.0.0.1 with an empty data folder (so the app syncs the
bundled demo run on first start), and Chromium from the OS packages driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from artemis_panel.serve_cli import SETUP_SCRIPT

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("ARTEMIS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used (user + system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(data_dir: Path, port: int, log: Path, store: Path | None = None, *,
          command: list[str] | None = None, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start the app as a user would (``panel serve panel_serve.py``, or ``command`` when given, e.g.
    ``artemis serve ...``; ``extra_env`` is added to the environment) and wait until it answers."""
    env = {**os.environ, "ARTEMIS_DATA_DIR": str(data_dir)}
    env.pop("ARTEMIS_STORE", None)
    if store is not None:
        env["ARTEMIS_STORE"] = str(store)
    env.update(extra_env or {})
    panel = Path(sys.executable).with_name("panel")
    proc = subprocess.Popen(
        command or [str(panel), "serve", "panel_serve.py", "--port", str(port), "--address", "127.0.0.1",
                    "--allow-websocket-origin", f"127.0.0.1:{port}", "--num-threads", "4",
                    "--setup", str(SETUP_SCRIPT)],  # (as `make serve`)
        cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"panel serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"panel serve did not start in 120 s:\n{log.read_text()[-3000:]}")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed UI test's report carries the tail of the served app's log (its tracebacks and warnings),
    since what went wrong on the server side is otherwise invisible from the browser."""
    outcome = yield
    report = outcome.get_result()
    data = item.funcargs.get("app_data") if hasattr(item, "funcargs") else None
    if report.failed and data is not None and (data / "panel.log").exists():
        report.sections.append(("panel serve log (last 4000 characters)",
                                (data / "panel.log").read_text(errors="replace")[-4000:]))


@pytest.fixture(scope="session")
def app_data(tmp_path_factory) -> Path:
    """The served app's data folder (its store is ``artemis.duckdb`` there)."""
    return tmp_path_factory.mktemp("ui-data")


@pytest.fixture(scope="session")
def app_server(app_data):
    """The served app: its page's URL and its process."""
    data = app_data
    port = free_port()
    log = data / "panel.log"
    proc = serve(data, port, log)
    yield f"http://127.0.0.1:{port}/panel_serve", proc
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def app_url(app_server) -> str:
    return app_server[0]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install it with `apt-get install chromium` "
                    "(the UI tests drive the OS package; nothing is downloaded)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1500, "height": 1800}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    pg.goto(app_url)
    wait_renders(pg, 1)
    yield pg
    context.close()


def status(pg, view: str = "measure") -> dict:
    """A tab's hidden status marker (``span.{view}-status``): its data attributes (Measure: renders,
    group-by, groups drawn, total drawn, selection; Forecast: renders, total, spend, weeks; Maximize:
    renders, budget, optimal, current)."""
    el = pg.locator(f"span.{view}-status")
    return el.evaluate("e => Object.fromEntries([...e.attributes].filter(a => a.name.startsWith('data-'))"
                       ".map(a => [a.name.slice(5), a.value]))")


def wait_renders(pg, n: int, view: str = "measure") -> dict:
    """Wait until a tab's charts have been drawn at least ``n`` times; returns its status."""
    pg.wait_for_function(
        """([n, cls]) => { const find = (root) => { const el = root.querySelector('span.' + cls);
                 if (el) return el; for (const h of root.querySelectorAll('*')) { if (h.shadowRoot) {
                 const f = find(h.shadowRoot); if (f) return f; } } return null; };
                 const el = find(document); return el && Number(el.dataset.renders) >= n; }""",
        arg=[n, f"{view}-status"], polling=100)
    return status(pg, view)
