"""``artemis serve --sync-every``: a real server with its scheduled sync beside it. The store is ready before
the first visit (``/health`` says ok at once), a run that lands in the synced folder reaches the store
while the server serves, and SIGTERM stops the server and the scheduler together."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import duckdb

from store.schedule import run_schedule
from tests.demo_runs import bundled_run, copy_demo_run
from tests.ui.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
LATER = "2026-01-01T00-00-00Z-aaaaaaa"


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def store_runs(store: Path) -> set[str]:
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH '{store}' AS s (READ_ONLY)")
        return {r[0] for r in con.execute("SELECT run_id FROM s.runs").fetchall()}
    finally:
        con.close()


def test_the_server_and_its_scheduled_sync_run_and_stop_together(tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(bundled_run(), runs / bundled_run().name)
    data = tmp_path / "data"
    store = data / "artemis.duckdb"
    port = free_port()
    env = {**os.environ, "ARTEMIS_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
    for k in ("ARTEMIS_STORE", "ARTEMIS_AUTH"):
        env.pop(k, None)
    log = tmp_path / "serve.log"
    proc = subprocess.Popen([sys.executable, "-m", "artemis_panel.cli", "serve", "--port", str(port), "--address",
                             "127.0.0.1", "--sync-every", "10s", "--sync-from", str(runs)],
                            cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while True:
            try:
                status, health = get(f"http://127.0.0.1:{port}/health")
                break
            except OSError:
                assert proc.poll() is None and time.time() < deadline, log.read_text()[-3000:]
                time.sleep(0.3)
        assert status == 200 and health["status"] == "ok", health
        copy_demo_run(runs, LATER, created_at="2026-01-01T00:00:00Z")  # a run lands in the synced folder
        deadline = time.time() + 90
        while LATER not in store_runs(store):
            assert time.time() < deadline, log.read_text()[-3000:]
            time.sleep(1)
        assert get(f"http://127.0.0.1:{port}/health")[0] == 200  # still serving, on the new store file
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()[-3000:]
    # both are gone: the port is free and the schedule lock can be taken again
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5)
        raise AssertionError("the server still answers after SIGTERM")
    except OSError:
        pass
    assert run_schedule([str(runs)], store, every=60, rounds=1) == 1
