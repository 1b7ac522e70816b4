"""Saved scenarios: kept in the store file, swapped in atomically, scoped to the session's brands."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from store import scenarios as sc
from store.reader import StoreReader


@pytest.fixture
def store(tmp_path_factory):
    from artemis_panel.startup import ensure_store

    src = ensure_store(tmp_path_factory.mktemp("scenario-src") / "store.duckdb")
    path = tmp_path_factory.mktemp("scenarios") / "store.duckdb"
    shutil.copyfile(src, path)
    reader = StoreReader(path)
    run_id, brand = reader.execute("SELECT run_id, brand FROM runs")[0]
    yield path, reader, run_id, brand
    reader.close()


PAYLOAD = {"start": "2024-12-30", "weeks": 2, "plan": {"CTV_Brand": [1.0, 2.0]}}


def test_save_list_load_overwrite_delete(store):
    path, reader, run_id, brand = store
    sid = sc.save_scenario(path, reader, run_id=run_id, name="Q1 plan", kind="forecast", payload=PAYLOAD)
    listed = sc.list_scenarios(reader, run_id)
    assert listed["name"].tolist() == ["Q1 plan"] and listed["scenario_id"].tolist() == [sid]
    got = sc.load_scenario(reader, sid)
    assert got["payload"] == PAYLOAD and got["brand"] == brand and got["kind"] == "forecast"
    # saving under the same name replaces it
    changed = {**PAYLOAD, "plan": {"CTV_Brand": [5.0, 6.0]}}
    assert sc.save_scenario(path, reader, run_id=run_id, name="Q1 plan", kind="forecast", payload=changed) == sid
    assert len(sc.list_scenarios(reader, run_id)) == 1
    assert sc.load_scenario(reader, sid)["payload"]["plan"]["CTV_Brand"] == [5.0, 6.0]
    sc.delete_scenario(path, reader, sid)
    assert sc.list_scenarios(reader, run_id).empty
    with pytest.raises(sc.ScenarioError, match="no scenario"):
        sc.load_scenario(reader, sid)


def test_the_store_file_is_replaced_not_written_in_place(store):
    path, reader, run_id, _ = store
    before = path.stat().st_ino
    runs = reader.execute("SELECT count(*) FROM contributions")[0][0]
    sc.save_scenario(path, reader, run_id=run_id, name="x", kind="allocation", payload=PAYLOAD)
    assert path.stat().st_ino != before
    with duckdb.connect(str(path), read_only=True) as con:  # the rest of the store is as it was
        assert con.execute("SELECT count(*) FROM contributions").fetchone()[0] == runs
        assert con.execute("SELECT count(*) FROM scenarios").fetchone()[0] == 1
    assert not list(path.parent.glob("*sync-tmp*"))


def test_other_brands_cannot_see_save_or_delete(store):
    path, reader, run_id, brand = store
    sid = sc.save_scenario(path, reader, run_id=run_id, name="mine", kind="forecast", payload=PAYLOAD,
                           brands=[brand])
    other = ["Luna Tacos"]
    assert sc.list_scenarios(reader, run_id, other).empty
    assert sc.list_scenarios(reader, run_id, []).empty
    with pytest.raises(sc.ScenarioError, match="no scenario"):
        sc.load_scenario(reader, sid, other)
    with pytest.raises(sc.ScenarioError, match="no scenario"):
        sc.delete_scenario(path, reader, sid, other)
    with pytest.raises(sc.ScenarioError, match="no run"):
        sc.save_scenario(path, reader, run_id=run_id, name="theirs", kind="forecast", payload=PAYLOAD, brands=other)
    assert sc.list_scenarios(reader, run_id)["name"].tolist() == ["mine"]


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "  "}, "needs a name"),
    ({"name": "x" * 200}, "at most"),
    ({"kind": "wish"}, "kind"),
    ({"run_id": "'; DROP TABLE runs; --"}, "no run"),
    ({"payload": {"v": float("nan")}}, "JSON"),
])
def test_bad_scenarios_are_refused_and_change_nothing(store, kwargs, message):
    path, reader, run_id, _ = store
    before = path.read_bytes()
    args = {"run_id": run_id, "name": "ok", "kind": "forecast", "payload": PAYLOAD, **kwargs}
    with pytest.raises(sc.ScenarioError, match=message):
        sc.save_scenario(path, reader, **args)
    assert path.read_bytes() == before
