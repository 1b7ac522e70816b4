"""The app's read-only handle on the store: one cursor per query, reopened when a sync publishes.

A sync swaps in a new store file; a handle notices (the file's inode changes) on its next query
and opens the new file, while queries already running finish on the old one. One handle is
shared by every session of a process.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Sequence

import duckdb
import pandas as pd


class StoreMissing(FileNotFoundError):
    """No store file yet: run ``artemis sync`` first."""


class StoreReader:
    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser().resolve()
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._ident: tuple[int, int] | None = None

    def _identity(self) -> tuple[int, int]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise StoreMissing(f"no store at {self.path}: run `artemis sync` first") from None
        return st.st_ino, st.st_mtime_ns

    def connection(self) -> duckdb.DuckDBPyConnection:
        """The current read-only connection, reopened if the file was replaced since."""
        ident = self._identity()
        with self._lock:
            if self._con is None or ident != self._ident:
                # DuckDB caches one database instance per path in a process: connecting to the
                # path again would hand back the replaced file. A fresh in-memory connection that
                # attaches the file opens the new one; the old connection stays valid for the
                # queries still running on it and is closed when they let go of it.
                con = duckdb.connect(":memory:")
                literal = str(self.path).replace("'", "''")
                con.execute(f"ATTACH '{literal}' AS store (READ_ONLY)")
                con.execute("USE store")
                self._con = con
                self._ident = ident
            return self._con

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur = self.connection().cursor()
        cur.execute("USE store")  # cursors do not inherit USE
        return cur

    def query(self, sql: str, params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
        """Run one parametrised query on its own cursor; values are never pasted into the SQL."""
        with self._cursor() as cur:
            return cur.execute(sql, params or []).df()

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> list[tuple]:
        with self._cursor() as cur:
            return cur.execute(sql, params or []).fetchall()

    def close(self) -> None:
        with self._lock:
            if self._con is not None:
                self._con.close()
            self._con = None
            self._ident = None


_shared: dict[Path, StoreReader] = {}
_shared_lock = threading.Lock()


def shared_reader(path: str | Path) -> StoreReader:
    """The process-wide reader of a store file (module scope: shared by all sessions)."""
    key = Path(path).expanduser().resolve()
    with _shared_lock:
        if key not in _shared:
            _shared[key] = StoreReader(key)
        return _shared[key]
