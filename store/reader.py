"""The app's read-only handle on the store: one cursor per query, reopened when a sync publishes.

A sync swaps in a new store file; a handle notices (the file's inode changes) on its next query
and opens the new file, while queries already running finish on the old one. One handle is
shared by every session of a process. Cursors (set to the store) are kept for reuse between
queries, only ever on the connection they were made on.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import duckdb
import pandas as pd

log = logging.getLogger(__name__)
WARM_SHARE = 0.25  # of DuckDB's memory limit: the most a warm-up reads into the buffer pool
_UNITS = {"": 1, "b": 1, "kb": 1e3, "kib": 2**10, "mb": 1e6, "mib": 2**20, "gb": 1e9, "gib": 2**30, "tb": 1e12,
          "tib": 2**40}


class StoreMissing(FileNotFoundError):
    """No store file yet: run ``artemis sync`` first."""


class StoreReader:
    IDLE_CURSORS = 8  # cursors kept for reuse (about the number of queries running at once)

    def __init__(self, path: str | Path, *, warm_on_open: bool = False):
        """``warm_on_open``: warm each store file this handle opens on a background thread (see :meth:`warm`)."""
        self.path = Path(path).expanduser().resolve()
        self.warm_on_open = warm_on_open
        self.warmed = threading.Event()  # set when the warm-up of the current file has finished
        self._warming: threading.Thread | None = None  # the background warm-up, while it runs
        self._warm_cursor: duckdb.DuckDBPyConnection | None = None  # its cursor (to interrupt it)
        self._warm_stop = threading.Event()  # asks it to stop
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
                self._stop_warming()  # (of the replaced file: no use reading it any further)
                self.warmed = threading.Event()
                self._warm_stop = threading.Event()
                if self.warm_on_open:
                    self._warming = threading.Thread(target=self._warm, args=(con, self.warmed, self._warm_stop),
                                                     name="store-warm", daemon=True)
                    self._warming.start()
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

    def numpy(self, sql: str, params: Sequence[Any] | dict | None = None) -> dict[str, Any]:
        """The result as numpy arrays by column (masked arrays where a column has NULLs)."""
        with self._cursor() as cur:
            return cur.execute(sql, params or []).fetchnumpy()

    def warm(self) -> dict:
        """Read the current store file's tables into DuckDB's buffer pool, smallest first, as long as they fit in
        ``WARM_SHARE`` of its memory limit (a table that does not fit, and the larger ones, are left to be read
        when asked). Returns ``{"tables": [...], "bytes": n, "seconds": s}``."""
        con = self._current()[0]
        return self._warm(con, self.warmed, self._warm_stop)

    def _warm(self, con: duckdb.DuckDBPyConnection, done: threading.Event, stop: threading.Event) -> dict:
        t0 = time.perf_counter()
        out: dict = {"tables": [], "bytes": 0, "seconds": 0.0}
        cur = con.cursor()
        self._warm_cursor = cur
        try:
            cur.execute("USE store")
            limit = _bytes(cur.execute("SELECT current_setting('memory_limit')").fetchone()[0])
            budget = WARM_SHARE * limit if limit else float("inf")
            tables = cur.execute(
                """SELECT t.table_name, t.estimated_size, list(c.column_name ORDER BY c.column_index),
                          sum(CASE WHEN c.data_type IN ('VARCHAR', 'BLOB') THEN 16 ELSE 8 END)
                   FROM duckdb_tables() t JOIN duckdb_columns() c USING (database_name, schema_name, table_name)
                   WHERE t.database_name = 'store' AND t.estimated_size > 0
                   GROUP BY ALL ORDER BY t.estimated_size""").fetchall()
            for name, rows, columns, width in tables:
                if stop.is_set():  # (the reader moved on to a newer file, or is closing)
                    break
                size = rows * width  # (uncompressed: an upper bound of what the blocks take in memory)
                if out["bytes"] + size > budget:
                    break
                cols = ", ".join(f'min("{c}")' for c in columns)
                cur.execute(f'SELECT {cols} FROM "{name}"').fetchall()
                out["tables"].append(name)
                out["bytes"] += size
        except duckdb.Error as e:  # (interrupted: the file was swapped, or the reader closed)
            log.debug("store warm-up of %s stopped: %s", self.path, e)
        finally:
            self._warm_cursor = None if self._warm_cursor is cur else self._warm_cursor
            cur.close()
            out["seconds"] = time.perf_counter() - t0
            done.set()
        return out

    def _stop_warming(self) -> None:
        """Interrupt a background warm-up still running and wait for it to end (DuckDB refuses to close a
        connection one of its cursors is busy on)."""
        thread, cur = self._warming, self._warm_cursor
        if thread is None or not thread.is_alive():
            return
        self._warm_stop.set()
        if cur is not None:
            try:
                cur.interrupt()
            except duckdb.Error:
                pass
        thread.join(timeout=30)

    def close(self) -> None:
        self._stop_warming()
        with self._lock:
            for cur in self._idle:
                cur.close()
            self._idle = []
            self._memo = {}
            if self._con is not None:
                self._con.close()
            self._con = None
            self._ident = None


def _bytes(text: str) -> float:
    """DuckDB's ``memory_limit`` setting (e.g. ``'19.0 GiB'``) in bytes; 0 when it says no limit."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", str(text))
    if not m or m.group(2).lower() not in _UNITS:
        return 0.0
    return float(m.group(1)) * _UNITS[m.group(2).lower()]


_shared: dict[Path, StoreReader] = {}
_shared_lock = threading.Lock()


def shared_reader(path: str | Path) -> StoreReader:
    """The process-wide reader of a store file (module scope: shared by all sessions); it warms each store file
    it opens in the background."""
    key = Path(path).expanduser().resolve()
    with _shared_lock:
        if key not in _shared:
            _shared[key] = StoreReader(key, warm_on_open=True)
        return _shared[key]
