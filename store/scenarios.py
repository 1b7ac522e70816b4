"""Saved scenarios (Forecast plans and Maximize allocations) in the store's ``scenarios`` table.

Reading goes through the app's read-only :class:`~store.reader.StoreReader`. Writing follows the sync's
rule that the store file is never written in place: under the writer lock (one writer at a time,
syncs included), the change is made on a copy that is then swapped in, so readers never see a half
state and a crash leaves the store as it was. Every function takes the session's allowed brands:
a scenario of another brand can be neither read, listed, overwritten nor deleted.

A scenario is ``(scenario_id, brand, run_id, name, kind, created_at, created_by, payload)``; ``kind``
is ``"forecast"`` (a weekly plan) or ``"allocation"`` (an optimised split), and ``payload`` is JSON:
``{"start": "YYYY-MM-DD", "weeks": N, "plan": {variable: [weekly spend, ...]}, ...}``.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any, Sequence

import pandas as pd

from store.edits import apply_edits
from store.reader import StoreMissing, StoreReader

KINDS = ("forecast", "allocation")
MAX_NAME = 120


class ScenarioError(ValueError):
    """A scenario that cannot be saved, read or deleted; the message says why."""


def _allowed(brand: str, brands: Sequence[str] | None) -> bool:
    return brands is None or brand in brands


def _write(store_path: str | Path, statements: list[tuple[str, list[Any]]]) -> None:
    try:
        apply_edits(store_path, statements)
    except StoreMissing as e:
        raise ScenarioError(str(e)) from None


def save_scenario(store_path: str | Path, reader: StoreReader, *, run_id: str, name: str, kind: str,
                  payload: dict, brands: Sequence[str] | None = None, created_by: str | None = None) -> str:
    """Save (or overwrite, by name within the run) a scenario of a run the session may see; returns its id."""
    name = (name or "").strip()
    if not name:
        raise ScenarioError("a scenario needs a name")
    if len(name) > MAX_NAME:
        raise ScenarioError(f"a scenario name has at most {MAX_NAME} characters; got {len(name)}")
    if kind not in KINDS:
        raise ScenarioError(f"scenario kind must be one of {', '.join(KINDS)}; got {kind!r}")
    rows = reader.execute("SELECT brand FROM runs WHERE run_id = ?", [run_id])
    if not rows or not _allowed(rows[0][0], brands):
        raise ScenarioError(f"no run {run_id!r} to save a scenario for")
    brand = rows[0][0]
    try:
        text = json.dumps(payload, allow_nan=False, default=str)
    except ValueError as e:
        raise ScenarioError(f"the scenario holds a value JSON cannot store ({e})") from None
    existing = reader.execute("SELECT scenario_id FROM scenarios WHERE run_id = ? AND brand = ? AND name = ?",
                              [run_id, brand, name])
    scenario_id = existing[0][0] if existing else uuid.uuid4().hex[:12]
    _write(store_path, [
        ("DELETE FROM scenarios WHERE scenario_id = ?", [scenario_id]),
        ("INSERT INTO scenarios (scenario_id, brand, run_id, name, kind, created_at, created_by, payload) "
         "VALUES (?, ?, ?, ?, ?, current_timestamp, ?, ?)", [scenario_id, brand, run_id, name, kind, created_by, text]),
    ])
    return scenario_id


def list_scenarios(reader: StoreReader, run_id: str, brands: Sequence[str] | None = None) -> pd.DataFrame:
    """The scenarios of a run (newest first): ``scenario_id, name, kind, created_at, created_by``."""
    params: list[Any] = [run_id]
    where = "run_id = ?"
    if brands is not None:
        if not brands:
            where += " AND FALSE"
        else:
            where += f" AND brand IN ({', '.join('?' * len(brands))})"
            params.extend(brands)
    return reader.query(f"SELECT scenario_id, name, kind, created_at, created_by FROM scenarios WHERE {where} "
                        "ORDER BY created_at DESC, name", params)


def load_scenario(reader: StoreReader, scenario_id: str, brands: Sequence[str] | None = None) -> dict:
    """A scenario with its payload decoded; ScenarioError if there is none the session may see."""
    rows = reader.execute("SELECT scenario_id, brand, run_id, name, kind, created_at, created_by, payload "
                          "FROM scenarios WHERE scenario_id = ?", [scenario_id])
    if not rows or not _allowed(rows[0][1], brands):
        raise ScenarioError(f"no scenario {scenario_id!r}")
    sid, brand, run_id, name, kind, created_at, created_by, payload = rows[0]
    return {"scenario_id": sid, "brand": brand, "run_id": run_id, "name": name, "kind": kind,
            "created_at": created_at, "created_by": created_by, "payload": json.loads(payload)}


def delete_scenario(store_path: str | Path, reader: StoreReader, scenario_id: str,
                    brands: Sequence[str] | None = None) -> None:
    load_scenario(reader, scenario_id, brands)  # (raises for one the session may not see)
    _write(store_path, [("DELETE FROM scenarios WHERE scenario_id = ?", [scenario_id])])
