"""Tests for the synthetic demo-dataset generator (jobs/demo_data.py)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from jobs.demo_data import BRANDS, generate_demo_dataset
from jobs.transforms import geometric_adstock, hill_saturation

FILES = ["training.csv", "taxonomy.csv", "dataset.yaml", "ground_truth.csv", "ground_truth.json"]
AUDIENCES = ["18-34", "35-54", "55+"]


def _read(folder):
    training = pd.read_csv(folder / "training.csv", keep_default_na=False)
    taxonomy = pd.read_csv(folder / "taxonomy.csv", keep_default_na=False, dtype=str)
    truth = pd.read_csv(folder / "ground_truth.csv", keep_default_na=False, dtype={"audience": str})
    gt = json.loads((folder / "ground_truth.json").read_text())
    meta = yaml.safe_load((folder / "dataset.yaml").read_text())
    return training, taxonomy, truth, gt, meta


@pytest.fixture(scope="module", params=sorted(BRANDS))
def national(request, tmp_path_factory):
    folder = generate_demo_dataset(tmp_path_factory.mktemp("demo") / "data", brand=request.param)
    return folder, request.param, *_read(folder)


@pytest.fixture(scope="module")
def segmented(tmp_path_factory):
    folder = generate_demo_dataset(tmp_path_factory.mktemp("demo") / "seg", weeks=60, seed=3, audiences=AUDIENCES)
    return folder, *_read(folder)


def _media_contribution(training, params):
    x = training[f"{params['variable']}_{params['signal']}"].to_numpy(dtype=float)
    xmax = params["signal_max"]
    a = geometric_adstock(
        x / xmax, params["alpha"], l_max=params["l_max"], normalize=True, history=np.asarray(params["history"]) / xmax
    )
    return params["beta"] * hill_saturation(a, params["half_saturation"], params["slope"])


def test_same_arguments_give_byte_identical_files(tmp_path):
    a = generate_demo_dataset(tmp_path / "a", seed=7)
    b = generate_demo_dataset(tmp_path / "b", seed=7)
    for name in FILES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    c = generate_demo_dataset(tmp_path / "c", seed=8)
    assert (a / "training.csv").read_bytes() != (c / "training.csv").read_bytes()


def test_brands_differ(tmp_path):
    assert {"artemis-burgers", "luna-tacos"} <= set(BRANDS)
    a = generate_demo_dataset(tmp_path / "a", weeks=20, brand="artemis-burgers")
    b = generate_demo_dataset(tmp_path / "b", weeks=20, brand="luna-tacos")
    ta, tb = pd.read_csv(a / "taxonomy.csv"), pd.read_csv(b / "taxonomy.csv")
    assert set(ta.variable) != set(tb.variable)
    assert yaml.safe_load((a / "dataset.yaml").read_text())["brand"] == "Artemis Burgers"
    assert yaml.safe_load((b / "dataset.yaml").read_text())["brand"] == "Luna Tacos"


def test_shape_and_taxonomy(national):
    folder, brand, training, taxonomy, truth, gt, meta = national
    assert list(taxonomy.columns) == ["variable", "kind", "channel", "channel_group", "pillar", "message_type", "signal"]
    assert len(training) >= 156 and "audience" not in training.columns
    media = taxonomy[taxonomy.kind == "media"]
    assert len(media) >= 10
    assert media.channel.nunique() >= 5
    assert media.message_type.nunique() >= 3
    assert (media[["channel", "channel_group", "pillar", "message_type", "signal"]] != "").all().all()
    assert set(media.signal) == {"spend", "impressions"}
    assert 1 <= (media.signal == "impressions").sum() <= 2
    assert (media.variable == media.channel + "_" + media.message_type).all()
    others = taxonomy[taxonomy.kind != "media"]
    assert (others[["channel", "channel_group", "pillar", "message_type", "signal"]] == "").all().all()
    assert set(others.kind) == {"control", "holiday", "owned"}
    assert {"avg_temperature_f", "precipitation_in", "menu_price_index", "competitor_spend"} <= set(
        others.variable[others.kind == "control"]
    )
    # columns match the taxonomy both ways
    expected_cols = {"date", "total_transactions"}
    expected_cols |= {f"{v}_{s}" for v in media.variable for s in ("spend", "impressions")}
    expected_cols |= set(others.variable)
    assert set(training.columns) == expected_cols
    assert list(training.columns[:2]) == ["date", "total_transactions"]
    assert meta == {
        "brand": BRANDS[brand].display_name,
        "brand_id": brand,
        "target": "total_transactions",
        "generator": {"seed": 0, "weeks": 156, "start": "2022-01-03", "audiences": None},
    }


def test_dates_values_and_flighting(national):
    _, _, training, taxonomy, _, gt, _ = national
    dates = pd.to_datetime(training.date)
    assert (dates.dt.day_of_week == 0).all()
    assert (dates.diff().dropna() == pd.Timedelta(days=7)).all()
    assert training.date.iloc[0] == "2022-01-03"
    media = taxonomy.variable[taxonomy.kind == "media"]
    for v in media:
        spend, imps = training[f"{v}_spend"], training[f"{v}_impressions"]
        assert (spend >= 0).all() and (imps >= 0).all(), v
        assert (spend > 0).any(), v
        assert ((spend > 0) == (imps > 0)).all(), v
    # some media goes dark for weeks (flights / bursts), some is always on
    zero_weeks = {v: int((training[f"{v}_spend"] == 0).sum()) for v in media}
    assert max(zero_weeks.values()) >= 52 and min(zero_weeks.values()) == 0
    assert (training.total_transactions >= 0).all()
    assert training.total_transactions.mean() > 1e6
    for h in taxonomy.variable[taxonomy.kind == "holiday"]:
        assert set(training[h].unique()) <= {0, 1} and training[h].sum() == 3, h
    xmas = dates[training.christmas == 1]
    for d in xmas:
        assert d.date() <= dt.date(d.year if d.month == 12 else d.year - 1, 12, 25) < d.date() + dt.timedelta(days=7)
    assert 0.015 <= gt["noise_sd"] / gt["expected_mean"] <= 0.035


def test_ground_truth_adds_up_and_rederives(national):
    _, _, training, taxonomy, truth, gt, _ = national
    assert list(truth.columns) == ["date", "audience", "variable", "kind", "contribution"]
    assert (truth.audience == "").all()
    assert set(truth.variable) == set(taxonomy.variable) | {"baseline", "seasonality"}
    wide = truth.pivot(index="date", columns="variable", values="contribution").loc[training.date]
    expected = wide.sum(axis=1).to_numpy()
    resid = training.total_transactions.to_numpy() - expected
    assert np.abs(resid).max() < 5 * gt["noise_sd"]
    assert 0.6 < resid.std() / gt["noise_sd"] < 1.4
    # every media variable, recomputed from training.csv + ground_truth.json with jobs.transforms
    for v, p in gt["media"].items():
        mine = _media_contribution(training, {**p, "variable": v})
        np.testing.assert_allclose(wide[v].to_numpy(), mine, rtol=1e-6, atol=1e-6)
        assert wide[v].sum() == pytest.approx(p["total_spend"] / p["cost_per_incremental_transaction"], rel=1e-9)
        assert p["total_spend"] == pytest.approx(training[f"{v}_spend"].sum(), rel=1e-9)
        assert 0.1 <= p["alpha"] <= 0.7 and 0.2 <= p["half_saturation"] <= 0.6 and 0.8 <= p["slope"] <= 2.5
        assert p["l_max"] == 8 and len(p["history"]) == 7
        assert 2 < p["cost_per_incremental_transaction"] < 40
    # the non-media parts follow their stated formulas too
    T = len(training)
    np.testing.assert_allclose(wide["baseline"], gt["baseline_level"] * (1 + gt["trend"] * np.arange(T) / T), rtol=1e-9)
    days = (pd.to_datetime(training.date) - pd.Timestamp("1970-01-01")).dt.days.to_numpy(dtype=float)
    season = sum(
        gt["seasonality"]["coefficients"][f"{f}_{k}"] * getattr(np, f)(2 * np.pi * k * days / 365.25)
        for k in (1, 2)
        for f in ("sin", "cos")
    )
    np.testing.assert_allclose(wide["seasonality"], season, rtol=1e-9, atol=1e-6)
    summer = pd.to_datetime(training.date).dt.month.isin([6, 7, 8]).to_numpy()
    assert season[summer].mean() > 0 > season[~summer].mean()
    for c, p in gt["controls"].items():
        x = training[c].to_numpy(dtype=float)
        np.testing.assert_allclose(wide[c], p["coef"] * (x - p["mean"]) / p["sd"], rtol=1e-9, atol=1e-6)
    for h, p in gt["holidays"].items():
        np.testing.assert_allclose(wide[h], p["coef"] * training[h], rtol=1e-9, atol=1e-6)
    assert gt["controls"]["competitor_spend"]["coef"] < 0
    for o, p in gt["owned"].items():
        assert p["coef"] > 0
        np.testing.assert_allclose(wide[o], p["coef"] * training[o] / p["max"], rtol=1e-9)


def test_media_share(national):
    _, _, training, _, truth, gt, _ = national
    share = truth.contribution[truth.kind == "media"].sum() / truth.contribution.sum()
    assert 0.10 <= share <= 0.40
    assert share == pytest.approx(gt["media_share"], rel=1e-9)


def test_audiences(segmented):
    folder, training, taxonomy, truth, gt, meta = segmented
    assert list(training.columns[:3]) == ["date", "audience", "total_transactions"]
    assert len(training) == 60 * len(AUDIENCES)
    assert training.groupby("date").audience.apply(list).map(lambda a: a == AUDIENCES).all()
    assert meta["generator"]["audiences"] == AUDIENCES
    assert set(truth.audience) == set(AUDIENCES)
    assert len(truth) == 60 * len(AUDIENCES) * (len(taxonomy) + 2)
    assert set(gt["audiences"]) == set(AUDIENCES)
    levels = [gt["audiences"][a]["baseline_level"] for a in AUDIENCES]
    assert len(set(levels)) == len(AUDIENCES)
    for a in AUDIENCES:
        rows = training[training.audience == a].reset_index(drop=True)
        dates = pd.to_datetime(rows.date)
        assert (dates.diff().dropna() == pd.Timedelta(days=7)).all()
        sub = truth[truth.audience == a].pivot(index="date", columns="variable", values="contribution").loc[rows.date]
        block = gt["audiences"][a]
        for v, p in block["media"].items():
            np.testing.assert_allclose(sub[v].to_numpy(), _media_contribution(rows, {**p, "variable": v}), rtol=1e-6)
        resid = rows.total_transactions.to_numpy() - sub.sum(axis=1).to_numpy()
        assert np.abs(resid).max() < 5 * block["noise_sd"]
        assert 0.10 <= block["media_share"] <= 0.40
    # audiences get different shares of the same variable's spend
    v = taxonomy.variable[taxonomy.kind == "media"].iloc[0]
    totals = training.groupby("audience")[f"{v}_spend"].sum()
    assert totals.nunique() == len(AUDIENCES)


def test_refuses_non_empty_folder(tmp_path):
    out = tmp_path / "taken"
    out.mkdir()
    (out / "mine.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="taken"):
        generate_demo_dataset(out, weeks=20)
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert generate_demo_dataset(empty, weeks=20) == empty
    assert sorted(p.name for p in empty.iterdir()) == sorted(FILES)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="brand"):
        generate_demo_dataset(tmp_path / "a", brand="nope")
    with pytest.raises(ValueError, match="Monday"):
        generate_demo_dataset(tmp_path / "b", start="2022-01-04")
    with pytest.raises(ValueError, match="audiences"):
        generate_demo_dataset(tmp_path / "c", audiences=["a", "a"])
    assert not any(tmp_path.iterdir())
