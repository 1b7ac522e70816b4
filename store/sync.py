"""Sync run folders, gold tables and cross-validation results from a source into the DuckDB store,
incrementally and atomically.

The store file is never written in place: a sync works on a copy and swaps it in with one
``os.replace`` at the end, so readers only ever see the old or the new store, and a sync killed
at any point leaves the store exactly as it was (the next one starts over and completes).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from store.schema import (AUDIENCE_UPDATE, CONTRIBUTION_COLUMNS, RESPONSE_COLUMNS, ROLLUPS, RUN_AUDIENCES_INSERT,
                          RUN_SERIES_INSERT, SCHEMA_VERSION, SERIES_UPDATE, SUMMARY_COLUMNS, connect_writable, migrate,
                          rollup_insert, schema_version)
from store.cv_results import CVFileError, insert_cv
from store.sources import CV, CV_FILE, GOLD, SourceError, open_source

REQUIRED_RUN_FILES = ("manifest.json", "metrics.json", "contributions.parquet", "summary.parquet", "response.parquet")
TABLE_FILES = {
    "contributions": ("contributions.parquet", CONTRIBUTION_COLUMNS),
    "summaries": ("summary.parquet", SUMMARY_COLUMNS),
    "response_draws": ("response.parquet", RESPONSE_COLUMNS),
}
# Base contributions are stored in audience order within a run, so that zone maps skip the row groups of
# other audiences when a query filters on audiences. A file already in that order is loaded as it is
# (the sort is the dearest part of a load), see _sorted.
SORT = {"contributions": "audience"}
# Every table with rows of a run (deleted together when a run is updated or removed).
RUN_TABLES = ("runs", *TABLE_FILES, "run_audiences", "run_series", *ROLLUPS)
TMP_SUFFIX = ".sync-tmp"

Say = Callable[[str], None]


@dataclass
class SyncReport:
    source: str
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # run or table -> why
    gold: list[str] = field(default_factory=list)
    cv: list[str] = field(default_factory=list)  # cross-validation results added or updated
    rows: int = 0
    bytes: int = 0
    seconds: float = 0.0
    published: bool = False

    def line(self) -> str:
        return (f"{self.source}: {len(self.added)} added, {len(self.updated)} updated, {len(self.removed)} removed, "
                f"{len(self.skipped)} skipped, {len(self.gold)} gold tables, {len(self.cv)} CV results; {self.rows:,} rows, "
                f"{self.bytes / 1e6:,.1f} MB transferred in {self.seconds:.2f} s")


class RunError(ValueError):
    """A run folder that cannot be synced (incomplete, corrupt, wrong schema)."""


def _signature(files: dict) -> str:
    return ";".join(f"{name}={f.signature}" for name, f in sorted(files.items()))


def _read_state(store_path: Path, source: str) -> tuple[dict[str, tuple[str, str]], int]:
    """(item -> (kind, signature)) recorded for this source, and the store's schema version (0 without a
    store), read without taking any write lock."""
    if not store_path.exists():
        return {}, 0
    # A private in-memory instance with the file attached: ``duckdb.connect(path)`` would hand back the
    # process's cached instance of that path if a reader here still holds one, i.e. a store file that a
    # previous sync has since replaced (stale state: removed runs would stay, unchanged runs be redone).
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"ATTACH '{_sql_str(store_path)}' AS store (READ_ONLY)")
        con.execute("USE store")
        version = schema_version(con)
        have = con.execute("SELECT count(*) FROM information_schema.tables "
                           "WHERE table_catalog = 'store' AND table_name = 'sync_state'").fetchone()[0]
        if not have:
            return {}, version
        rows = con.execute("SELECT item, kind, signature FROM sync_state WHERE source = ?", [source]).fetchall()
    finally:
        con.close()
    return {item: (kind, sig) for item, kind, sig in rows}, version


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")


@contextmanager
def _writer_lock(store_path: Path) -> Iterator[None]:
    """One sync at a time per store (other syncs wait)."""
    lock_path = store_path.with_name(store_path.name + ".lock")
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _load_run(source, run_id: str, files: dict, workdir: Path) -> tuple[dict, dict, dict[str, Path], int]:
    """Fetch and check one run folder; raises RunError naming the file and what is wrong."""
    missing = [f for f in REQUIRED_RUN_FILES if f not in files]
    if missing:
        raise RunError(f"incomplete: missing {', '.join(missing)}")
    nbytes = 0
    local: dict[str, Path] = {}
    for name in (*REQUIRED_RUN_FILES, "config.yaml"):
        if name in files:
            local[name] = source.fetch(f"{run_id}/{name}", workdir / run_id / name)
            nbytes += files[name].size
    try:
        manifest = json.loads(local["manifest.json"].read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunError(f"manifest.json is not valid JSON ({e})") from None
    if not isinstance(manifest, dict):
        raise RunError("manifest.json is not a JSON object")
    for key in ("run_id", "brand"):
        if not manifest.get(key):
            raise RunError(f"manifest.json has no '{key}'")
    if manifest["run_id"] != run_id:
        raise RunError(f"manifest.json says run_id {manifest['run_id']!r} but the folder is {run_id!r}")
    try:
        metrics = json.loads(local["metrics.json"].read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise RunError(f"metrics.json is not valid JSON ({e})") from None
    for table, (name, columns) in TABLE_FILES.items():
        try:
            schema = pq.read_schema(local[name])
        except Exception as e:  # pyarrow raises several types for a damaged file
            raise RunError(f"{name} is not readable Parquet ({e})") from None
        absent = [c for c in columns if c not in schema.names]
        if absent:
            raise RunError(f"{name} lacks column(s) {', '.join(absent)}")
    return manifest, metrics, local, nbytes


def _metric(metrics: dict, *path):
    value = metrics
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _insert_run(con: duckdb.DuckDBPyConnection, source: str, manifest: dict, metrics: dict,
                local: dict[str, Path], signature: str, nbytes: int) -> int:
    run_id, brand = manifest["run_id"], str(manifest["brand"])
    con.execute("BEGIN")
    try:
        for table in RUN_TABLES:
            con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
        audiences = manifest.get("audience")
        if isinstance(audiences, str):
            audiences = [audiences]
        con.execute(
            """INSERT INTO runs (run_id, brand, brand_id, status, status_reason, created_at, finished_at, variant,
                 audiences, target, weeks, train_start, train_end, test_start, test_end, dataset_fingerprint,
                 code_version, mlflow_run_id, train_mape, train_r2, train_durbin_watson, test_mape, test_r2,
                 test_durbin_watson, max_rhat, min_ess_bulk, divergences, fit_seconds, manifest, metrics,
                 config_yaml, source, synced_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                run_id, brand, manifest.get("brand_id"), manifest.get("status"), manifest.get("status_reason"),
                _ts(manifest.get("created_at")), _ts(manifest.get("finished_at")), manifest.get("variant"),
                audiences, manifest.get("target"), manifest.get("weeks"), manifest.get("train_start"),
                manifest.get("train_end"), manifest.get("test_start"), manifest.get("test_end"),
                manifest.get("dataset_fingerprint"), manifest.get("code_version"),
                (manifest.get("mlflow") or {}).get("run_id"),
                _metric(metrics, "train", "mape"), _metric(metrics, "train", "r2"),
                _metric(metrics, "train", "durbin_watson"), _metric(metrics, "test", "mape"),
                _metric(metrics, "test", "r2"), _metric(metrics, "test", "durbin_watson"),
                _metric(metrics, "max_rhat"), _metric(metrics, "min_ess_bulk"), _metric(metrics, "divergences"),
                _metric(metrics, "fit_seconds"), json.dumps(manifest), json.dumps(metrics),
                local["config.yaml"].read_text() if "config.yaml" in local else None,
                source, datetime.now(timezone.utc).replace(tzinfo=None),
            ],
        )
        rows = 0
        for table, (name, columns) in TABLE_FILES.items():
            cols = ", ".join(f'"{c}"' for c in columns)
            order = f"ORDER BY {SORT[table]}" if table in SORT and not _sorted(local[name], SORT[table]) else ""
            try:
                n = con.execute(
                    f"INSERT INTO {table} (run_id, brand, {cols}) SELECT ?, ?, {cols} FROM read_parquet(?) {order}",
                    [run_id, brand, str(local[name])],
                ).fetchone()[0]
            except duckdb.Error as e:  # damaged pages, values of the wrong type: this run only
                raise RunError(f"{name} could not be loaded ({e})") from None
            rows += int(n)
        # its audiences and series, numbered (see schema._V6)
        for statement in (AUDIENCE_UPDATE, RUN_AUDIENCES_INSERT, RUN_SERIES_INSERT, SERIES_UPDATE):
            con.execute(statement.format(where="run_id = ?"), [run_id] * statement.count("{where}"))
        # (from the rows just loaded, in the same transaction; a NULL audience counts as one; see schema.ROLLUPS)
        n_audiences = con.execute("SELECT count(*) FROM run_audiences WHERE run_id = ?", [run_id]).fetchone()[0]
        if n_audiences > 1:
            for table in ROLLUPS:
                con.execute(rollup_insert(table, one_run=True), [run_id, brand, run_id])
        _record(con, source, run_id, "run", signature, rows, nbytes)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return rows


def _sorted(path: Path, column: str) -> bool:
    """Whether the Parquet file's rows are in ``ORDER BY column`` order already (NULLs last), reading that
    column only (or nothing, when the footer says it is all NULL): its dictionary is ranked and the rows'
    ranks checked."""
    try:
        pf = pq.ParquetFile(path, read_dictionary=[column])
        meta, i = pf.metadata, pf.schema_arrow.get_field_index(column)
        stats = [meta.row_group(g).column(i).statistics for g in range(meta.num_row_groups)]
        if all(st is not None and st.has_null_count and st.null_count == meta.row_group(g).num_rows
               for g, st in enumerate(stats)):
            return True  # (a national run)
        values = pf.read(columns=[column]).column(column).combine_chunks()
        if pa.types.is_null(values.type):
            return True
        if not pa.types.is_dictionary(values.type):
            values = values.dictionary_encode()
        words = values.dictionary.to_pylist()
        rank = np.empty(len(words) + 1, dtype=np.int64)
        rank[sorted(range(len(words)), key=lambda k: words[k].encode())] = np.arange(len(words))
        rank[-1] = len(words)  # NULL: after every value
        codes = np.asarray(values.indices.fill_null(-1))
    except Exception:  # an unusual type or encoding: sort rather than guess
        return False
    return bool(np.all(np.diff(rank[codes]) >= 0))


def _ts(value):
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(timezone.utc).replace(tzinfo=None)
    except ValueError:
        return None


def _record(con, source: str, item: str, kind: str, signature: str, rows: int | None, nbytes: int | None) -> None:
    con.execute(
        "INSERT OR REPLACE INTO sync_state VALUES (?, ?, ?, ?, ?, ?, ?)",
        [source, item, kind, signature, rows, nbytes, datetime.now(timezone.utc).replace(tzinfo=None)],
    )


def _sync_gold(con, source, table: str, files: dict, workdir: Path) -> tuple[int, int]:
    """Replace ``gold.<table>`` with the source's Parquet files or Delta table."""
    if not table.replace("_", "").isalnum():
        raise RunError(f"gold table name {table!r} must be letters, digits and underscores")
    is_delta = any(p.startswith("_delta_log/") for p in files)
    nbytes = sum(f.size for f in files.values())
    if is_delta:
        import deltalake

        local_root = workdir / GOLD / table
        for rel in files:
            path = source.fetch(f"{GOLD}/{table}/{rel}", local_root / rel)
            if path != local_root / rel:
                local_root = path.parents[len(Path(rel).parts) - 1]
        try:
            arrow = deltalake.DeltaTable(str(local_root)).to_pyarrow_table()
        except Exception as e:
            raise RunError(f"Delta table {table} is not readable ({e})") from None
        # (DuckDB 2 refuses register() while an earlier statement's result is unread: read them all first)
        con.execute("SELECT 1").fetchall()
        con.register("_gold_arrow", arrow)
        con.execute(f'CREATE OR REPLACE TABLE gold."{table}" AS SELECT * FROM _gold_arrow')
        con.unregister("_gold_arrow")
        fmt = "delta"
    else:
        parquet = [rel for rel in files if rel.endswith(".parquet")]
        if not parquet:
            raise RunError(f"gold table {table} has no Parquet files")
        paths = [str(source.fetch(f"{GOLD}/{table}/{rel}", workdir / GOLD / table / rel)) for rel in sorted(parquet)]
        try:
            con.execute(f'CREATE OR REPLACE TABLE gold."{table}" AS SELECT * FROM read_parquet(?, union_by_name = true)', [paths])
        except duckdb.Error as e:
            raise RunError(f"gold table {table} is not readable Parquet ({e})") from None
        fmt = "parquet"
    rows = con.execute(f'SELECT count(*) FROM gold."{table}"').fetchall()[0][0]
    con.execute("INSERT OR REPLACE INTO gold_tables VALUES (?, ?, ?, ?, current_timestamp)", [table, source.uri, fmt, rows])
    return int(rows), nbytes


def _sync_cv(con, source, cv_id: str, files: dict, workdir: Path) -> int:
    """Replace the ``cv_results`` row of one CV folder from its ``cv.json``."""
    rel = f"{CV}/{cv_id}/{CV_FILE}"
    path = source.fetch(rel, workdir / CV / cv_id / CV_FILE)
    try:
        summary = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise RunError(f"{source.describe(rel)} is not readable JSON ({e})") from None
    if isinstance(summary, dict) and summary.get("cv_id") not in (None, cv_id):
        raise RunError(f"{source.describe(rel)}: field cv_id {summary['cv_id']!r} is not its folder's name {cv_id!r}")
    try:
        insert_cv(con, source.uri, summary, source.describe(rel))
    except CVFileError as e:
        raise RunError(str(e)) from None
    return files[CV_FILE].size


def _progress(total: int, say: Say | None):
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    if tqdm is None or total == 0:
        return None
    return tqdm(total=total, desc="sync", unit="item", disable=None, leave=False)


def sync(source_uri: str | Path, store_path: str | Path, endpoint_url: str | None = None,
         say: Say | None = None, progress: Callable[[int, int], None] | None = None,
         s3_options: dict | None = None) -> SyncReport:
    """Bring the store in step with the source: add new and changed runs, remove deleted ones,
    replace changed gold tables. Returns what was done; raises ``SourceError`` if the source
    cannot be listed or read (the store is untouched). ``s3_options`` (``max_attempts``,
    ``connect_timeout``, ``read_timeout``) go to ``S3Source``."""
    t0 = time.perf_counter()
    store_path = Path(store_path).expanduser().resolve()
    store_path.parent.mkdir(parents=True, exist_ok=True)
    source = open_source(source_uri, endpoint_url=endpoint_url, **(s3_options or {}))
    report = SyncReport(source=source.uri)
    listing = source.list()
    runs, gold, cvs = listing.runs, listing.gold, listing.cv

    with _writer_lock(store_path):
        _remove_stale_tmp(store_path)
        state, version = _read_state(store_path, source.uri)
        todo_runs, todo_gold, todo_cv = [], [], []
        for run_id, files in sorted(runs.items()):
            sig = _signature(files)
            kind_sig = state.get(run_id)
            if kind_sig is None or kind_sig[1] != sig:
                todo_runs.append((run_id, files, sig, kind_sig is not None and kind_sig[0] == "run"))
        for table, files in sorted(gold.items()):
            sig = _signature(files)
            if state.get(f"{GOLD}/{table}", (None, None))[1] != sig:
                todo_gold.append((table, files, sig))
        for cv_id, files in sorted(cvs.items()):
            sig = _signature(files)
            if state.get(f"{CV}/{cv_id}", (None, None))[1] != sig:
                todo_cv.append((cv_id, files, sig))

        # Items recorded (synced or skipped) whose folder is no longer at the source.
        def present(item: str) -> bool:
            if item.startswith(f"{GOLD}/"):
                return item.split("/", 1)[1] in gold
            if item.startswith(f"{CV}/"):
                return item.split("/", 1)[1] in cvs
            return item in runs

        gone = [item for item in state if not present(item)]
        total = len(todo_runs) + len(todo_gold) + len(todo_cv)
        if not total and not gone and store_path.exists() and version >= SCHEMA_VERSION:
            report.seconds = time.perf_counter() - t0
            return report  # (an older store is upgraded even when nothing changed)

        tmp = store_path.with_name(f"{store_path.name}.{os.getpid()}{TMP_SUFFIX}")
        if store_path.exists():
            shutil.copyfile(store_path, tmp)
        con = connect_writable(tmp)
        bar = _progress(total, say)
        done = 0

        def step() -> None:
            nonlocal done
            done += 1
            if bar is not None:
                bar.update(1)
            if progress:
                progress(done, total)

        try:
            migrate(con)
            # Downloads go next to the store (not the system temp folder): a sync killed mid-way leaves
            # them where the next sync's _remove_stale_tmp finds them.
            workdir = store_path.with_name(f"{store_path.name}.{os.getpid()}{TMP_SUFFIX}.d")
            workdir.mkdir(exist_ok=True)
            try:
                for run_id, files, sig, existed in todo_runs:
                    try:
                        manifest, metrics, local, nbytes = _load_run(source, run_id, files, workdir)
                        report.rows += _insert_run(con, source.uri, manifest, metrics, local, sig, nbytes)
                        report.bytes += nbytes
                        (report.updated if existed else report.added).append(run_id)
                    except RunError as e:
                        report.skipped[run_id] = str(e)
                        _record(con, source.uri, run_id, "skipped", sig, None, None)
                        if say:
                            say(f"skipped run {source.describe(run_id)}: {e}")
                    shutil.rmtree(workdir / run_id, ignore_errors=True)
                    step()
                for table, files, sig in todo_gold:
                    try:
                        rows, nbytes = _sync_gold(con, source, table, files, workdir)
                        report.rows += rows
                        report.bytes += nbytes
                        report.gold.append(table)
                        _record(con, source.uri, f"{GOLD}/{table}", "gold", sig, rows, nbytes)
                    except RunError as e:
                        report.skipped[f"{GOLD}/{table}"] = str(e)
                        # Recorded like a skipped run: not fetched again until its files change.
                        _record(con, source.uri, f"{GOLD}/{table}", "skipped", sig, None, None)
                        if say:
                            say(f"skipped gold table {source.describe(GOLD + '/' + table)}: {e}")
                    step()
                for cv_id, files, sig in todo_cv:
                    item = f"{CV}/{cv_id}"
                    try:
                        con.execute("BEGIN")
                        nbytes = _sync_cv(con, source, cv_id, files, workdir)
                        _record(con, source.uri, item, "cv", sig, 1, nbytes)
                        con.execute("COMMIT")
                        report.cv.append(cv_id)
                        report.bytes += nbytes
                    except RunError as e:
                        con.execute("ROLLBACK")
                        report.skipped[item] = str(e)
                        _record(con, source.uri, item, "skipped", sig, None, None)
                        if say:
                            say(f"skipped cross-validation {source.describe(item)}: {e}")
                    step()
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
            for item in gone:
                con.execute("BEGIN")
                if item.startswith(f"{GOLD}/"):
                    table = item.split("/", 1)[1]
                    con.execute(f'DROP TABLE IF EXISTS gold."{table}"')
                    con.execute("DELETE FROM gold_tables WHERE name = ?", [table])
                elif item.startswith(f"{CV}/"):
                    con.execute("DELETE FROM cv_results WHERE cv_id = ? AND source = ?", [item.split("/", 1)[1], source.uri])
                else:
                    for t in RUN_TABLES:
                        con.execute(f"DELETE FROM {t} WHERE run_id = ? AND run_id NOT IN "
                                    "(SELECT item FROM sync_state WHERE source <> ? AND kind = 'run')", [item, source.uri])
                    if state[item][0] == "run":
                        report.removed.append(item)
                con.execute("DELETE FROM sync_state WHERE source = ? AND item = ?", [source.uri, item])
                con.execute("COMMIT")
            con.execute("CHECKPOINT")
            con.close()
            _publish(tmp, store_path)
            report.published = True
        except BaseException:
            try:
                con.close()
            except duckdb.Error:
                pass
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
            raise
        finally:
            if bar is not None:
                bar.close()
    report.seconds = time.perf_counter() - t0
    return report


def _publish(tmp: Path, store_path: Path) -> None:
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, store_path)
    dfd = os.open(store_path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _remove_stale_tmp(store_path: Path) -> None:
    """Working copies left by a sync that was killed (we hold the writer lock, so none is live)."""
    for p in store_path.parent.glob(f"{store_path.name}.*{TMP_SUFFIX}*"):
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def init_store(store_path: str | Path) -> None:
    """Create an empty store at the current schema (atomically) if none exists, or bring an older one to it."""
    store_path = Path(store_path).expanduser().resolve()
    store_path.parent.mkdir(parents=True, exist_ok=True)
    with _writer_lock(store_path):
        if store_path.exists() and _read_state(store_path, "")[1] >= SCHEMA_VERSION:
            return
        _remove_stale_tmp(store_path)
        tmp = store_path.with_name(f"{store_path.name}.{os.getpid()}{TMP_SUFFIX}")
        if store_path.exists():  # an older store: upgraded on a copy, like a sync
            shutil.copyfile(store_path, tmp)
        try:
            con = connect_writable(tmp)
            try:
                migrate(con)
                con.execute("CHECKPOINT")
            finally:
                con.close()
            _publish(tmp, store_path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            Path(f"{tmp}.wal").unlink(missing_ok=True)
            raise


__all__ = ["sync", "init_store", "SyncReport", "SourceError"]
