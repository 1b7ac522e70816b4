"""``artemis forecast`` and ``artemis optimize`` on the demo run folder and on a run in the store."""

from __future__ import annotations

import pandas as pd
import pytest

from artemis_panel.cli import main
from store.paths import BUNDLED_DEMO_RUNS


@pytest.fixture(scope="module")
def run_dir(demo_run_id):
    return BUNDLED_DEMO_RUNS / demo_run_id


@pytest.fixture(scope="module")
def spend(run_dir):
    rows = pd.read_parquet(run_dir / "contributions.parquet")
    return rows[rows["kind"] == "media"].pivot_table(index="date", columns="variable", values="spend", aggfunc="sum")


def test_forecast_without_a_plan_uses_last_years_weeks(run_dir, spend, tmp_path, capsys):
    out = tmp_path / "fc.csv"
    assert main(["forecast", str(run_dir), "--weeks", "8", "--out", str(out)]) == 0
    df = pd.read_csv(out)
    assert len(df) == 8 and (df["lo94"] < df["transactions"]).all() and (df["transactions"] < df["hi94"]).all()
    assert df["spend"].sum() == pytest.approx(spend.iloc[len(spend) - 52: len(spend) - 44].to_numpy().sum())
    assert "8 weeks from" in capsys.readouterr().out


def test_forecast_of_a_plan_file(run_dir, spend, tmp_path):
    start = spend.index[-1] + pd.Timedelta(weeks=1)
    plan = pd.DataFrame({"date": [start, start + pd.Timedelta(weeks=1)], "CTV_Brand": [1e6, 2e6]})
    plan.to_csv(tmp_path / "plan.csv", index=False)
    assert main(["forecast", str(run_dir), "--plan", str(tmp_path / "plan.csv"), "--out", str(tmp_path / "o.csv")]) == 0
    df = pd.read_csv(tmp_path / "o.csv")
    assert df["spend"].tolist() == [1e6, 2e6] and df["spend: CTV_Brand"].tolist() == [1e6, 2e6]


@pytest.mark.parametrize("plan, message", [
    ("date,CTV_Brand\n2024-12-30,-5\n", "'CTV_Brand' in week 2024-12-30.*negative"),
    ("date,Radio\n2024-12-30,5\n", "unknown media variable.*'Radio'"),
    ("date,CTV_Brand\n2024-12-31,5\n", "not a week start"),
    ("date,CTV_Brand\n2024-12-30,5\n2025-01-13,5\n", "consecutive"),
    ("day,CTV_Brand\n2024-12-30,5\n", "'date' column"),
    ("date,variable,spend\n2024-12-30,CTV_Brand,lots\n", "row 2.*'lots'"),
])
def test_a_bad_plan_is_refused_by_name_and_writes_nothing(run_dir, tmp_path, capsys, plan, message):
    (tmp_path / "plan.csv").write_text(plan)
    out = tmp_path / "o.csv"
    assert main(["forecast", str(run_dir), "--plan", str(tmp_path / "plan.csv"), "--out", str(out)]) == 2
    assert not out.exists()
    import re

    assert re.search(message, capsys.readouterr().err)


def test_optimize_with_bounds_and_a_lock(run_dir, tmp_path):
    (tmp_path / "b.csv").write_text("variable,lower,upper,locked\nOOH_Brand,100000,,\nCTV_Brand,,2000000,\n"
                                    "Audio_Value,,,true\n")
    out = tmp_path / "a.csv"
    assert main(["optimize", str(run_dir), "--budget", "60000000", "--bounds", str(tmp_path / "b.csv"),
                 "--out", str(out)]) == 0
    df = pd.read_csv(out).set_index("variable")
    assert df["optimal"].sum() == pytest.approx(60_000_000, rel=1e-9)
    assert df.loc["OOH_Brand", "optimal"] >= 100_000 - 1e-6
    assert df.loc["CTV_Brand", "optimal"] <= 2_000_000 + 1e-6
    assert df.loc["Audio_Value", "optimal"] == pytest.approx(df.loc["Audio_Value", "current"], rel=1e-9)


def test_optimize_a_run_in_the_store_and_refuse_bad_input(demo_store, demo_run_id, tmp_path, capsys):
    out = tmp_path / "a.csv"
    assert main(["optimize", demo_run_id, "--store", str(demo_store), "--budget", "1e7", "--weeks", "4",
                 "--out", str(out)]) == 0
    assert pd.read_csv(out)["optimal"].sum() == pytest.approx(1e7, rel=1e-9)
    assert main(["optimize", demo_run_id, "--store", str(demo_store), "--budget", "0", "--out", str(out)]) == 2
    assert "budget must be a positive amount" in capsys.readouterr().err
    assert main(["optimize", "no-such-run", "--store", str(demo_store), "--budget", "1e6", "--out", str(out)]) == 2
    assert "neither a run folder nor a run in the store" in capsys.readouterr().err
