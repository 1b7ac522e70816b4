"""store.sync against a real moto S3 server and local folders: full, incremental, deletion, crash safety,
corrupt runs, S3 faults, readers during a sync."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from store.reader import StoreReader
from store.sources import SourceError
from store.sync import TMP_SUFFIX, sync

from .conftest import (REPO, TABLE_FILE, delete_prefix, file_identity, make_run_id, open_store, rewrite_contributions,
                       snapshot, upload_folder, write_run)

PREFIX = "runs"


def s3_uri(bucket: str, prefix: str = PREFIX) -> str:
    return f"s3://{bucket}/{prefix}"


def object_keys(s3, bucket: str, prefix: str = PREFIX) -> dict[str, int]:
    return {o["Key"]: o["Size"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", [])}


def leftovers(store: Path) -> list[str]:
    return sorted(p.name for p in store.parent.glob(f"{store.name}.*{TMP_SUFFIX}*"))


def gold_parquet(folder: Path, parts: int = 2, rows: int = 60, seed: int = 0) -> pa.Table:
    """Weekly media gold table split over ``parts`` Parquet files (plus a non-Parquet marker file)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tables = []
    for i in range(parts):
        t = pa.table({
            "week": pa.array([date(2024, 1, 1) + timedelta(weeks=i * rows + k) for k in range(rows)], pa.date32()),
            "channel": [f"ch{k % 5}" for k in range(rows)],
            "spend": rng.integers(0, 10_000, rows).astype("float64"),
        })
        pq.write_table(t, folder / f"part-{i:05d}.parquet")
        tables.append(t)
    (folder / "_SUCCESS").write_text("")
    return pa.concat_tables(tables)


def gold_delta(folder: Path) -> pa.Table:
    """A Delta table with two versions (append, then overwrite): only the latest may land."""
    import deltalake

    first = pa.table({"brand": ["acme"] * 50, "week": list(range(50)), "spend": [1.0] * 50})
    latest = pa.table({"brand": ["acme", "globex"] * 40, "week": list(range(80)), "spend": [float(i) for i in range(80)]})
    deltalake.write_deltalake(str(folder), first)
    deltalake.write_deltalake(str(folder), latest, mode="overwrite")
    assert deltalake.DeltaTable(str(folder)).version() == 1
    return latest


def expected_tables(runs) -> dict:
    """The per-run contents a store must have for these run folders (read from the files themselves)."""
    out = {"runs": {}, "contributions": {}}
    for r in runs:
        manifest = json.loads((r.path / "manifest.json").read_text())
        out["runs"][r.run_id] = manifest["brand"]
        c = pq.read_table(r.path / "contributions.parquet")
        out["contributions"][r.run_id] = (manifest["brand"], c.num_rows, float(np.sum(c.column("contribution"))))
        for table in ("summaries", "response_draws"):
            out.setdefault(table, {})[r.run_id] = pq.read_metadata(r.path / TABLE_FILE[table]).num_rows
    return out


def assert_store_has(store: Path, runs) -> None:
    """The store holds exactly these runs, with each table's rows equal to the run's Parquet files."""
    want = expected_tables(runs)
    snap = snapshot(store)
    assert {r[0]: r[1] for r in snap["runs"]} == want["runs"]
    assert {r[0]: (r[1], r[2], r[3]) for r in snap["contributions"]} == want["contributions"]
    for table in ("summaries", "response_draws"):
        assert {r[0]: r[1] for r in snap[table]} == want[table]


# ---------------------------------------------------------------------------------- 1. full sync


def test_full_sync_from_s3_lands_runs_and_gold_tables(tmp_path, s3, bucket, s3_runs, moto_endpoint):
    runs = s3_runs(4)
    media = gold_parquet(tmp_path / "gold-parquet")
    upload_folder(s3, bucket, f"{PREFIX}/gold", tmp_path / "gold-parquet", under="media_weekly")
    delta = gold_delta(tmp_path / "gold-delta")
    upload_folder(s3, bucket, f"{PREFIX}/gold", tmp_path / "gold-delta", under="spend_delta")
    sizes = object_keys(s3, bucket)  # everything a full sync must transfer
    partial = write_run(tmp_path / "partial", make_run_id(90), seed=90)
    upload_folder(s3, bucket, PREFIX, partial.path, under=f".partial-{partial.run_id}")
    store = tmp_path / "store" / "artemis.duckdb"
    said = []

    report = sync(s3_uri(bucket), store, endpoint_url=moto_endpoint, say=said.append)

    assert report.published and said == [] and report.skipped == {}
    assert report.added == sorted(r.run_id for r in runs)
    assert report.updated == [] and report.removed == []
    assert report.gold == ["media_weekly", "spend_delta"]
    assert report.bytes == sum(sizes.values())
    assert report.rows == sum(sum(r.rows.values()) for r in runs) + media.num_rows + delta.num_rows
    assert_store_has(store, runs)  # (the .partial- run is not there)

    con = open_store(store)
    try:
        for r in runs:
            metrics = json.loads((r.path / "metrics.json").read_text())
            row = con.execute("SELECT brand, status, train_mape, train_r2, max_rhat, divergences, source, config_yaml, "
                              "created_at FROM runs WHERE run_id = ?", [r.run_id]).fetchone()
            assert row[:7] == (r.brand, "succeeded", metrics["train"]["mape"], metrics["train"]["r2"],
                               metrics["max_rhat"], metrics["divergences"], s3_uri(bucket))
            assert row[7] == (r.path / "config.yaml").read_text()
            assert row[8].strftime("%Y-%m-%dT%H-%M-%SZ") == r.run_id[:20]
        assert con.execute("SELECT count(*), sum(spend), count(DISTINCT channel) FROM gold.media_weekly").fetchone() \
            == (media.num_rows, float(np.sum(media.column("spend"))), 5)
        assert con.execute("SELECT count(*), sum(spend), count(DISTINCT brand) FROM gold.spend_delta").fetchone() \
            == (80, float(sum(range(80))), 2)
        assert con.execute("SELECT name, format, rows FROM gold_tables ORDER BY name").fetchall() \
            == [("media_weekly", "parquet", media.num_rows), ("spend_delta", "delta", 80)]
        assert con.execute("SELECT count(*) FROM sync_state WHERE source = ? AND kind = 'run'",
                           [s3_uri(bucket)]).fetchone()[0] == len(runs)
    finally:
        con.close()
    assert leftovers(store) == []


# --------------------------------------------------------------------------------- 2. incremental


def test_incremental_sync_transfers_only_the_changed_run(tmp_path, s3, bucket, s3_runs, s3_proxy):
    runs = s3_runs(3)
    store = tmp_path / "artemis.duckdb"
    proxy = s3_proxy()
    first = sync(s3_uri(bucket), store, endpoint_url=proxy.url)
    all_keys = object_keys(s3, bucket)
    got = [unquote(p.split("?")[0]) for p in proxy.object_gets()]
    assert sorted(got) == sorted(f"/{bucket}/{k}" for k in all_keys)  # each object fetched once
    assert first.added == [r.run_id for r in runs]
    before = snapshot(store)

    target = runs[1]
    rewrite_contributions(target, seed=4242, weeks=16)
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/{target.run_id}/contributions.parquet",
                  Body=(target.path / "contributions.parquet").read_bytes())
    proxy.reset()
    second = sync(s3_uri(bucket), store, endpoint_url=proxy.url)

    assert second.updated == [target.run_id]
    assert second.added == [] and second.removed == [] and second.skipped == {} and second.published
    got = [unquote(p.split("?")[0]) for p in proxy.object_gets()]
    assert sorted(got) == sorted(f"/{bucket}/{PREFIX}/{target.run_id}/{name}" for name in target.files)
    assert all(f"/{target.run_id}/" in p for _, p in proxy.object_requests())  # no HEAD/GET of other runs
    assert second.bytes == target.size
    assert second.rows == sum(target.rows.values())
    after = snapshot(store)
    assert_store_has(store, runs)
    changed = [r for r in after["contributions"] if r[0] == target.run_id]
    assert changed == [(target.run_id, target.brand, target.rows["contributions"], target.contribution_sum)]
    assert [r for r in after["contributions"] if r[0] != target.run_id] == \
        [r for r in before["contributions"] if r[0] != target.run_id]
    assert after["summaries"] == before["summaries"] and after["response_draws"] == before["response_draws"]

    ident = file_identity(store)
    proxy.reset()
    third = sync(s3_uri(bucket), store, endpoint_url=proxy.url)
    assert proxy.object_requests() == []  # no HEAD/GET of any object: only the listing
    assert any(m == "GET" for m, _, _ in proxy.log)
    assert (third.added, third.updated, third.removed, third.skipped, third.bytes, third.published) == \
        ([], [], [], {}, 0, False)
    assert file_identity(store) == ident
    assert snapshot(store) == after


# ------------------------------------------------------------------------------------ 3. deletion


def test_deleted_run_and_gold_table_are_removed_everywhere(tmp_path, s3, bucket, s3_runs, moto_endpoint):
    runs = s3_runs(3)
    gold_parquet(tmp_path / "gold")
    upload_folder(s3, bucket, f"{PREFIX}/gold", tmp_path / "gold", under="media_weekly")
    store = tmp_path / "artemis.duckdb"
    sync(s3_uri(bucket), store, endpoint_url=moto_endpoint)
    victim = runs[0]
    assert victim.run_id in {r[0] for r in snapshot(store)["runs"]}

    assert delete_prefix(s3, bucket, f"{PREFIX}/{victim.run_id}/") == len(victim.files)
    delete_prefix(s3, bucket, f"{PREFIX}/gold/media_weekly/")
    report = sync(s3_uri(bucket), store, endpoint_url=moto_endpoint)

    assert report.removed == [victim.run_id] and report.added == [] and report.updated == []
    assert report.published
    assert_store_has(store, runs[1:])
    con = open_store(store)
    try:
        for table in ("runs", "contributions", "summaries", "response_draws"):
            assert con.execute(f"SELECT count(*) FROM {table} WHERE run_id = ?", [victim.run_id]).fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM sync_state WHERE item = ?", [victim.run_id]).fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM gold_tables").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM information_schema.tables WHERE table_catalog = 'store' "
                           "AND table_schema = 'gold'").fetchone()[0] == 0
    finally:
        con.close()


# ------------------------------------------------------------------------- 4. killed mid-way

CHILD = """
import sys
from store.sync import sync
sync(sys.argv[1], sys.argv[2], endpoint_url=sys.argv[3],
     progress=lambda done, total: print(done, total, flush=True))
print("DONE", flush=True)
"""


def test_sync_killed_midway_leaves_the_store_as_it_was(tmp_path, s3, bucket, s3_runs, moto_endpoint, subprocess_env):
    old = s3_runs(4)
    gold_parquet(tmp_path / "gold-a", seed=1)
    upload_folder(s3, bucket, f"{PREFIX}/gold", tmp_path / "gold-a", under="media_weekly")
    store = tmp_path / "store" / "artemis.duckdb"
    sync(s3_uri(bucket), store, endpoint_url=moto_endpoint)
    before, ident = snapshot(store), file_identity(store)

    # Pending: 6 new runs, one changed, one deleted, a replaced gold table.
    new = s3_runs(6, start=10)
    rewrite_contributions(old[1], seed=777)
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/{old[1].run_id}/contributions.parquet",
                  Body=(old[1].path / "contributions.parquet").read_bytes())
    delete_prefix(s3, bucket, f"{PREFIX}/{old[0].run_id}/")
    delete_prefix(s3, bucket, f"{PREFIX}/gold/")
    gold_parquet(tmp_path / "gold-b", parts=3, seed=2)
    upload_folder(s3, bucket, f"{PREFIX}/gold", tmp_path / "gold-b", under="media_weekly")
    total = 6 + 1 + 1  # runs to fetch + the gold table

    def killed_sync(kind: str, at: int, delay: float) -> None:
        """Start a sync in a child and SIGKILL it ``delay`` s after the point: its working copy appears
        (kind "tmp") or ``at`` items are done (kind "progress")."""
        err = open(tmp_path / "child.err", "w")
        stale = set(store.parent.glob(f"{store.name}.*{TMP_SUFFIX}"))  # left by earlier kills
        child = subprocess.Popen([sys.executable, "-c", CHILD, s3_uri(bucket), str(store), moto_endpoint],
                                 cwd=REPO, env=subprocess_env, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            if kind == "tmp":
                deadline = time.monotonic() + 60
                while not set(store.parent.glob(f"{store.name}.*{TMP_SUFFIX}")) - stale:
                    assert child.poll() is None, (tmp_path / "child.err").read_text()
                    assert time.monotonic() < deadline
                    time.sleep(0.002)
            else:
                while True:
                    line = child.stdout.readline()
                    assert line, f"child ended early: {(tmp_path / 'child.err').read_text()}"
                    if line.startswith("DONE") or int(line.split()[0]) >= at:
                        break
            time.sleep(delay)
            child.kill()
        finally:
            child.wait()
            err.close()

    rng = random.Random(20261123)
    points = [("tmp", 0, 0.0),  # while it copies the store
              ("progress", total // 2, 0.0),  # between two items
              ("progress", rng.randint(1, total - 2), rng.uniform(0, 0.01)),  # somewhere inside an item
              ("progress", total, 0.0)]  # removals, checkpoint or publish
    published = False
    for kind, at, delay in points:
        killed_sync(kind, at, delay)
        assert store.exists()
        now = snapshot(store)  # readable
        if now != before:
            # Only a kill after the last item may come after the publish (then it is the finished sync).
            assert (kind, at) == ("progress", total), f"kill at {kind} {at} changed the store"
            published = True
            before, ident = now, file_identity(store)
        else:
            assert file_identity(store) == ident, f"kill at {kind} {at} touched the store file"
    assert leftovers(store) or published  # the killed syncs left their working copies behind

    report = sync(s3_uri(bucket), store, endpoint_url=moto_endpoint)
    clean = tmp_path / "clean" / "artemis.duckdb"
    sync(s3_uri(bucket), clean, endpoint_url=moto_endpoint)
    assert snapshot(store) == snapshot(clean)
    if not published:
        assert sorted(report.added) == sorted(r.run_id for r in new)
        assert report.updated == [old[1].run_id] and report.removed == [old[0].run_id]
    assert_store_has(store, old[1:] + new)
    assert leftovers(store) == []
    assert sorted(p.name for p in store.parent.iterdir()) == ["artemis.duckdb", "artemis.duckdb.lock"]
    assert list(Path(subprocess_env["TMPDIR"]).iterdir()) == []


# ---------------------------------------------------------------------------------- 5. corrupt runs


def test_corrupt_runs_are_skipped_with_a_reason_and_good_runs_land(tmp_path, s3, bucket, make_runs, moto_endpoint):
    good_a, bad_json, truncated, no_column, incomplete, wrong_type, good_b = make_runs(7)
    (bad_json.path / "manifest.json").write_text('{"run_id": "' + bad_json.run_id + '", "brand": ')
    data = (truncated.path / "response.parquet").read_bytes()
    (truncated.path / "response.parquet").write_bytes(data[: len(data) // 2])
    pq.write_table(pq.read_table(no_column.path / "summary.parquet").drop_columns(["spend"]),
                   no_column.path / "summary.parquet")
    (incomplete.path / "metrics.json").unlink()
    (incomplete.path / "summary.parquet").unlink()
    t = pq.read_table(wrong_type.path / "contributions.parquet")
    t = t.set_column(0, "date", pa.array(["week one"] * t.num_rows))
    pq.write_table(t, wrong_type.path / "contributions.parquet")
    for r in (good_a, bad_json, truncated, no_column, incomplete, wrong_type, good_b):
        upload_folder(s3, bucket, PREFIX, r.path)
    store = tmp_path / "artemis.duckdb"
    said: list[str] = []

    report = sync(s3_uri(bucket), store, endpoint_url=moto_endpoint, say=said.append)

    expect = {
        bad_json.run_id: ["manifest.json", "not valid JSON"],
        truncated.run_id: ["response.parquet", "not readable Parquet"],
        no_column.run_id: ["summary.parquet", "lacks column", "spend"],
        incomplete.run_id: ["missing", "metrics.json", "summary.parquet"],
        wrong_type.run_id: ["contributions.parquet", "could not be loaded"],
    }
    assert sorted(report.skipped) == sorted(expect)
    for run_id, words in expect.items():
        assert all(w in report.skipped[run_id] for w in words), report.skipped[run_id]
        lines = [m for m in said if f"s3://{bucket}/{PREFIX}/{run_id}" in m]
        assert len(lines) == 1 and all(w in lines[0] for w in words), said
    assert len(said) == len(expect)
    assert report.added == sorted([good_a.run_id, good_b.run_id])
    assert_store_has(store, [good_a, good_b])  # nothing of the bad runs in any table
    con = open_store(store)
    try:
        assert sorted(r[0] for r in con.execute("SELECT item FROM sync_state WHERE kind = 'skipped'").fetchall()) \
            == sorted(expect)
    finally:
        con.close()

    # Unchanged bad runs are not fetched again; a repaired one lands on the next sync.
    ident = file_identity(store)
    again = sync(s3_uri(bucket), store, endpoint_url=moto_endpoint, say=said.append)
    assert (again.skipped, again.added, again.published) == ({}, [], False) and file_identity(store) == ident
    fixed = write_run(tmp_path / "fixed", bad_json.run_id, brand=bad_json.brand, seed=5)
    (bad_json.path / "manifest.json").write_bytes((fixed.path / "manifest.json").read_bytes())
    s3.put_object(Bucket=bucket, Key=f"{PREFIX}/{bad_json.run_id}/manifest.json",
                  Body=(bad_json.path / "manifest.json").read_bytes())
    repaired = sync(s3_uri(bucket), store, endpoint_url=moto_endpoint)
    assert repaired.added == [bad_json.run_id] and repaired.skipped == {}
    assert_store_has(store, [good_a, bad_json, good_b])


def test_corrupt_gold_table_is_skipped_once_not_refetched_every_sync(tmp_path, s3, bucket, s3_runs, s3_proxy):
    runs = s3_runs(1)
    gold_parquet(tmp_path / "gold", parts=2)
    (tmp_path / "gold" / "part-00001.parquet").write_bytes(b"PAR1 this is not parquet PAR1")
    upload_folder(s3, bucket, f"{PREFIX}/gold", tmp_path / "gold", under="media_weekly")
    store = tmp_path / "artemis.duckdb"
    proxy = s3_proxy()
    said: list[str] = []
    first = sync(s3_uri(bucket), store, endpoint_url=proxy.url, say=said.append)
    assert list(first.skipped) == ["gold/media_weekly"] and "not readable Parquet" in first.skipped["gold/media_weekly"]
    assert len(said) == 1 and f"s3://{bucket}/{PREFIX}/gold/media_weekly" in said[0]
    assert first.added == [runs[0].run_id] and first.gold == []
    assert snapshot(store)["gold"] == {}

    ident = file_identity(store)
    proxy.reset()
    again = sync(s3_uri(bucket), store, endpoint_url=proxy.url)
    assert proxy.object_requests() == []
    assert (again.skipped, again.published) == ({}, False) and file_identity(store) == ident

    gold_parquet(tmp_path / "gold", parts=2)  # repaired: lands on the next sync
    upload_folder(s3, bucket, f"{PREFIX}/gold", tmp_path / "gold", under="media_weekly")
    repaired = sync(s3_uri(bucket), store, endpoint_url=proxy.url)
    assert repaired.gold == ["media_weekly"] and snapshot(store)["gold"] == {"media_weekly": 120}
    delete_prefix(s3, bucket, f"{PREFIX}/gold/")
    assert sync(s3_uri(bucket), store, endpoint_url=proxy.url).published
    assert snapshot(store)["gold"] == {}


# ------------------------------------------------------------------------------------- 6. S3 faults


@pytest.mark.parametrize("status", [500, 503])
def test_transient_s3_errors_are_retried(tmp_path, s3, bucket, s3_runs, s3_proxy, status):
    runs = s3_runs(2)
    seen: set[str] = set()

    def first_get_of_each_object(method, path):  # and, with fail_first, the first three listings
        key = path.split("?")[0]
        if method == "GET" and "/" in key.strip("/") and key not in seen:
            seen.add(key)
            return True
        return False

    proxy = s3_proxy(fail_first=3, fail_status=status, fail_when=first_get_of_each_object)
    store = tmp_path / "artemis.duckdb"
    report = sync(s3_uri(bucket), store, endpoint_url=proxy.url)

    assert report.added == [r.run_id for r in runs] and report.skipped == {}
    assert_store_has(store, runs)
    failed = [p for _, p, code in proxy.log if code == status]
    assert len(failed) == 3 + len(seen) and len(seen) == sum(len(r.files) for r in runs)
    assert len(proxy.log) > len(failed)  # each failed request was retried


@pytest.fixture
def synced_store(tmp_path, s3, bucket, s3_runs, moto_endpoint):
    """A store synced from the bucket, then one more run added at the source (a sync has work to do)."""
    s3_runs(2)
    store = tmp_path / "artemis.duckdb"
    sync(s3_uri(bucket), store, endpoint_url=moto_endpoint)
    s3_runs(1, start=5)
    return store


def assert_untouched(store: Path, before: dict, ident) -> None:
    assert file_identity(store) == ident
    assert snapshot(store) == before
    assert leftovers(store) == []


def test_s3_always_failing_raises_source_error_and_keeps_the_store(synced_store, bucket, s3_proxy):
    before, ident = snapshot(synced_store), file_identity(synced_store)
    proxy = s3_proxy(fail_always=True)
    with pytest.raises(SourceError) as err:
        sync(s3_uri(bucket), synced_store, endpoint_url=proxy.url, s3_options={"max_attempts": 2})
    assert s3_uri(bucket) in str(err.value) and "InternalError" in str(err.value)
    assert len(proxy.log) == 2  # max_attempts = attempts in all, first try included
    assert_untouched(synced_store, before, ident)


def test_s3_timeouts_raise_source_error_and_keep_the_store(synced_store, bucket, s3_proxy):
    before, ident = snapshot(synced_store), file_identity(synced_store)
    proxy = s3_proxy(delay=5.0)
    t0 = time.monotonic()
    with pytest.raises(SourceError) as err:
        sync(s3_uri(bucket), synced_store, endpoint_url=proxy.url,
             s3_options={"max_attempts": 2, "connect_timeout": 1, "read_timeout": 0.3})
    assert time.monotonic() - t0 < 4.5
    assert s3_uri(bucket) in str(err.value) and "timeout" in str(err.value).lower()
    assert len(proxy.log) == 2
    assert_untouched(synced_store, before, ident)


def test_s3_download_failing_midway_raises_source_error_and_keeps_the_store(synced_store, bucket, s3_proxy):
    before, ident = snapshot(synced_store), file_identity(synced_store)
    proxy = s3_proxy(fail_when=lambda method, path: method in ("GET", "HEAD") and "/" in path.split("?")[0].strip("/"))
    with pytest.raises(SourceError) as err:
        sync(s3_uri(bucket), synced_store, endpoint_url=proxy.url, s3_options={"max_attempts": 2})
    assert s3_uri(bucket) in str(err.value) and "download of" in str(err.value)
    assert proxy.object_requests()  # it got past the listing
    assert_untouched(synced_store, before, ident)


# ------------------------------------------------------------------------------- 7. readers during sync

ANSWER = ("SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM contributions), "
          "(SELECT sum(contribution) FROM contributions)")


def expected_answer(root: Path) -> tuple:
    runs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name != "gold"]
    tables = [pq.read_table(p / "contributions.parquet", columns=["contribution"]) for p in runs]
    return (len(runs), sum(t.num_rows for t in tables),
            float(sum(np.sum(t.column("contribution")) for t in tables)) if tables else None)


def fresh_answer(store: Path) -> tuple:
    con = open_store(store)
    try:
        return con.execute(ANSWER).fetchone()
    finally:
        con.close()


def test_readers_see_the_old_or_the_new_store_never_half(tmp_path, make_runs):
    root = tmp_path / "runs"
    runs = make_runs(4, root=root)
    store = tmp_path / "artemis.duckdb"
    sync(root, store)
    states = [expected_answer(root)]
    assert fresh_answer(store) == states[0]

    reader = StoreReader(store)
    stop = threading.Event()
    answers: dict[str, list] = {"reader": [], "reader2": [], "fresh": []}
    errors: list[BaseException] = []

    def loop(name, ask):
        while not stop.is_set():
            try:
                answers[name].append(tuple(ask()))
            except BaseException as e:  # noqa: BLE001 - any failure is the finding
                errors.append(e)
                return

    # Two threads share one StoreReader (as the app's sessions do); one opens the file afresh each time.
    threads = [threading.Thread(target=loop, args=(name, ask), daemon=True) for name, ask in (
        ("reader", lambda: reader.execute(ANSWER)[0]), ("reader2", lambda: reader.query(ANSWER).iloc[0].tolist()),
        ("fresh", lambda: fresh_answer(store)))]
    for t in threads:
        t.start()

    def settle():  # let both readers query the current state a few times
        counts = {k: len(v) for k, v in answers.items()}
        deadline = time.monotonic() + 10
        while any(len(answers[k]) < counts[k] + 3 for k in counts) and not errors and time.monotonic() < deadline:
            time.sleep(0.005)

    added = make_runs(2, start=10, root=root)
    steps = [
        lambda: None,  # (added above)
        lambda: rewrite_contributions(runs[2], seed=555),
        lambda: shutil.rmtree(added[0].path),  # a run an earlier sync of this process added
        lambda: (make_runs(1, start=20, root=root), shutil.rmtree(runs[0].path)),
    ]
    try:
        for step in steps:
            settle()
            step()
            report = sync(root, store)
            assert report.published
            states.append(expected_answer(root))
            assert fresh_answer(store) == states[-1]
        settle()
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    reader.close()

    assert errors == []
    assert len(set(states)) == len(states)
    for name, seen in answers.items():
        assert seen, name
        index = [states.index(a) if a in states else -1 for a in seen]
        assert -1 not in index, f"{name} saw a state that is neither before nor after a sync: " \
                                f"{[a for a in seen if a not in states][:3]}"
        assert index == sorted(index), f"{name} went back to an older store"
    # A fresh connection per query sees every published store.
    assert sorted(set(states.index(a) for a in answers["fresh"])) == list(range(len(states)))


def test_store_reader_sees_the_store_a_sync_published(tmp_path, make_runs):
    root = tmp_path / "runs"
    make_runs(2, root=root)
    store = tmp_path / "artemis.duckdb"
    sync(root, store)
    reader = StoreReader(store)
    assert reader.execute("SELECT count(*) FROM runs") == [(2,)]
    make_runs(1, start=5, root=root)
    sync(root, store)
    try:
        assert reader.execute("SELECT count(*) FROM runs") == [(3,)]
    finally:
        reader.close()


def test_sync_in_a_process_holding_a_reader_removes_what_it_added(tmp_path, make_runs):
    """Sync state is read from the current file, not from a DuckDB instance cached by a reader."""
    root = tmp_path / "runs"
    make_runs(2, root=root)
    store = tmp_path / "artemis.duckdb"
    sync(root, store)
    reader = StoreReader(store)
    reader.execute("SELECT count(*) FROM runs")  # holds the first store file open
    extra = make_runs(1, start=5, root=root)[0]
    assert sync(root, store).added == [extra.run_id]
    shutil.rmtree(extra.path)
    report = sync(root, store)
    reader.close()
    assert report.removed == [extra.run_id] and report.added == []
    assert fresh_answer(store) == expected_answer(root)


# ------------------------------------------------------------------------------------ 8. local folder


def test_local_folder_full_and_noop_sync(tmp_path, make_runs):
    root = tmp_path / "runs"
    runs = make_runs(3, root=root)
    media = gold_parquet(root / "gold" / "media_weekly")
    partial = write_run(root, make_run_id(40), seed=40)
    partial.path.rename(root / f".partial-{partial.run_id}")
    store = tmp_path / "store" / "artemis.duckdb"

    report = sync(root, store)
    assert report.added == [r.run_id for r in runs] and report.skipped == {} and report.gold == ["media_weekly"]
    assert report.bytes == sum(r.size for r in runs) + sum(
        p.stat().st_size for p in (root / "gold" / "media_weekly").iterdir())
    assert_store_has(store, runs)
    snap = snapshot(store)
    assert snap["gold"] == {"media_weekly": media.num_rows}
    assert {r[0] for r in snap["sync_state"]} == {str(root.resolve())}

    ident = file_identity(store)
    noop = sync(root, store)
    assert (noop.added, noop.updated, noop.removed, noop.skipped, noop.gold, noop.bytes, noop.published) == \
        ([], [], [], {}, [], 0, False)
    assert file_identity(store) == ident and snapshot(store) == snap

    rewrite_contributions(runs[0], seed=99)
    changed = sync(root, store)
    assert changed.updated == [runs[0].run_id] and changed.added == [] and changed.gold == []
    assert changed.bytes == runs[0].size
    assert_store_has(store, runs)
    assert leftovers(store) == []
