"""Gold tables on S3 (a moto server over HTTP, reached through AWS_ENDPOINT_URL) as Parquet or Delta Lake,
synced into the store by ``store.sync`` from there; reruns leave the objects alone."""

from __future__ import annotations

import deltalake
import duckdb
import pyarrow.parquet as pq
import pytest

from store.pipeline.outputs import delta_storage_options
from store.pipeline.run import run_pipeline
from store.sync import sync
from tests.store.pipeline.conftest import make_project

GOLD = ("media_weekly", "sales_weekly", "controls_weekly")


def listing(s3, bucket):
    return sorted((o["Key"], o["ETag"]) for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_gold_tables_and_dataset_on_s3(tmp_path, landing_files, s3, bucket, moto_endpoint, monkeypatch, fmt):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    project = make_project(tmp_path / "p", landing_files, output_format=fmt,
                           paths={"landing": "landing", "work": "work", "output": f"s3://{bucket}/mmm"},
                           training_dataset={"path": f"s3://{bucket}/datasets/burgers", "brand": "Artemis Burgers",
                                             "brand_id": "artemis-burgers"})
    local = make_project(tmp_path / "local", landing_files, output_format="parquet")
    run_pipeline(local)
    report = run_pipeline(project)
    assert report.gold_written == list(GOLD) and report.training_dataset == "written"
    keys = [k for k, _ in listing(s3, bucket)]
    assert "datasets/burgers/training.csv" in keys
    body = s3.get_object(Bucket=bucket, Key="datasets/burgers/training.csv")["Body"].read()
    assert body == (local / "dataset" / "training.csv").read_bytes()
    for table in GOLD:
        want = pq.read_table(local / "out" / "gold" / table)
        if fmt == "delta":
            assert any(k.startswith(f"mmm/gold/{table}/_delta_log/") for k in keys)
            got = deltalake.DeltaTable(f"s3://{bucket}/mmm/gold/{table}",
                                       storage_options=delta_storage_options()).to_pyarrow_table()
            assert got.cast(want.schema).equals(want)
        else:
            assert f"mmm/gold/{table}/part-0.parquet" in keys
    before = listing(s3, bucket)
    report = run_pipeline(project, start="bronze")
    assert report.gold_unchanged == list(GOLD) and report.training_dataset == "unchanged"
    assert listing(s3, bucket) == before

    # `artemis sync --from s3://bucket/mmm` loads them into the store, Parquet or Delta
    if True:
        store = tmp_path / "store.duckdb"
        result = sync(f"s3://{bucket}/mmm", store, endpoint_url=moto_endpoint)
        assert sorted(result.gold) == sorted(GOLD)
        con = duckdb.connect(str(store), read_only=True)
        try:
            n, spend = con.execute("SELECT count(*), sum(spend) FROM gold.media_weekly").fetchone()
        finally:
            con.close()
        want = pq.read_table(local / "out" / "gold" / "media_weekly")
        assert n == want.num_rows and spend == sum(want.column("spend").to_pylist())


def test_delta_gold_in_a_folder_syncs_into_the_store(tmp_path, landing_files):
    """As `artemis sync` does it: into an existing store (DuckDB 2 refused to register a Delta table while
    the schema check's result was left unread)."""
    from store.sync import init_store

    project = make_project(tmp_path / "p", landing_files, output_format="delta")
    run_pipeline(project)
    init_store(tmp_path / "store.duckdb")
    result = sync(project / "out", tmp_path / "store.duckdb")
    assert sorted(result.gold) == sorted(GOLD) and not result.skipped
    con = duckdb.connect(str(tmp_path / "store.duckdb"), read_only=True)
    try:
        for table in GOLD:
            n = con.execute(f"SELECT count(*) FROM gold.{table}").fetchone()[0]
            assert n == deltalake.DeltaTable(str(project / "out" / "gold" / table)).to_pyarrow_table().num_rows
    finally:
        con.close()
