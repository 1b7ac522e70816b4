"""The run registry: statuses and notes kept apart from the synced runs, promotion as the brand's
reference run (the default in every tab), every change recorded with who and when."""

from __future__ import annotations

import json
import shutil

import pytest

from artemis_panel.state import AppState
from store import registry as rg
from store.reader import StoreReader
from store.sync import sync
from tests.demo_runs import bundled_run, copy_demo_run


@pytest.fixture
def store(tmp_path):
    """Three runs of the demo brand: the bundled one (newest) and two older copies, one flagged needs_review."""
    runs = tmp_path / "runs"
    ids = [bundled_run().name, "2026-01-01T00-00-00Z-aaaaaaa", "2025-06-01T00-00-00Z-bbbbbbb"]
    shutil.copytree(bundled_run(), runs / ids[0])
    copy_demo_run(runs, ids[1], created_at="2026-01-01T00:00:00Z", status="completed")
    copy_demo_run(runs, ids[2], created_at="2025-06-01T00:00:00Z", status="needs_review")
    path = tmp_path / "store.duckdb"
    sync(runs, path)
    reader = StoreReader(path)
    yield path, reader, ids, runs
    reader.close()


def statuses(reader) -> dict[str, str]:
    reg = rg.registry(reader)
    return dict(zip(reg.run_id, reg.registry_status))


def test_runs_start_as_candidates_or_needs_review_from_their_fit(store):
    _, reader, ids, _ = store
    assert statuses(reader) == {ids[0]: "candidate", ids[1]: "candidate", ids[2]: "needs_review"}
    assert rg.reference_run(reader, rg.registry(reader).brand.iloc[0]) is None


def test_promoting_makes_the_reference_run_and_demotes_the_previous_one(store):
    path, reader, ids, _ = store
    brand = rg.registry(reader).brand.iloc[0]
    rg.set_status(path, reader, ids[1], "promoted", notes="best holdout MAPE", by="ana")
    assert rg.reference_run(reader, brand) == ids[1]
    rg.set_status(path, reader, ids[2], "promoted", by="ben")
    assert statuses(reader) == {ids[0]: "candidate", ids[1]: "candidate", ids[2]: "promoted"}
    assert rg.reference_run(reader, brand) == ids[2]
    # the demoted run keeps its notes; every change is in its history with who and when
    reg = rg.registry(reader).set_index("run_id")
    assert reg.loc[ids[1], "notes"] == "best holdout MAPE" and reg.loc[ids[2], "updated_by"] == "ben"
    hist = rg.history(reader, ids[1])
    assert hist.status.tolist() == ["candidate", "promoted"]
    assert hist.changed_by.tolist() == ["ben", "ana"]
    assert hist.changed_at.notna().all()


def test_notes_alone_keep_the_status_and_archiving_is_recorded(store):
    path, reader, ids, _ = store
    rg.set_status(path, reader, ids[0], notes="TV prior too wide", by="ana")
    rg.set_status(path, reader, ids[0], "archived", by="ana")
    reg = rg.registry(reader).set_index("run_id")
    assert reg.loc[ids[0], "registry_status"] == "archived" and reg.loc[ids[0], "notes"] == "TV prior too wide"
    assert rg.history(reader, ids[0]).status.tolist() == ["archived", "candidate"]


def test_the_registry_survives_a_resync_of_the_run(store):
    path, reader, ids, runs = store
    rg.set_status(path, reader, ids[1], "promoted", by="ana")
    manifest = json.loads((runs / ids[1] / "manifest.json").read_text())
    manifest["status_reason"] = "re-synced"
    (runs / ids[1] / "manifest.json").write_text(json.dumps(manifest))
    report = sync(runs, path)
    assert report.updated == [ids[1]]
    assert statuses(reader)[ids[1]] == "promoted"


def test_bad_changes_are_refused_and_leave_the_store_as_it_was(store):
    path, reader, ids, _ = store
    inode = path.stat().st_ino
    with pytest.raises(rg.RegistryError, match="status must be one of"):
        rg.set_status(path, reader, ids[0], "deployed")
    with pytest.raises(rg.RegistryError, match="no run"):
        rg.set_status(path, reader, ids[0], "promoted", brands=["Another Brand"])
    with pytest.raises(rg.RegistryError, match="at most"):
        rg.set_status(path, reader, ids[0], notes="x" * (rg.MAX_NOTES + 1))
    assert path.stat().st_ino == inode
    assert statuses(reader)[ids[0]] == "candidate"


def test_the_promoted_run_is_what_a_new_session_opens(store):
    path, reader, ids, _ = store
    assert AppState(reader).run_id == ids[0]  # the newest, while nothing is promoted
    rg.set_status(path, reader, ids[2], "promoted", by="ana")
    state = AppState(reader)
    assert state.run_id == ids[2]
    assert next(label for label, rid in state.param.run_id.names.items() if rid == ids[2]).startswith("★ ")
