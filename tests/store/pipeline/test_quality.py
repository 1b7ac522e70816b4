"""Data quality: a failing batch is quarantined with a report naming rule, column and rows, and nothing
downstream (bronze, silver, gold, training dataset) changes."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from store.pipeline.history import History
from store.pipeline.run import run_pipeline
from store.pipeline.training_dataset import TrainingDatasetError
from tests.store.pipeline.conftest import make_project, snapshot


def downstream(project):
    return snapshot(project / "work" / "bronze", project / "work" / "silver", project / "out", project / "dataset")


def bad_paid_media(project) -> pd.DataFrame:
    paid = project / "landing" / "paid_media"
    df = pd.read_csv(sorted(paid.glob("*.csv"))[0]).head(36).astype({"Spend (USD)": object})
    df["Date"] = "2023-02-13"
    df.loc[0, "Spend (USD)"] = -5  # range
    df.loc[1, "Spend (USD)"] = "lots"  # type
    df.loc[2, "Channel"] = "Skywriting"  # reference (taxonomy)
    df.loc[3, "Audience"] = "Martians"  # reference (audiences)
    df.loc[4, "Impressions"] = None  # required
    df = pd.concat([df, df.iloc[[5]]])  # unique
    df.to_csv(paid / "paid_media_bad.csv", index=False)
    return df


def test_a_bad_batch_is_quarantined_and_nothing_downstream_changes(project):
    run_pipeline(project)
    before = downstream(project)
    bad_paid_media(project)
    report = run_pipeline(project)
    assert [(b.entity, b.status) for b in report.batches] == [("paid_media", "quarantined")]
    assert downstream(project) == before

    batch = report.batches[0]
    folder = project / "work" / "quarantine" / batch.batch_id
    assert (folder / "files" / "paid_media" / "paid_media_bad.csv").read_bytes() == \
        (project / "landing" / "paid_media" / "paid_media_bad.csv").read_bytes()
    found = json.loads((folder / "report.json").read_text())
    assert found["entity"] == "paid_media" and found["rows"] == 37
    rules = {(f["rule"], f["column"]): f for f in found["failures"]}
    assert set(rules) == {("type", "spend"), ("range", "spend"), ("reference", "channel, message_type"),
                          ("reference", "audience"), ("required", "impressions"),
                          ("unique", "date, channel, platform, tactic, campaign, message_type, audience")}
    assert rules[("type", "spend")]["sample"][0]["Spend (USD)"] == "lots"
    assert rules[("range", "spend")]["rows"] == 1 and rules[("range", "spend")]["sample"][0]["Spend (USD)"] == "-5"
    assert rules[("reference", "channel, message_type")]["sample"][0]["Channel"] == "Skywriting"
    assert rules[("reference", "audience")]["sample"][0]["Audience"] == "Martians"
    assert rules[("unique", "date, channel, platform, tactic, campaign, message_type, audience")]["sample"][0]["copies"] == 2
    assert all(s["file"] == "paid_media/paid_media_bad.csv" for f in found["failures"] for s in f["sample"])

    # a rerun neither re-checks nor records the quarantined batch again
    quarantine = snapshot(folder)
    assert run_pipeline(project).batches == []
    assert snapshot(folder) == quarantine and downstream(project) == before
    statuses = [b["status"] for b in History(project / "work").batches()]
    assert statuses.count("quarantined") == 1 and statuses.count("ok") == 4
    assert json.loads(History(project / "work").batches()[-1]["failures"])[0]["rule"]

    # the file fixed: processed as a new batch
    fixed = pd.read_csv(project / "landing" / "paid_media" / "paid_media_bad.csv").iloc[6:36]
    fixed.to_csv(project / "landing" / "paid_media" / "paid_media_bad.csv", index=False)
    report = run_pipeline(project)
    assert [(b.entity, b.status, b.rows) for b in report.batches] == [("paid_media", "ok", 30)]
    assert report.gold_written == ["media_weekly"]


def test_a_missing_column_is_a_rule_failure_and_the_dataset_waits_for_it(tmp_path, landing_files):
    project = make_project(tmp_path / "p", landing_files)
    weather = project / "landing" / "weather" / "weather.csv"
    pd.read_csv(weather).drop(columns=["precip_in"]).to_csv(weather, index=False)
    # the other entities go through; without weather there are no controls for the training dataset
    with pytest.raises(TrainingDatasetError, match="control 'avg_temperature_f' has no value for week"):
        run_pipeline(project)
    by_entity = {b["entity"]: b for b in History(project / "work").batches()}
    assert {e: b["status"] for e, b in by_entity.items()} == {
        "owned_media": "ok", "paid_media": "ok", "sales": "ok", "weather": "quarantined"}
    found = json.loads((project / "work" / "quarantine" / by_entity["weather"]["batch_id"] / "report.json").read_text())
    assert [(f["rule"], f["column"], f["sample"]) for f in found["failures"]] == [
        ("schema", "precipitation_in", [{"file": "weather/weather.csv"}])]
    # nothing half-done: neither gold tables nor the dataset are written until it can be made
    assert not (project / "out").exists() and not (project / "dataset").exists()


@pytest.mark.parametrize("max_age, status", [(30, "quarantined"), (3650, "ok")])
def test_freshness(tmp_path, landing_files, max_age, status):
    project = make_project(tmp_path / "p", landing_files, as_of="2023-06-01")
    cfg = project / "owned_media.yaml"
    cfg.write_text(cfg.read_text() + f"  freshness: {{column: date, max_age_days: {max_age}}}\n")
    report = run_pipeline(project, stop="bronze")
    owned = next(b for b in report.batches if b.entity == "owned_media")
    assert owned.status == status
    if status == "quarantined":
        assert owned.failures == ["freshness rule failed on date: newest date is before 2023-05-02 (30 days before "
                                  "2023-06-01) (126 row(s))"]
