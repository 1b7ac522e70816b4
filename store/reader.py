"""The app's read-only handle on the store: one cursor per query, reopened when a sync publishes.

A sync swaps in a new store file; a handle notices (the file's inode changes) on its next query
and opens the new file, while queries already running finish on the old one. One handle is
shared by every session of a process. Cursors (set to the store) are kept for reuse between
queries, only ever on the connection they were made on.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import duckdb
import pandas as pd


class StoreMissing(FileNotFoundError):
    """No store file yet: run ``artemis sync`` first."""


class StoreReader:
    IDLE_CURSORS = 8  # cursors kept for reuse (about the number of queries running at once)

    def __init__(self, path: str | Path):
        self.path = Path(path).expanduser().resolve()
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._ident: tuple[int, int] | None = None
        self._idle: list[duckdb.DuckDBPyConnection] = []  # cursors of self._con, set to the store
        self._version = 0  # schema version of the file self._con has open
        self._memo: dict = {}  # values computed from the file self._con has open (see memo)

    def _identity(self) -> tuple[int, int]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise StoreMissing(f"no store at {self.path}: run `artemis sync` first") from None
        return st.st_ino, st.st_mtime_ns

    def connection(self) -> duckdb.DuckDBPyConnection:
        """The current read-only connection, reopened if the file was replaced since."""
        return self._current()[0]

    @property
    def schema_version(self) -> int:
        """The schema version of the current store file (older files lack tables, e.g. the rollups)."""
        self._current()
        return self._version

    def memo(self, key, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per store file: a published store file never changes, so a value read from it
        holds until a sync swaps in another file (then it is computed again, from that one)."""
        con = self._current()[0]
        with self._lock:
            if self._con is con and key in self._memo:
                return self._memo[key]
        value = compute()  # (outside the lock: it queries)
        with self._lock:
            if self._con is con:
                self._memo[key] = value
        return value

    def _current(self, take_cursor: bool = False) -> tuple[duckdb.DuckDBPyConnection, duckdb.DuckDBPyConnection | None]:
        """The current connection (reopened if the file was replaced since) and, if asked, an idle cursor of it."""
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
                try:
                    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                    self._version = int(row[0]) if row else 0
                except (duckdb.Error, ValueError):
                    self._version = 0
                self._con = con
                self._ident = ident
                for cur in self._idle:  # idle cursors of the old file: never handed out again
                    cur.close()
                self._idle = []
                self._memo = {}
            return self._con, (self._idle.pop() if take_cursor and self._idle else None)

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of the current connection, for one query; reused afterwards if still current."""
        con, cur = self._current(take_cursor=True)
        if cur is None:
            cur = con.cursor()
            cur.execute("USE store")  # cursors do not inherit USE
        ok = False
        try:
            yield cur
            ok = True
        finally:
            with self._lock:
                keep = ok and self._con is con and len(self._idle) < self.IDLE_CURSORS
                if keep:
                    self._idle.append(cur)
            if not keep:
                cur.close()

    def query(self, sql: str, params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
        """Run one parametrised query on its own cursor; values are never pasted into the SQL."""
        with self._cursor() as cur:
            return cur.execute(sql, params or []).df()

    def execute(self, sql: str, params: Sequence[Any] | dict | None = None) -> list[tuple]:
        with self._cursor() as cur:
            return cur.execute(sql, params or []).fetchall()

    def close(self) -> None:
        with self._lock:
            for cur in self._idle:
                cur.close()
            self._idle = []
            self._memo = {}
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
