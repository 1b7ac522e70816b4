"""First start: make sure the store exists and has runs, syncing the bundled demo run into an empty one."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import duckdb

from store.paths import BUNDLED_DEMO_RUNS, default_store
from store.sync import init_store, sync

log = logging.getLogger(__name__)
_lock = threading.Lock()
_ready: set[Path] = set()  # stores this process has found with runs (later sessions skip the check)


def store_has_runs(path: Path) -> bool:
    if not path.exists():
        return False
    con = duckdb.connect(":memory:")
    try:
        literal = str(path).replace("'", "''")
        con.execute(f"ATTACH '{literal}' AS s (READ_ONLY)")
        return bool(con.execute("SELECT count(*) FROM s.runs").fetchone()[0])
    except duckdb.Error:
        return False
    finally:
        con.close()


def ensure_store(path: str | Path | None = None, demo_runs: Path = BUNDLED_DEMO_RUNS) -> Path:
    """The store file to serve: created at the current schema if missing, and given the bundled demo
    run if it has no runs at all (so a newcomer sees real charts at once). Safe to call from every
    session: only the first one in a process syncs."""
    path = Path(path or default_store()).expanduser().resolve()
    with _lock:
        if path in _ready or store_has_runs(path):
            _ready.add(path)
            return path
        init_store(path)
        if demo_runs.is_dir():
            log.info("empty store at %s: syncing the bundled demo run from %s", path, demo_runs)
            report = sync(demo_runs, path, say=lambda m: log.warning("%s", m))
            log.info("%s", report.line())
        _ready.add(path)
    return path
