"""The run registry: each run's review status (candidate, needs_review, promoted, archived) and notes,
and the history of every change with who made it and when.

A run without a registry entry is ``needs_review`` if its fit said so (R-hat, divergences), else
``candidate``. Promoting a run makes it its brand's reference run, the one Measure, Forecast and
Maximize open by default; the brand's previously promoted run goes back to ``candidate`` (recorded
too). Writes go through :func:`store.edits.apply_edits` (a copy of the store swapped in under the
writer lock); every function takes the session's allowed brands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from store.edits import apply_edits
from store.reader import StoreMissing, StoreReader

STATUSES = ("candidate", "needs_review", "promoted", "archived")
MAX_NOTES = 4000
REGISTRY_VERSION = 4  # the store schema version that has the registry tables

# A run's registry status: its entry's, else what its fit said.
STATUS_SQL = ("COALESCE(rr.status, CASE WHEN r.status = 'needs_review' THEN 'needs_review' ELSE 'candidate' END)")


class RegistryError(ValueError):
    """A registry change that cannot be made; the message says why."""


def _brands_where(column: str, brands: Sequence[str] | None, params: list) -> str:
    if brands is None:
        return "TRUE"
    if not brands:
        return "FALSE"
    params.extend(brands)
    return f"{column} IN ({', '.join('?' * len(brands))})"


def has_registry(reader: StoreReader) -> bool:
    return reader.schema_version >= REGISTRY_VERSION


# Where a run was logged to MLflow (its manifest's ``mlflow.tracking_uri``), for a link to it.
TRACKING_URI_SQL = "json_extract_string(r.manifest, '$.mlflow.tracking_uri')"


def registry(reader: StoreReader, brands: Sequence[str] | None = None) -> pd.DataFrame:
    """Every run of the allowed brands with its registry status, notes, last change and MLflow run."""
    params: list[Any] = []
    where = _brands_where("r.brand", brands, params)
    if not has_registry(reader):
        return reader.query(
            f"""SELECT r.run_id, r.brand, CASE WHEN r.status = 'needs_review' THEN 'needs_review'
                       ELSE 'candidate' END AS registry_status, NULL AS notes, NULL AS updated_at,
                       NULL AS updated_by, r.mlflow_run_id, {TRACKING_URI_SQL} AS mlflow_tracking_uri, r.created_at
                FROM runs r WHERE {where} ORDER BY r.created_at DESC NULLS LAST, r.run_id DESC""", params)
    return reader.query(
        f"""SELECT r.run_id, r.brand, {STATUS_SQL} AS registry_status, rr.notes, rr.updated_at, rr.updated_by,
                   r.mlflow_run_id, {TRACKING_URI_SQL} AS mlflow_tracking_uri, r.created_at
            FROM runs r LEFT JOIN run_registry rr USING (run_id)
            WHERE {where} ORDER BY r.created_at DESC NULLS LAST, r.run_id DESC""", params)


def history(reader: StoreReader, run_id: str, brands: Sequence[str] | None = None) -> pd.DataFrame:
    """A run's registry changes, newest first: status, notes, changed_at, changed_by."""
    if not has_registry(reader):
        return pd.DataFrame(columns=["status", "notes", "changed_at", "changed_by"])
    params: list[Any] = [run_id]
    where = _brands_where("brand", brands, params)
    return reader.query(f"SELECT status, notes, changed_at, changed_by FROM registry_log "
                        f"WHERE run_id = ? AND {where} ORDER BY changed_at DESC, rowid DESC", params)


def reference_run(reader: StoreReader, brand: str) -> str | None:
    """The brand's promoted run, if it has one."""
    if not has_registry(reader):
        return None
    rows = reader.execute("SELECT rr.run_id FROM run_registry rr JOIN runs r USING (run_id) "
                          "WHERE rr.brand = ? AND rr.status = 'promoted' ORDER BY rr.updated_at DESC LIMIT 1", [brand])
    return rows[0][0] if rows else None


def set_status(store_path: str | Path, reader: StoreReader, run_id: str, status: str | None = None,
               notes: str | None = None, by: str | None = None, brands: Sequence[str] | None = None) -> dict:
    """Change a run's status and/or notes (``None`` keeps them); returns the run's entry as saved.

    Promoting demotes the brand's promoted run to ``candidate``. Raises ``RegistryError`` for an unknown
    status, a run the session may not see, or notes too long.
    """
    if status is not None and status not in STATUSES:
        raise RegistryError(f"status must be one of {', '.join(STATUSES)}; got {status!r}")
    if notes is not None and len(notes) > MAX_NOTES:
        raise RegistryError(f"notes have at most {MAX_NOTES} characters; got {len(notes)}")
    current = registry(reader, brands)
    row = current[current.run_id == run_id]
    if row.empty:
        raise RegistryError(f"no run {run_id!r} in the store")
    brand = row.iloc[0]["brand"]
    old_status = row.iloc[0]["registry_status"]
    old_notes = row.iloc[0]["notes"]
    new_status = status or old_status
    new_notes = old_notes if notes is None else notes.strip() or None
    if pd.isna(new_notes):
        new_notes = None
    statements: list[tuple[str, list[Any]]] = []
    if new_status == "promoted" and old_status != "promoted":
        for other in current[(current.brand == brand) & (current.registry_status == "promoted")].run_id:
            statements += _entry(other, brand, "candidate", None, by, keep_notes=True)
    statements += _entry(run_id, brand, new_status, new_notes, by)
    try:
        apply_edits(store_path, statements)
    except StoreMissing as e:
        raise RegistryError(str(e)) from None
    return {"run_id": run_id, "brand": brand, "status": new_status, "notes": new_notes, "by": by}


def _entry(run_id: str, brand: str, status: str, notes: str | None, by: str | None,
           keep_notes: bool = False) -> list[tuple[str, list[Any]]]:
    notes_sql = "(SELECT notes FROM run_registry WHERE run_id = ?)" if keep_notes else "?"
    notes_param = run_id if keep_notes else notes
    return [
        (f"""INSERT INTO registry_log (run_id, brand, status, notes, changed_at, changed_by)
             VALUES (?, ?, ?, {notes_sql}, current_timestamp, ?)""", [run_id, brand, status, notes_param, by]),
        (f"""INSERT OR REPLACE INTO run_registry (run_id, brand, status, notes, updated_at, updated_by)
             VALUES (?, ?, ?, {notes_sql}, current_timestamp, ?)""", [run_id, brand, status, notes_param, by]),
    ]
