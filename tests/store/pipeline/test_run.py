"""The pipeline end to end on DuckDB: landing files -> gold tables and the training dataset, checked
against aggregates computed here straight from the landing files; reruns; new and changed files."""

from __future__ import annotations

from pathlib import Path

import deltalake
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml

from jobs.dataset import load_dataset
from store.pipeline.history import History
from store.pipeline.run import run_pipeline
from tests.store.pipeline.conftest import make_project, snapshot

GOLD = ("media_weekly", "sales_weekly", "controls_weekly")


def week(dates: pd.Series) -> pd.Series:
    d = pd.to_datetime(dates)
    return (d - pd.to_timedelta(d.dt.day_of_week, unit="D")).dt.date


def read_landing(landing: Path, entity: str) -> pd.DataFrame:
    return pd.concat([pd.read_csv(p) for p in sorted((landing / entity).glob("*.csv"))], ignore_index=True)


def read_gold(out: Path, table: str) -> pd.DataFrame:
    folder = out / "gold" / table
    if (folder / "_delta_log").is_dir():
        return deltalake.DeltaTable(str(folder)).to_pyarrow_table().to_pandas()
    return pq.read_table(folder).to_pandas()


def expected_media(landing: Path) -> pd.DataFrame:
    paid = read_landing(landing, "paid_media")
    paid["week"] = week(paid["Date"])
    paid["variable"] = paid["Channel"] + "_" + paid["Message Type"]
    m = (paid.groupby(["week", "variable", "Audience"])[["Spend (USD)", "Impressions"]].sum().reset_index()
         .rename(columns={"Audience": "audience", "Spend (USD)": "spend", "Impressions": "impressions"}))
    owned = read_landing(landing, "owned_media")
    owned["week"] = week(owned["date"])
    o = owned.groupby(["week", "segment"])["sends"].sum().reset_index().rename(
        columns={"segment": "audience", "sends": "impressions"})
    o["variable"], o["spend"] = "app_push_sends", 0.0
    return pd.concat([m, o], ignore_index=True).sort_values(["week", "variable", "audience"]).reset_index(drop=True)


def test_gold_tables_equal_aggregates_of_the_landing_files(tmp_path, landing_files):
    project = make_project(tmp_path / "p", landing_files, output_format="delta")
    report = run_pipeline(project)
    assert (project / "out" / "gold" / "media_weekly" / "_delta_log").is_dir()
    assert [b.status for b in report.batches] == ["ok"] * 4
    assert report.gold_written == list(GOLD) and report.training_dataset == "written"
    landing, out = project / "landing", project / "out"

    media = read_gold(out, "media_weekly").sort_values(["week", "variable", "audience"]).reset_index(drop=True)
    want = expected_media(landing)
    assert len(media) == len(want)
    assert media["week"].tolist() == want["week"].tolist()
    assert media["variable"].tolist() == want["variable"].tolist()
    assert media["audience"].tolist() == want["audience"].tolist()
    assert [float(x) for x in media["spend"]] == want["spend"].round(2).tolist()
    assert media["impressions"].tolist() == want["impressions"].tolist()
    tv = media[media["variable"] == "Linear TV_Brand"]
    assert set(tv["channel"]) == {"Linear TV"} and set(tv["pillar"]) == {"Awareness"} and set(tv["channel_group"]) == {"TV"}
    assert set(media.loc[media["variable"] == "app_push_sends", "kind"]) == {"owned"}

    sales = read_landing(landing, "sales")
    sales["week"] = week(sales["day"])
    want_sales = sales.groupby(["week", "region"])["transactions"].sum().reset_index()
    got_sales = read_gold(out, "sales_weekly").sort_values(["week", "region"]).reset_index(drop=True)
    assert got_sales[["week", "region", "transactions"]].values.tolist() == want_sales.values.tolist()
    assert set(got_sales["days"]) == {7}

    weather = read_landing(landing, "weather")
    weather["week"] = week(weather["obs_date"])
    temp = weather.groupby("week")["temp_f"].mean()
    controls = read_gold(out, "controls_weekly")
    got_temp = controls[controls["variable"] == "avg_temperature_f"].set_index("week")["value"]
    np.testing.assert_allclose(got_temp.loc[temp.index].to_numpy(), temp.to_numpy(), rtol=1e-12)


def test_training_dataset_loads_and_its_weekly_totals_match_the_landing_data(project):
    run_pipeline(project)
    ds = load_dataset(project / "dataset")
    landing = project / "landing"
    assert ds.meta["brand_id"] == "artemis-burgers" and ds.audiences is None
    assert len(ds.media) == 12 and "app_push_sends" in ds.controls and "avg_temperature_f" in ds.controls
    assert ds.kinds["app_push_sends"] == "owned" and ds.signal["CTV_Brand"] == "impressions"
    training = ds.training
    training["week"] = pd.to_datetime(training["date"]).dt.date

    sales = read_landing(landing, "sales")
    sales["week"] = week(sales["day"])
    want = sales.groupby("week")["transactions"].sum()
    assert training.set_index("week")["total_transactions"].tolist() == want.loc[training["week"]].tolist()

    media = expected_media(landing).groupby(["variable", "week"])[["spend", "impressions"]].sum()
    for variable in ("Linear TV_Brand", "Display_Product"):
        got = training.set_index("week")[f"{variable}_spend"]
        np.testing.assert_allclose(got.to_numpy(), media.loc[variable]["spend"].loc[got.index].to_numpy(), atol=0.005)
    sends = training.set_index("week")["app_push_sends"]
    assert sends.tolist() == media.loc["app_push_sends"]["impressions"].loc[sends.index].tolist()


@pytest.mark.parametrize("fmt", ["parquet", "delta"])
def test_a_rerun_changes_nothing(tmp_path, landing_files, fmt):
    project = make_project(tmp_path / "p", landing_files, output_format=fmt)
    run_pipeline(project)
    before = snapshot(project / "work", project / "out", project / "dataset")
    report = run_pipeline(project)
    assert report.batches == [] and report.silver_rows is None and not report.gold_written
    assert snapshot(project / "work", project / "out", project / "dataset") == before
    # rebuilding silver and gold from bronze gives the same tables: the outputs are not rewritten
    out_before = snapshot(project / "out", project / "dataset")
    report = run_pipeline(project, start="bronze")
    assert report.silver_rows is not None and report.gold_unchanged == list(GOLD)
    assert report.training_dataset == "unchanged"
    assert snapshot(project / "out", project / "dataset") == out_before
    assert len(History(project / "work").batches()) == 4


def test_parquet_output_and_layer_by_layer_runs(tmp_path, landing_files):
    project = make_project(tmp_path / "p", landing_files, output_format="parquet")
    report = run_pipeline(project, stop="bronze")
    assert len(report.batches) == 4 and report.silver_rows is None
    assert (project / "work" / "bronze" / "paid_media" / "year=2023" / "month=1").is_dir()
    assert not (project / "work" / "silver").exists() and not (project / "out").exists()
    report = run_pipeline(project, stop="silver")
    assert report.batches == [] and report.silver_rows["fact_media"] > 0 and not (project / "out").exists()
    report = run_pipeline(project, start="silver")
    assert report.gold_written == list(GOLD)
    assert sorted(p.name for p in (project / "out" / "gold" / "media_weekly").iterdir()) == ["part-0.parquet"]
    media = read_gold(project / "out", "media_weekly").sort_values(["week", "variable", "audience"])
    assert [float(x) for x in media["spend"]] == expected_media(project / "landing")["spend"].round(2).tolist()


def test_a_new_file_is_one_new_batch_and_a_changed_file_replaces_its_rows(project):
    run_pipeline(project)
    paid = project / "landing" / "paid_media"
    first = sorted(paid.glob("*.csv"))[0]
    extra = pd.read_csv(first).head(36)  # (day one: 36 distinct keys)
    extra["Date"] = "2023-02-13"  # (week 7: after the sales, so the training dataset keeps its 6 weeks)
    extra.to_csv(paid / "paid_media_late.csv", index=False)
    report = run_pipeline(project)
    assert [(b.entity, b.files, b.status) for b in report.batches] == [("paid_media", ["paid_media/paid_media_late.csv"], "ok")]
    media = read_gold(project / "out", "media_weekly")
    assert media["source_rows"].sum() == len(read_landing(project / "landing", "paid_media")) + 3 * 42
    assert run_pipeline(project).batches == []

    # the same file again with other numbers: its rows are replaced in bronze, not appended
    extra["Spend (USD)"] = 1.0
    extra.to_csv(paid / "paid_media_late.csv", index=False)
    report = run_pipeline(project)
    assert len(report.batches) == 1 and report.batches[0].status == "ok"
    media = read_gold(project / "out", "media_weekly")
    late = media[media["week"] == pd.Timestamp("2023-02-13").date()]
    assert late["source_rows"].sum() == 36 and float(late["spend"].sum()) == 36.0
    assert [b["status"] for b in History(project / "work").batches()].count("ok") == 6


def test_history_records_rows_per_layer(project):
    report = run_pipeline(project)
    rows = {b["entity"]: b for b in History(project / "work").batches()}
    paid = rows["paid_media"]
    assert paid["status"] == "ok" and paid["run_id"] == report.run_id and paid["engine"] == "duckdb"
    assert paid["rows_landing"] == paid["rows_bronze"] == len(read_landing(project / "landing", "paid_media"))
    assert paid["rows_silver"] == report.silver_rows["fact_media"]
    assert paid["rows_gold"] == len(read_gold(project / "out", "media_weekly"))
    assert paid["started_at"] <= paid["finished_at"]
    assert len(yaml.safe_load(paid["files"])) == 2  # (6 weeks of days span two months: two files)
