"""The scheduled sync: rounds that pick up new runs while a reader keeps reading, one scheduler per store,
failing rounds retried, SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from store.reader import StoreReader
from store.schedule import ScheduleError, lock_path, parse_interval, run_schedule
from tests.demo_runs import bundled_run, copy_demo_run

ROOT = Path(__file__).resolve().parents[2]


def test_intervals_read_as_a_person_writes_them():
    assert parse_interval("90") == 90 and parse_interval("15m") == 900 and parse_interval("2h") == 7200
    assert parse_interval(" 30s ") == 30
    for bad in ("5", "soon", "-1m", "10d"):
        with pytest.raises(ScheduleError, match="interval"):
            parse_interval(bad)


def test_each_round_publishes_what_changed_while_a_reader_keeps_reading(tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(bundled_run(), runs / bundled_run().name)
    store = tmp_path / "store.duckdb"
    later = "2026-01-01T00-00-00Z-aaaaaaa"
    seen: list[set] = []
    stop = threading.Event()
    reader: list[StoreReader] = []

    def on_round(reports, errors):
        assert not errors
        if not reader:
            reader.append(StoreReader(store))
        seen.append(set(reader[0].query("SELECT run_id FROM runs").run_id))
        if len(seen) == 1:
            copy_demo_run(runs, later, created_at="2026-01-01T00:00:00Z")  # arrives between rounds
        elif len(seen) == 3:
            stop.set()

    assert run_schedule([str(runs)], store, every=0.05, stop=stop, on_round=on_round) == 3
    reader[0].close()
    assert seen == [{bundled_run().name}, {bundled_run().name, later}, {bundled_run().name, later}]


def test_a_failing_source_is_retried_and_the_store_keeps_its_last_state(tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(bundled_run(), runs / bundled_run().name)
    store = tmp_path / "store.duckdb"
    errors_seen: list[list[str]] = []
    run_schedule([str(runs)], store, every=0.01, rounds=1)
    before = store.read_bytes()
    moved = tmp_path / "away"
    runs.rename(moved)  # the source disappears (an unreachable bucket, an unmounted share)
    run_schedule([str(runs)], store, every=0.01, rounds=2, on_round=lambda r, e: errors_seen.append(e))
    assert len(errors_seen) == 2 and all(str(runs) in e[0] for e in errors_seen)
    assert store.read_bytes() == before


def test_one_scheduler_per_store_and_sigterm_stops_it(tmp_path):
    runs = tmp_path / "runs"
    shutil.copytree(bundled_run(), runs / bundled_run().name)
    store = tmp_path / "store.duckdb"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "artemis_panel.cli", "sync", "--from", str(runs), "--store",
                             str(store), "--every", "10m"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 120
        while not (store.exists() and f"pid {proc.pid}" in lock_path(store.resolve()).read_text(errors="ignore")):
            assert proc.poll() is None and time.time() < deadline, proc.stdout.read() if proc.poll() is not None else "slow"
            time.sleep(0.2)
        with pytest.raises(ScheduleError, match=f"already runs \\(pid {proc.pid}"):
            run_schedule([str(runs)], store, every=60, rounds=1)
        second = subprocess.run([sys.executable, "-m", "artemis_panel.cli", "sync", "--from", str(runs), "--store",
                                 str(store), "--every", "10m"], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=120)
        assert second.returncode == 2 and "already runs" in second.stderr
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "stopped after 1 round" in out
    # once it is gone, another may start
    assert run_schedule([str(runs)], store, every=60, rounds=1) == 1
