"""The reader's warm-up: a store file's tables read into DuckDB's buffer pool once it opens (what the app's shared
reader does in the background after each sync), smallest first and within a share of the memory limit."""

from __future__ import annotations

import pytest

import store.reader as reader_module
from store import queries as q
from store.reader import StoreReader, _bytes, shared_reader
from store.sync import sync
from tests.store.conftest import open_store, rewrite_contributions


def buffered(r: StoreReader) -> int:
    """Bytes of table data DuckDB holds in the reader's buffer pool (its own accounting)."""
    return int(r.execute("SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() "
                         "WHERE tag = 'BASE_TABLE'")[0][0])


def tables_by_size(path) -> list[str]:
    con = open_store(path)
    try:
        return [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'store' "
                                          "AND estimated_size > 0 ORDER BY estimated_size").fetchall()]
    finally:
        con.close()


@pytest.fixture
def synced(tmp_path, make_runs):
    runs = make_runs(3)
    path = tmp_path / "store.duckdb"
    assert not sync(tmp_path / "runs", path).skipped
    return path, runs


def test_warm_reads_every_table_into_the_buffer_pool(synced):
    path, runs = synced
    r = StoreReader(path)
    try:
        before = buffered(r)
        out = r.warm()
        assert out["tables"] == tables_by_size(path)  # smallest first, all of them (the store is small)
        assert "contributions" in out["tables"]
        assert buffered(r) > before
        assert r.warmed.is_set()
        # the answers are the store's, warm or not
        total = q.totals(r, runs[0].run_id, "channel")
        assert total.contribution.sum() > 0
    finally:
        r.close()


def test_warm_stops_at_its_share_of_the_memory_limit(synced, monkeypatch):
    path, _ = synced
    order = tables_by_size(path)
    r = StoreReader(path)
    try:
        r.execute("SELECT 1")
        limit = _bytes(r.execute("SELECT current_setting('memory_limit')")[0][0])
        monkeypatch.setattr(reader_module, "WARM_SHARE", 1.0 / limit)  # a budget of one byte
        before = buffered(r)
        assert r.warm()["tables"] == []
        assert buffered(r) == before
        # a budget that holds the small tables but not the contributions: a prefix of the order, stopping there
        con = open_store(path)
        rows = dict(con.execute("SELECT table_name, estimated_size FROM duckdb_tables()").fetchall())
        con.close()
        monkeypatch.setattr(reader_module, "WARM_SHARE", 8.0 * rows["contributions"] / limit)
        warmed = r.warm()["tables"]
        assert warmed == order[:len(warmed)]
        assert 0 < len(warmed) < len(order) and "contributions" not in warmed
    finally:
        r.close()


def test_shared_reader_warms_each_store_file_it_opens(synced, tmp_path):
    path, runs = synced
    r = shared_reader(path)
    try:
        assert r.warm_on_open
        assert q.list_runs(r).shape[0] == 3
        first = r.warmed
        assert first.wait(30)
        assert buffered(r) > 0
        # a sync publishes a new file: the reader opens it, warms it too, and answers from it
        rewrite_contributions(runs[1], seed=999)
        assert runs[1].run_id in sync(tmp_path / "runs", path).updated
        rows = q.list_runs(r)
        assert r.warmed is not first and r.warmed.wait(30)
        assert buffered(r) > 0
        total = q.totals(r, runs[1].run_id, "variable")
        con = open_store(path)
        want = con.execute("SELECT sum(contribution) FROM contributions WHERE run_id = ? AND kind = 'media'",
                           [runs[1].run_id]).fetchone()[0]
        con.close()
        assert total.contribution.sum() == pytest.approx(want, rel=1e-9)
        assert rows.shape[0] == 3
    finally:
        r.close()


def test_a_reader_closed_while_warming_stops_quietly(synced):
    path, _ = synced
    r = StoreReader(path, warm_on_open=True)
    r.execute("SELECT 1")
    event = r.warmed
    r.close()
    assert event.wait(30)  # the warm-up thread ended (finished or stopped on the closed connection)


@pytest.mark.parametrize("text, value", [("19.0 GiB", 19.0 * 2**30), ("3.7 GB", 3.7e9), ("512 MiB", 512 * 2**20),
                                         ("-1", 0.0), ("", 0.0)])
def test_memory_limit_text(text, value):
    assert _bytes(text) == pytest.approx(value)
