"""The rollups of contributions (``store.schema.ROLLUPS``): built with each run of several audiences, replaced
and removed with it, migrated into a version-1 store, and answering every question exactly as the base
table does."""

from __future__ import annotations

import math
import shutil
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from store import queries as q
from store.reader import StoreReader
from store.schema import (MIGRATIONS, MULTI_AUDIENCE_RUNS, ROLLUPS, SCHEMA_VERSION, connect_writable, migrate,
                          schema_version)
from store.sync import _sorted, init_store, sync

from .conftest import open_store, rewrite_contributions
from .test_queries import BETA, NATIONAL, RUNS, SEGMENTED, _write_run

MEASURES = ("contribution", "spend", "impressions", "contribution_seen", "transactions")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """The three runs of test_queries (a national run, a run of two audiences, another brand's run)."""
    root = tmp_path_factory.mktemp("runs")
    for run_id, spec in RUNS.items():
        _write_run(root, run_id, *spec)
    path = tmp_path_factory.mktemp("store") / "store.duckdb"
    assert sorted(sync(root, path).added) == sorted(RUNS)
    reader = StoreReader(path)
    yield reader, path
    reader.close()


# What each rollup holds, spelled out here apart from store.schema: the base rows it sums (those of the runs
# of more than one audience), and the base columns or expressions of its keys.
KIND_GROUP = """CASE WHEN kind IS NULL THEN NULL WHEN kind = 'media' THEN 'media'
                     WHEN kind = 'baseline' OR kind = 'seasonality' THEN 'baseline'
                     WHEN kind = 'holiday' THEN 'holiday' ELSE 'control' END"""
KIND_NO = """CASE WHEN kind = 'media' THEN 1 WHEN kind = 'baseline' OR kind = 'seasonality' THEN 2
                  WHEN kind = 'holiday' THEN 3 WHEN kind IS NOT NULL THEN 4 END"""
EXPECTED = {
    "contributions_national": ("TRUE", {k: k for k in ("date", "variable", "channel", "channel_group", "pillar",
                                                        "message_type", "kind", "is_media_variable",
                                                        "is_control_variable", "split", "series_no")}),
    "contributions_audience": ("TRUE", {"audience": "audience", "audience_no": "audience_no", "date": "date",
                                        "kind": KIND_GROUP, "kind_no": KIND_NO}),
    "contributions_channel": ("TRUE", {"audience": "audience", "audience_no": "audience_no", "channel": "channel",
                                       "date": "date", "kind": KIND_GROUP, "kind_no": KIND_NO}),
}


def rollup_mismatches(con, table: str) -> list:
    """Rows where ``table`` differs from the base table summed by the rollup's keys, over the runs of more than
    one audience (none when exact)."""
    where, exprs = EXPECTED[table]
    keys = ["run_id", "brand", *exprs]
    assert tuple(exprs) == ROLLUPS[table].columns
    on = " AND ".join(f"w.{k} IS NOT DISTINCT FROM r.{k}" for k in keys)
    close = " AND ".join(f"(w.{m} IS NULL AND r.{m} IS NULL OR abs(w.{m} - r.{m}) <= 1e-9 * abs(w.{m}) + 1e-6)"
                         for m in MEASURES)
    # transactions: only ever summed over the baseline rows, which the audience rollups file with the
    # seasonality rows (whose transactions they leave out)
    tx = ("sum(transactions) FILTER (WHERE kind IS NULL OR kind <> 'seasonality')"
          if table != "contributions_national" else "sum(transactions)")
    return con.execute(
        f"""WITH w AS (
                SELECT run_id, brand, {", ".join(f"{e} AS {k}" for k, e in exprs.items())},
                       sum(contribution) AS contribution, sum(spend) AS spend,
                       sum(impressions) AS impressions,
                       sum(contribution) FILTER (WHERE impressions IS NOT NULL) AS contribution_seen,
                       {tx} AS transactions
                FROM contributions WHERE run_id IN ({MULTI_AUDIENCE_RUNS}) AND ({where})
                GROUP BY run_id, brand, {", ".join(exprs.values())})
            SELECT w.*, r.* FROM w FULL JOIN {table} r ON {on}
            WHERE w.run_id IS NULL OR r.run_id IS NULL OR NOT ({close})"""
    ).fetchall()


def rollup_rows(path: Path) -> dict[str, dict[str, int]]:
    """table -> run_id -> rows, for every rollup."""
    con = open_store(path)
    try:
        return {t: dict(con.execute(f"SELECT run_id, count(*) FROM {t} GROUP BY 1").fetchall()) for t in ROLLUPS}
    finally:
        con.close()


def assert_rollups_exact(path: Path) -> None:
    """Every rollup holds the base sums of the runs of several audiences (and of no other run)."""
    con = open_store(path)
    try:
        for table in ROLLUPS:
            assert rollup_mismatches(con, table) == [], table
            have = con.execute(f"SELECT DISTINCT run_id FROM {table} ORDER BY 1").fetchall()
            assert have == con.execute(f"{MULTI_AUDIENCE_RUNS} ORDER BY 1").fetchall(), table
    finally:
        con.close()


# ------------------------------------------------------------------------------ contents


def test_rollups_hold_the_base_sums_of_the_runs_of_several_audiences(store):
    reader, path = store
    assert_rollups_exact(path)
    rows = rollup_rows(path)
    weeks, variables = 104, 6 + 4 + 2  # test_queries: media, others, seasonality and baseline
    channels = 5  # Linear TV (two variables), Social, Search, Radio, OOH
    # national runs have none: their base rows are as few
    assert rows == {"contributions_national": {SEGMENTED: weeks * variables},  # summed over its two audiences
                    # audiences × weeks × kind groups (media; baseline and seasonality; holiday; control, owned
                    # and earned)
                    "contributions_audience": {SEGMENTED: 2 * weeks * 4},
                    "contributions_channel": {SEGMENTED: 2 * weeks * (channels + 3)}}  # the same, media by channel
    assert reader.schema_version == SCHEMA_VERSION
    assert [q._rollups(reader, run) for run in (NATIONAL, SEGMENTED, BETA, "no such run")] == [False, True, False, False]


# ------------------------------------------------------------------------------ same answers


def _same(a, b) -> None:
    """Two answers of a query function agree (DataFrames: same rows in the same order; dicts: same values)."""
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, pd.DataFrame):
        assert list(a.columns) == list(b.columns)
        assert len(a) == len(b)
        for col in a.columns:
            x, y = a[col].tolist(), b[col].tolist()
            if a[col].dtype.kind == "f":
                np.testing.assert_allclose(np.asarray(x, float), np.asarray(y, float), rtol=1e-9, atol=1e-6,
                                           err_msg=col)
            else:
                assert [str(v) for v in x] == [str(v) for v in y], col
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6) or (math.isnan(a) and math.isnan(b))
    else:
        assert a == b


CALLS = {
    "over_time": lambda r, run, g, **kw: q.contributions_over_time(r, run, g, **kw),
    "totals": lambda r, run, g, **kw: q.totals(r, run, g, **kw),
    "kpis": lambda r, run, g, **kw: q.kpis(r, run, **kw),
    "decomposition": lambda r, run, g, **kw: q.decomposition(r, run, g, **kw),
    "drivers": lambda r, run, g, **kw: q.driver_performance(r, run, g, **kw),
    "drivers_prior": lambda r, run, g, **kw: q.driver_performance(r, run, g, prior_year=True, **kw),
    "intervals": lambda r, run, g, **kw: q.contribution_intervals(
        r, run, g, **{k: v for k, v in kw.items() if k in ("brands", "audiences", "channels")}),
}
FILTERS = {
    "none": {},
    "dates": dict(start="2023-07-03", end="2024-06-24"),
    "from": dict(start="2023-03-06"),
    "channels": dict(channels=["Social", "Linear TV", "OOH"]),
    "brand": dict(brands=["alpha"]),
}


def _on_base(monkeypatch):
    monkeypatch.setattr(q, "_table", lambda r, f, group_by=None: q.BASE)


@pytest.mark.parametrize("run_id", [NATIONAL, SEGMENTED])
@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("flt", FILTERS)
def test_rollups_and_base_table_give_the_same_answers(store, monkeypatch, run_id, call, flt):
    r, _ = store
    for group_by in q.GROUPS:
        kw = FILTERS[flt]
        fast = CALLS[call](r, run_id, group_by, **kw)
        with monkeypatch.context() as m:
            _on_base(m)
            slow = CALLS[call](r, run_id, group_by, **kw)
        _same(fast, slow)


@pytest.mark.parametrize("call", CALLS)
@pytest.mark.parametrize("flt", ["none", "dates", "channels"])
def test_all_audiences_on_the_base_table_equal_no_audience_filter_on_the_rollups(store, call, flt):
    """A filter naming every audience of the run reads the base table; none reads a rollup: same answer."""
    r, _ = store
    for group_by in q.GROUPS:
        rollup = CALLS[call](r, SEGMENTED, group_by, **FILTERS[flt])
        base = CALLS[call](r, SEGMENTED, group_by, audiences=["Loyal", "New"], **FILTERS[flt])
        _same(rollup, base)


@pytest.mark.parametrize("call", CALLS)
def test_audience_filters_on_the_audience_rollup_and_the_base_table_agree(store, monkeypatch, call):
    r, _ = store
    for group_by in ("audience", "channel", "variable"):
        for kw in (dict(audiences=["New"]), dict(audiences=["Loyal"], start="2024-01-01"),
                   dict(audiences=["Loyal", "New"], channels=["Search"]), dict(audiences=["nobody"])):
            fast = CALLS[call](r, SEGMENTED, group_by, **kw)
            with monkeypatch.context() as m:
                _on_base(m)
                slow = CALLS[call](r, SEGMENTED, group_by, **kw)
            _same(fast, slow)


def test_questions_are_routed_to_the_smallest_table(store):
    r, _ = store

    def table(group_by=None, run=SEGMENTED, **kw):
        return q._table(r, q._Filter.of(run, None, **kw), group_by)

    assert table() == table("channel", start="2024-01-01", channels=["OOH"]) == q.NATIONAL
    assert table("audience") == table("audience", audiences=["a"]) == table(audiences=["a"]) == q.AUDIENCE
    assert table("audience", channels=["OOH"]) == table(audiences=["a"], channels=["OOH"]) == q.CHANNEL
    assert table("channel", audiences=["a"], channels=["OOH"]) == q.CHANNEL
    assert table("channel", audiences=["a"]) == table("pillar", audiences=["a"]) == q.BASE
    assert table("pillar", audiences=["a"], channels=["OOH"]) == q.BASE
    assert table(run=NATIONAL) == table("audience", run=NATIONAL) == q.BASE  # a run without rollups


# ------------------------------------------------------------------------------ sync keeps them in step


def test_rollups_follow_runs_added_updated_and_removed(tmp_path, make_runs):
    root = tmp_path / "runs"
    runs = make_runs(3, root=root)
    path = tmp_path / "artemis.duckdb"
    sync(root, path)
    assert_rollups_exact(path)
    before = rollup_rows(path)
    for table in ROLLUPS:
        assert set(before[table]) == {r.run_id for r in runs}

    rewrite_contributions(runs[1], seed=777)
    assert sync(root, path).updated == [runs[1].run_id]
    assert_rollups_exact(path)  # the run's old rollup rows are gone, the new ones in
    assert rollup_rows(path) == before  # (same shape of data: same number of rows)

    shutil.rmtree(runs[0].path)
    assert sync(root, path).removed == [runs[0].run_id]
    assert_rollups_exact(path)
    for table in ROLLUPS:
        assert set(rollup_rows(path)[table]) == {runs[1].run_id, runs[2].run_id}


def test_a_file_out_of_audience_order_is_stored_in_audience_order(tmp_path, make_runs):
    root = tmp_path / "runs"
    run = make_runs(1, root=root)[0]
    file = run.path / "contributions.parquet"
    data = pq.read_table(file)
    assert _sorted(file, "audience")  # conftest writes north, then south
    shuffled = data.take(np.random.default_rng(0).permutation(data.num_rows))
    pq.write_table(shuffled, file)
    assert not _sorted(file, "audience")
    path = tmp_path / "artemis.duckdb"
    sync(root, path)
    con = open_store(path)
    try:
        stored = [a for (a,) in con.execute("SELECT audience FROM contributions ORDER BY rowid").fetchall()]
        total = con.execute("SELECT sum(contribution) FROM contributions").fetchone()[0]
    finally:
        con.close()
    assert stored == sorted(stored) and len(stored) == data.num_rows
    assert total == pytest.approx(run.contribution_sum)


@pytest.mark.parametrize("values,ordered", [
    (["a", "a", "b", None, None], True), (["a", None, "b"], False), (["b", "a"], False), ([None, None], True),
    (["Z", "Ä"], True), (["Ä", "Z"], False), ([], True),  # (byte order, as DuckDB sorts text)
])
def test_sorted_checks_audience_order_as_duckdb_sorts(tmp_path, values, ordered):
    file = tmp_path / "c.parquet"
    pq.write_table(pa.table({"audience": pa.array(values, pa.string())}), file)
    assert _sorted(file, "audience") is ordered
    con = duckdb.connect()
    in_order = [a for (a,) in con.execute("SELECT audience FROM read_parquet(?) ORDER BY audience", [str(file)]).fetchall()]
    assert (in_order == values) is ordered


# ------------------------------------------------------------------------------ migration from version 1


def make_v1_store(path: Path, root: Path, runs: dict[str, str]) -> None:
    """A store as version 1 of Artemis wrote it: the v1 tables only, and the rows of these runs (id -> brand)."""
    con = duckdb.connect(str(path))
    try:
        for statement in MIGRATIONS[0]:
            con.execute(statement)
        con.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        for run_id, brand in runs.items():
            con.execute("INSERT INTO runs (run_id, brand) VALUES (?, ?)", [run_id, brand])
            for table, name in (("contributions", "contributions.parquet"), ("summaries", "summary.parquet")):
                con.execute(f"INSERT INTO {table} BY NAME SELECT ? AS run_id, ? AS brand, * "
                            f"FROM read_parquet(?)", [run_id, brand, str(root / run_id / name)])
        con.execute("CHECKPOINT")
    finally:
        con.close()


def test_a_version_1_store_is_migrated_with_its_rollups_filled(tmp_path):
    root = tmp_path / "runs"
    for run_id in (NATIONAL, SEGMENTED):
        _write_run(root, run_id, *RUNS[run_id])
    path = tmp_path / "old.duckdb"
    make_v1_store(path, root, {NATIONAL: "alpha", SEGMENTED: "alpha"})

    reader = StoreReader(path)
    assert reader.schema_version == 1 and not q._rollups(reader, SEGMENTED)
    old = {(run, name): CALLS[name](reader, run, "channel", start="2023-07-03")  # on the base table
           for run in (NATIONAL, SEGMENTED) for name in CALLS}
    reader.close()

    con = connect_writable(path)
    try:
        assert migrate(con) == 1 and schema_version(con) == SCHEMA_VERSION
    finally:
        con.close()
    assert_rollups_exact(path)
    assert {t: set(runs) for t, runs in rollup_rows(path).items()} == {t: {SEGMENTED} for t in ROLLUPS}

    reader = StoreReader(path)
    try:
        assert reader.schema_version == SCHEMA_VERSION and q._rollups(reader, SEGMENTED)
        assert not q._rollups(reader, NATIONAL)
        for (run, name), answer in old.items():
            _same(CALLS[name](reader, run, "channel", start="2023-07-03"), answer)
    finally:
        reader.close()


def test_init_store_and_a_noop_sync_upgrade_an_old_store(tmp_path, make_runs):
    root = tmp_path / "runs"
    make_runs(2, root=root)
    path = tmp_path / "artemis.duckdb"
    sync(root, path)
    expected = rollup_rows(path)

    def downgrade():  # back to a version-1 store with the same runs and sync state
        con = connect_writable(path)
        try:
            for table in ROLLUPS:
                con.execute(f"DROP TABLE {table}")
            con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
            con.execute("CHECKPOINT")
        finally:
            con.close()

    downgrade()
    report = sync(root, path)  # nothing changed at the source, but the store is old
    assert report.published and not (report.added or report.updated or report.removed)
    assert rollup_rows(path) == expected
    assert_rollups_exact(path)
    assert not sync(root, path).published  # now a no-op

    downgrade()
    init_store(path)
    assert rollup_rows(path) == expected
    con = open_store(path)
    try:
        assert schema_version(con) == SCHEMA_VERSION
    finally:
        con.close()


def test_a_fresh_store_has_the_current_schema(tmp_path):
    path = tmp_path / "new.duckdb"
    init_store(path)
    reader = StoreReader(path)
    try:
        assert reader.schema_version == SCHEMA_VERSION
        assert q.kpis(reader, NATIONAL)["weeks"] == 0
        assert q.filter_options(reader, NATIONAL) == {"start": None, "end": None, "audiences": [], "channels": []}
    finally:
        reader.close()


def test_kpis_dates_come_back_as_dates(store):
    r, _ = store
    k = q.kpis(r, SEGMENTED, start="2024-01-01", end="2024-06-24", audiences=["New"])
    assert k["start"] == date(2024, 1, 1) and k["prior_start"] == date(2023, 1, 2)
    assert k["weeks"] == k["prior_weeks"] == 26


def test_a_reader_routes_by_the_store_file_it_reads(tmp_path, make_runs):
    """What the reader remembers of a file (which runs have rollups) and its idle cursors go with the file:
    after a sync turns a run of two audiences into one of one, the same reader answers from the new file."""
    root = tmp_path / "runs"
    run = make_runs(1, root=root)[0]
    path = tmp_path / "artemis.duckdb"
    sync(root, path)
    reader = StoreReader(path)
    try:
        assert q._rollups(reader, run.run_id)
        before = q.totals(reader, run.run_id, "channel")
        data = pq.read_table(run.path / "contributions.parquet")
        north = data.filter(pc.equal(data["audience"], "north"))
        pq.write_table(north, run.path / "contributions.parquet")
        assert sync(root, path).updated == [run.run_id]
        assert not q._rollups(reader, run.run_id)
        after = q.totals(reader, run.run_id, "channel")
        media = north.filter(pc.equal(north["kind"], "media")).to_pandas()
        want = media.groupby("channel").contribution.sum()
        np.testing.assert_allclose(after.set_index("group").contribution.loc[want.index], want, rtol=1e-9)
        assert not np.allclose(before.contribution.sum(), after.contribution.sum())
    finally:
        reader.close()


# ------------------------------------------------------------------------------ version 6: numbers and the split


def _sorted_labels(values) -> list:
    """Distinct values in DuckDB's order (by UTF-8 bytes, NULL last)."""
    distinct = set(values)
    return sorted((v for v in distinct if v is not None), key=lambda v: v.encode()) + [None] * (None in distinct)


def assert_numbers_exact(path: Path) -> None:
    """``audience_no`` and ``series_no`` of every contributions row, ``run_audiences`` and ``run_series``, against
    the text of the rows, recomputed here with pandas."""
    con = open_store(path)
    try:
        rows = con.execute("SELECT run_id, brand, date, audience, audience_no, variable, kind, channel, channel_group, "
                           "pillar, message_type, series_no FROM contributions").df()
        audiences = con.execute("SELECT * FROM run_audiences").df()
        series = con.execute("SELECT * FROM run_series").df()
    finally:
        con.close()
    rows = rows.astype(object).where(rows.notna(), None)
    labels = ["variable", "kind", "channel", "channel_group", "pillar", "message_type"]
    for run_id, run in rows.groupby("run_id"):
        names = _sorted_labels(run.audience)
        numbers = {a: i + 1 for i, a in enumerate(n for n in names if n is not None)}
        assert [numbers.get(a) for a in run.audience] == list(run.audience_no), run_id
        have = audiences[audiences.run_id == run_id]
        have = have.astype(object).where(have.notna(), None)
        assert _sorted_labels(have.audience) == names
        for _, a in have.iterrows():
            mine = run[run.audience.map(lambda x: x == a.audience)]
            assert a.audience_no == numbers.get(a.audience) and a.brand == run.brand.iloc[0]
            assert (pd.Timestamp(a.first_date), pd.Timestamp(a.last_date)) == (min(mine.date), max(mine.date))
        # series: the distinct label tuples in DuckDB's order (each label by bytes, NULL last), numbered from 1
        tuples = sorted({tuple(t) for t in run[labels].itertuples(index=False)},
                        key=lambda t: [(v is None, (v or "").encode()) for v in t])
        number = {t: i + 1 for i, t in enumerate(tuples)}
        assert [number[tuple(t)] for t in run[labels].itertuples(index=False)] == list(run.series_no), run_id
        have = series[series.run_id == run_id].astype(object)
        have = have.where(have.notna(), None)
        assert {(s.series_no, *(s[c] for c in labels)) for _, s in have.iterrows()} == \
            {(n, *t) for t, n in number.items()}


def test_audiences_and_series_are_numbered_as_their_text_sorts(store):
    _, path = store
    assert_numbers_exact(path)
    con = open_store(path)
    try:  # a national run: one audience, NULL, unnumbered
        assert con.execute("SELECT audience, audience_no FROM run_audiences WHERE run_id = ?",
                           [NATIONAL]).fetchall() == [(None, None)]
        assert con.execute("SELECT count(*) FROM run_audiences WHERE run_id = ?", [SEGMENTED]).fetchone()[0] == 2
    finally:
        con.close()


def _odd_run(root: Path, run_id: str) -> None:
    """A run of two audiences with what real files may hold: rows of no kind (one audience's ``pr_mentions``,
    with a channel), media rows of no channel or pillar (``Search_Promo``), missing contributions, and an
    audience whose name sorts differently by bytes than by letters."""
    _write_run(root, run_id, "alpha", "2024-03-05T10:00:00Z", ["Zeta", "Äpfel"], 7)
    file = root / run_id / "contributions.parquet"
    data = pd.read_parquet(file)
    data.loc[(data.variable == "pr_mentions") & (data.audience == "Zeta"), ["kind", "channel"]] = [None, "Social"]
    data.loc[data.variable == "Search_Promo", ["channel", "pillar"]] = None
    data.loc[data.index % 17 == 0, "contribution"] = np.nan
    data.to_parquet(file, index=False)


def test_rows_of_no_kind_or_label_are_answered_as_on_the_base_table(tmp_path, monkeypatch):
    root = tmp_path / "runs"
    run = "2024-03-05T10-00-00Z-ddddddd"
    _odd_run(root, run)
    path = tmp_path / "store.duckdb"
    sync(root, path)
    assert_rollups_exact(path)
    assert_numbers_exact(path)
    reader = StoreReader(path)
    try:
        assert q._rollups(reader, run)
        for call in CALLS:
            for kw in (*FILTERS.values(), dict(audiences=["Zeta"], channels=["Social"]), dict(audiences=["Äpfel"])):
                for group_by in q.GROUPS:
                    fast = CALLS[call](reader, run, group_by, **kw)
                    with monkeypatch.context() as m:
                        _on_base(m)
                        slow = CALLS[call](reader, run, group_by, **kw)
                    _same(fast, slow)
        # over time, as the SQL that labels and orders the rows itself (the way it was computed before)
        for group_by in q.GROUPS:
            for kw in ({}, dict(channels=["Social"]), dict(audiences=["Zeta"])):
                f = q._Filter.of(run, None, **kw)
                where, params = f.where()
                col, fallback = q._group_col(group_by)
                want = reader.query(
                    f"""SELECT date, CASE WHEN kind = 'media' THEN coalesce({col}, {fallback})
                                     ELSE {q._FIXED_GROUP} END AS "group", {q._KIND_GROUP} AS kind_group,
                               sum(contribution) AS contribution
                        FROM contributions WHERE {where} GROUP BY 1, 2, 3
                        ORDER BY date, kind_group <> 'media', kind_group, "group" """, params)
                _same(q.contributions_over_time(reader, run, group_by, **kw), want)
    finally:
        reader.close()


def _upgrade_to(path: Path, version: int) -> None:
    """Apply the migrations up to ``version`` (as that version of Artemis did)."""
    con = connect_writable(path)
    try:
        for v in range(schema_version(con), version):
            con.execute("BEGIN")
            for statement in MIGRATIONS[v]:
                con.execute(statement)
            con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(v + 1)])
            con.execute("COMMIT")
        con.execute("CHECKPOINT")
    finally:
        con.close()


def test_a_version_5_store_answers_before_and_after_its_migration(tmp_path, monkeypatch):
    """A store of version 5 (its audience rollup by kind and channel) answers as the base table does, until a
    sync migrates it; after, with its numbers and split audience rollups, the same."""
    root = tmp_path / "runs"
    for run_id in (NATIONAL, SEGMENTED):
        _write_run(root, run_id, *RUNS[run_id])
    path = tmp_path / "old.duckdb"
    make_v1_store(path, root, {NATIONAL: "alpha", SEGMENTED: "alpha"})
    _upgrade_to(path, 5)
    questions = [(call, group_by, name) for call in CALLS for group_by in q.GROUPS
                 for name in ("none", "dates", "channels")]
    kw = {**FILTERS, "audience": dict(audiences=["New"], channels=["Social", "OOH"])}

    def answers(reader):
        return {(run, *k): CALLS[k[0]](reader, run, k[1], **kw[k[2]]) for run in (NATIONAL, SEGMENTED)
                for k in [*questions, *((c, g, "audience") for c in CALLS for g in ("audience", "channel", "pillar"))]}

    reader = StoreReader(path)
    try:
        assert reader.schema_version == 5 and q._rollups(reader, SEGMENTED)
        assert q._table(reader, q._Filter.of(SEGMENTED, None, channels=["OOH"]), "audience") == q.AUDIENCE
        old = answers(reader)
        with monkeypatch.context() as m:
            _on_base(m)
            base = answers(reader)
    finally:
        reader.close()
    for key in old:
        _same(old[key], base[key])

    init_store(path)  # (what a sync does first)
    assert_rollups_exact(path)
    assert_numbers_exact(path)
    reader = StoreReader(path)
    try:
        assert reader.schema_version == SCHEMA_VERSION
        new = answers(reader)
    finally:
        reader.close()
    for key in old:
        _same(new[key], old[key])
