"""The Spark engine (PySpark, local mode) gives the same gold tables, training dataset and quality verdicts
as DuckDB on the same input."""

from __future__ import annotations

import json

import deltalake

from store.pipeline.run import run_pipeline
from tests.store.pipeline.conftest import make_project
from tests.store.pipeline.test_quality import bad_paid_media

GOLD = ("media_weekly", "sales_weekly", "controls_weekly")


def test_duckdb_and_spark_give_identical_gold_tables(tmp_path, landing_files, spark):
    projects = {name: make_project(tmp_path / name, landing_files, engine=name, output_format="delta")
                for name in ("duckdb", "spark")}
    for name, project in projects.items():
        bad_paid_media(project)  # one bad batch each: the engines must agree on that too
        report = run_pipeline(project)
        assert report.engine == name
        assert sorted((b.entity, b.status) for b in report.batches) == [
            ("owned_media", "ok"), ("paid_media", "quarantined"), ("sales", "ok"), ("weather", "ok")]
        assert report.gold_written == list(GOLD)
    for table in GOLD:
        d, s = (deltalake.DeltaTable(str(p / "out" / "gold" / table)).to_pyarrow_table() for p in projects.values())
        assert d.num_rows > 0
        assert d.schema.equals(s.schema) and d.equals(s), table
    for name in ("training.csv", "taxonomy.csv", "dataset.yaml"):
        d, s = ((p / "dataset" / name).read_bytes() for p in projects.values())
        assert d.replace(str(projects["duckdb"]).encode(), b"") == s.replace(str(projects["spark"]).encode(), b"")

    reports = []
    for project in projects.values():
        folder = next((project / "work" / "quarantine").iterdir())
        reports.append(json.loads((folder / "report.json").read_text()))
    assert reports[0]["failures"] == reports[1]["failures"]
    assert reports[0]["batch_id"] == reports[1]["batch_id"]
