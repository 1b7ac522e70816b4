"""The batch history (``history.duckdb`` in the pipeline's work folder): one row per batch with its files,
rows in and out per layer, status, rule failures and times; and which input each layer was last built from."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb

HISTORY_FILE = "history.duckdb"
SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id VARCHAR PRIMARY KEY, run_id VARCHAR, entity VARCHAR, engine VARCHAR, files JSON,
    rows_landing BIGINT, rows_bronze BIGINT, rows_silver BIGINT, rows_gold BIGINT,
    status VARCHAR, failures JSON, quarantine VARCHAR, error VARCHAR,
    started_at TIMESTAMP, finished_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS layers (layer VARCHAR PRIMARY KEY, built_from VARCHAR, built_at TIMESTAMP);
"""
SETTLED = ("ok", "quarantined")  # a batch with these is never processed again


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class History:
    def __init__(self, work: Path):
        self.path = work / HISTORY_FILE

    def _read(self, sql: str, params=()) -> list[tuple]:
        if not self.path.exists():
            return []
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            return con.execute(sql, list(params)).fetchall()
        finally:
            con.close()

    def _write(self, sql: str, params=()) -> None:
        con = duckdb.connect(str(self.path))
        try:
            con.execute(SCHEMA)
            con.execute(sql, list(params))
        finally:
            con.close()

    def settled_files(self, entity: str) -> set[tuple[str, str]]:
        """(path, sha256) of every landing file in an ok or quarantined batch of the entity."""
        out = set()
        for (files,) in self._read("SELECT files FROM batches WHERE entity = ? AND status IN ('ok', 'quarantined')",
                                   [entity]):
            out |= {(f["path"], f["sha256"]) for f in json.loads(files)}
        return out

    def record(self, batch_id: str, run_id: str, entity: str, engine: str, files: list[dict], status: str,
               started_at: dt.datetime, rows_landing: int | None = None, rows_bronze: int | None = None,
               failures: list[dict] | None = None, quarantine: str | None = None, error: str | None = None) -> None:
        self._write("INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, ?, ?, ?, ?, ?)",
                    [batch_id, run_id, entity, engine, json.dumps(files), rows_landing, rows_bronze, status,
                     json.dumps(failures or []), quarantine, error, started_at, now()])

    def set_rows(self, run_id: str, rows: dict[str, tuple[int | None, int | None]]) -> None:
        """Per entity, rows of the silver fact table and of the gold table that this run's ok batches fed."""
        con = duckdb.connect(str(self.path))
        try:
            con.execute(SCHEMA)
            for entity, (silver, gold) in rows.items():
                con.execute("UPDATE batches SET rows_silver = coalesce(?, rows_silver), "
                            "rows_gold = coalesce(?, rows_gold) WHERE run_id = ? AND entity = ? AND status = 'ok'",
                            [silver, gold, run_id, entity])
        finally:
            con.close()

    def built_from(self, layer: str) -> str | None:
        rows = self._read("SELECT built_from FROM layers WHERE layer = ?", [layer]) if self._has_layers() else []
        return rows[0][0] if rows else None

    def _has_layers(self) -> bool:
        return bool(self._read("SELECT 1 FROM information_schema.tables WHERE table_name = 'layers'"))

    def mark_built(self, layer: str, built_from: str) -> None:
        self._write("INSERT OR REPLACE INTO layers VALUES (?, ?, ?)", [layer, built_from, now()])

    def batches(self) -> list[dict]:
        if not self.path.exists():
            return []
        con = duckdb.connect(str(self.path), read_only=True)
        try:
            cur = con.execute("SELECT * FROM batches ORDER BY started_at, batch_id")
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r)) for r in cur.fetchall()]
        finally:
            con.close()
