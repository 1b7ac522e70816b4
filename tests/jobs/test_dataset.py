"""Tests for jobs/dataset.py: loading and validating a dataset folder."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from jobs.dataset import (
    MEDIA_PRIOR_PARAMETERS,
    OTHER_PRIOR_PARAMETERS,
    PRIOR_COLUMNS,
    Dataset,
    DatasetError,
    Problem,
    load_dataset,
)

EXAMPLE = Path("/work/shared/datasets/pymc-marketing-example")
MEDIA = ["Linear TV_Brand", "Search_Performance", "Social_Brand"]
START = pd.Timestamp("2023-01-02")  # a Monday


def day(i: int) -> str:
    """Date of week i (0-based) of the helper's dataset."""
    return (START + pd.Timedelta(weeks=i)).strftime("%Y-%m-%d")


def frames(weeks: int = 60, audiences: list[str] | None = None, seed: int = 0):
    """A valid dataset as (training, taxonomy): 3 media variables (one on impressions), a control,
    a holiday. Without audiences, training row i is week i and sits on line i + 2 of the CSV."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(START, periods=weeks, freq="7D")
    parts = []
    for a in audiences or [None]:
        df = pd.DataFrame({"date": dates.strftime("%Y-%m-%d")})
        if a is not None:
            df["audience"] = a
        df["total_transactions"] = rng.uniform(1000, 2000, weeks).round(1)
        for v in MEDIA:
            df[f"{v}_spend"] = rng.uniform(1, 500, weeks).round(2)
        df["Search_Performance_impressions"] = rng.uniform(1e4, 1e5, weeks).round(0)
        df["Linear TV_Brand_impressions"] = rng.uniform(1e5, 1e6, weeks).round(0)
        df["price"] = rng.normal(10, 1, weeks).round(3)
        df["xmas"] = ((dates.month == 12) & (dates.day >= 18)).astype(int)
        parts.append(df)
    training = pd.concat(parts, ignore_index=True)
    taxonomy = pd.DataFrame(
        [
            ["Linear TV_Brand", "media", "Linear TV", "TV", "Brand Equity", "Brand", "spend"],
            ["Search_Performance", "media", "Search", "Digital", "Performance", "Performance", "impressions"],
            ["Social_Brand", "media", "Social", "Digital", "Brand Equity", "Brand", "spend"],
            ["price", "control", "", "", "", "", ""],
            ["xmas", "holiday", "", "", "", "", ""],
        ],
        columns=["variable", "kind", "channel", "channel_group", "pillar", "message_type", "signal"],
    )
    return training, taxonomy


def write(folder: Path, training: pd.DataFrame | None, taxonomy: pd.DataFrame | None,
          priors: pd.DataFrame | str | None = None, parquet: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if training is not None:
        if parquet:
            training.to_parquet(folder / "training.parquet", index=False)
        else:
            training.to_csv(folder / "training.csv", index=False)
    if taxonomy is not None:
        taxonomy.to_csv(folder / "taxonomy.csv", index=False)
    if isinstance(priors, str):
        (folder / "priors.csv").write_text(priors)
    elif priors is not None:
        priors.to_csv(folder / "priors.csv", index=False)
    return folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "dataset"


def problems_of(path: Path, **kw) -> list[Problem]:
    with pytest.raises(DatasetError) as info:
        load_dataset(path, **kw)
    assert info.value.problems, "DatasetError without problems"
    return info.value.problems


def only(problems: list[Problem], **match) -> Problem:
    """The single problem whose fields equal `match` (message matched as a substring)."""
    msg = match.pop("message", None)
    hits = [p for p in problems
            if all(getattr(p, k) == v for k, v in match.items()) and (msg is None or msg in p.message)]
    assert len(hits) == 1, f"expected one problem like {match} {msg!r}, got:\n" + "\n".join(map(str, problems))
    return hits[0]


# ---------------------------------------------------------------------------------------------
# Valid datasets


def test_example_dataset_loads_cleanly():
    ds = load_dataset(EXAMPLE)
    assert isinstance(ds, Dataset)
    assert ds.media == ["x1", "x2"]
    assert ds.holidays == ["event_1", "event_2"]
    assert ds.controls == []
    assert ds.signal == {"x1": "spend", "x2": "spend"}
    assert ds.audiences is None and ds.dropped == [] and ds.warnings == []
    assert len(ds.training) == 179
    assert ds.training["date"].dtype.kind == "M"
    assert ds.training["date"].is_monotonic_increasing
    assert all(ds.training[c].dtype == np.float64 for c in ds.training.columns if c != "date")
    assert list(ds.priors.columns) == PRIOR_COLUMNS and ds.priors.empty
    assert len(ds.fingerprint) == 64


def test_valid_dataset_loads(folder):
    training, taxonomy = frames()
    write(folder, training, taxonomy)
    ds = load_dataset(str(folder))
    assert ds.path == str(folder)
    assert ds.target == "total_transactions"
    assert ds.media == MEDIA
    assert ds.signal == {"Linear TV_Brand": "spend", "Search_Performance": "impressions", "Social_Brand": "spend"}
    assert ds.controls == ["price"] and ds.holidays == ["xmas"]
    assert ds.kinds == {**{v: "media" for v in MEDIA}, "price": "control", "xmas": "holiday"}
    assert ds.audiences is None and ds.dropped == [] and ds.warnings == [] and ds.meta == {}
    assert list(ds.taxonomy["variable"]) == MEDIA + ["price", "xmas"]
    assert len(ds.training) == 60
    assert ds.training["date"].iloc[0] == START
    assert ds.training["xmas"].dtype == np.float64
    np.testing.assert_allclose(ds.training["Social_Brand_spend"], training["Social_Brand_spend"])
    assert set(ds.training.columns) == set(training.columns)


def test_training_is_sorted_by_date(folder):
    training, taxonomy = frames()
    write(folder, training.iloc[::-1], taxonomy)
    ds = load_dataset(folder)
    assert ds.training["date"].is_monotonic_increasing
    assert ds.training["date"].iloc[0] == START


def test_control_kinds_owned_and_earned_count_as_controls(folder):
    training, taxonomy = frames()
    training["newsletter"] = 1.0
    training["press"] = 0.5
    taxonomy.loc[len(taxonomy)] = ["newsletter", "owned", "", "", "", "", ""]
    taxonomy.loc[len(taxonomy)] = ["press", "earned", "", "", "", "", ""]
    write(folder, training, taxonomy)
    ds = load_dataset(folder)
    assert ds.controls == ["price", "newsletter", "press"]
    assert ds.kinds["press"] == "earned"


def test_custom_target_name(folder):
    training, taxonomy = frames()
    training = training.rename(columns={"total_transactions": "orders"})
    write(folder, training, taxonomy)
    assert load_dataset(folder, target="orders").target == "orders"
    only(problems_of(folder), column="total_transactions", message="missing")


def test_impressions_optional_for_spend_signal(folder):
    training, taxonomy = frames()
    write(folder, training.drop(columns=["Linear TV_Brand_impressions"]), taxonomy)
    assert load_dataset(folder).media == MEDIA


def test_fingerprint_is_stable_and_tracks_content(tmp_path):
    training, taxonomy = frames()
    a = load_dataset(write(tmp_path / "a", training, taxonomy)).fingerprint
    b = load_dataset(write(tmp_path / "b", training, taxonomy)).fingerprint
    assert a == b
    training.loc[3, "price"] += 1
    assert load_dataset(write(tmp_path / "c", training, taxonomy)).fingerprint != a
    priors = "variable,parameter,mu,sigma,lower,upper\nprice,coefficient,0,1,,\n"
    assert load_dataset(write(tmp_path / "d", frames()[0], taxonomy, priors)).fingerprint != a


def test_dataset_yaml_is_meta(folder):
    write(folder, *frames())
    (folder / "dataset.yaml").write_text("brand: Acme\ncurrency: USD\n")
    assert load_dataset(folder).meta == {"brand": "Acme", "currency": "USD"}
    (folder / "dataset.yaml").write_text("- just\n- a list\n")
    only(problems_of(folder), file="dataset.yaml")


def test_parquet_training(tmp_path):
    training, taxonomy = frames()
    from_csv = load_dataset(write(tmp_path / "csv", training, taxonomy))
    # typed parquet: real dates, int holiday column
    typed = training.assign(date=pd.to_datetime(training["date"]))
    from_parquet = load_dataset(write(tmp_path / "pq", typed, taxonomy, parquet=True))
    pd.testing.assert_frame_equal(from_parquet.training, from_csv.training, check_like=True)
    assert from_parquet.media == MEDIA

    bad = typed.copy()
    bad.loc[12, "Linear TV_Brand_spend"] = -5.0
    bad.loc[20, "price"] = np.nan
    problems = problems_of(write(tmp_path / "pq-bad", bad, taxonomy, parquet=True))
    only(problems, file="training.parquet", column="Linear TV_Brand_spend", row=14, date=day(12),
         message="negative spend")
    only(problems, file="training.parquet", column="price", row=22, message="missing")


def test_parquet_with_text_columns(folder):
    training, taxonomy = frames()
    training = training.astype({"price": str})
    training.loc[5, "price"] = "cheap"
    write(folder, training, taxonomy, parquet=True)
    only(problems_of(folder), column="price", row=7, message="non-numeric value 'cheap'")


# ---------------------------------------------------------------------------------------------
# Files


def test_folder_not_found(tmp_path):
    problems = problems_of(tmp_path / "nope")
    assert len(problems) == 1 and "not found" in problems[0].message


@pytest.mark.parametrize("missing", ["training.csv", "taxonomy.csv"])
def test_required_file_missing(folder, missing):
    write(folder, *frames())
    (folder / missing).unlink()
    only(problems_of(folder), file=missing, message="missing")


def test_both_training_files_is_an_error(folder):
    training, taxonomy = frames()
    write(folder, training, taxonomy)
    training.to_parquet(folder / "training.parquet", index=False)
    only(problems_of(folder), message="both training.csv and training.parquet")


def test_malformed_csv_is_a_problem_not_a_crash(folder):
    write(folder, *frames())
    with open(folder / "training.csv", "a") as fh:
        fh.write("2024-02-26,1,2,3,4,5,6,7,8,9,10,11,12\n")
    problem = only(problems_of(folder), file="training.csv", message="cannot be parsed")
    assert "line 62" in problem.message


# ---------------------------------------------------------------------------------------------
# Taxonomy


@pytest.mark.parametrize("column", ["variable", "kind", "channel", "channel_group", "pillar", "message_type", "signal"])
def test_taxonomy_column_missing(folder, column):
    training, taxonomy = frames()
    write(folder, training, taxonomy.drop(columns=[column]))
    only(problems_of(folder), file="taxonomy.csv", column=column, row=1, message="required column missing")


def test_taxonomy_unknown_kind(folder):
    training, taxonomy = frames()
    taxonomy.loc[3, "kind"] = "weather"
    write(folder, training, taxonomy)
    problems = problems_of(folder)
    only(problems, file="taxonomy.csv", column="kind", row=5, message="unknown kind 'weather'")
    # the variable's column is not also reported as a column without a taxonomy row
    assert not [p for p in problems if p.file == "training.csv"]


def test_taxonomy_duplicate_variable(folder):
    training, taxonomy = frames()
    taxonomy = pd.concat([taxonomy, taxonomy.iloc[[2]]], ignore_index=True)
    write(folder, training, taxonomy)
    only(problems_of(folder), file="taxonomy.csv", column="variable", row=7,
         message="'Social_Brand' is listed again (first on line 4)")


@pytest.mark.parametrize("signal", ["", "clicks"])
def test_taxonomy_media_needs_signal(folder, signal):
    training, taxonomy = frames()
    taxonomy.loc[0, "signal"] = signal
    write(folder, training, taxonomy)
    only(problems_of(folder), file="taxonomy.csv", column="signal", row=2, message="Linear TV_Brand")


def test_taxonomy_without_media(folder):
    training, taxonomy = frames()
    training = training[["date", "total_transactions", "price", "xmas"]]
    write(folder, training, taxonomy.iloc[3:])
    only(problems_of(folder), file="taxonomy.csv", message="no media variable")


def test_taxonomy_variable_clashing_with_target(folder):
    training, taxonomy = frames()
    taxonomy.loc[len(taxonomy)] = ["total_transactions", "control", "", "", "", "", ""]
    write(folder, training, taxonomy)
    only(problems_of(folder), file="taxonomy.csv", row=7, message="reserved")


# ---------------------------------------------------------------------------------------------
# Training: dates


def test_date_column_missing(folder):
    training, taxonomy = frames()
    write(folder, training.rename(columns={"date": "week"}), taxonomy)
    problems = problems_of(folder)
    only(problems, file="training.csv", column="date", row=1, message="missing")
    only(problems, column="week", message="column without a taxonomy row")


@pytest.mark.parametrize("value", ["not a date", "03/04/2023", "2023-13-01"])
def test_unparseable_date(folder, value):
    training, taxonomy = frames()
    training.loc[12, "date"] = value
    write(folder, training, taxonomy)
    problems = problems_of(folder)
    only(problems, file="training.csv", column="date", row=14, message=f"not a date: '{value}'")
    # the week it should have been is now missing: reported as a gap naming both neighbours
    only(problems, column="date", message=f"no rows between {day(11)} and {day(13)}")


def test_missing_date_cell(folder):
    training, taxonomy = frames()
    training.loc[59, "date"] = ""
    write(folder, training, taxonomy)
    only(problems_of(folder), file="training.csv", column="date", row=61, message="missing date")


def test_duplicated_dates(folder):
    training, taxonomy = frames()
    training.loc[12, "date"] = day(10)
    write(folder, training, taxonomy)
    problems = problems_of(folder)
    p = only(problems, column="date", row=14, message="duplicated date")
    assert p.date == day(10) and "also on line 12" in p.message


def test_gap_in_weeks(folder):
    training, taxonomy = frames()
    write(folder, training.drop(index=[20, 21]), taxonomy)
    p = only(problems_of(folder), file="training.csv", column="date", message="gap")
    assert f"between {day(19)} and {day(22)}" in p.message and "2 weeks missing" in p.message
    assert p.date == day(22) and p.row == 22  # line of the row after the gap (rows 20, 21 removed)


def test_dates_not_seven_days_apart(folder):
    training, taxonomy = frames()
    training.loc[30:, "date"] = [(pd.Timestamp(day(i)) + pd.Timedelta(days=2)).strftime("%Y-%m-%d")
                                 for i in range(30, 60)]
    write(folder, training, taxonomy)
    p = only(problems_of(folder), column="date", message="not 7 days apart")
    assert day(29) in p.message and "9 days" in p.message and p.row == 32


def test_daily_data_is_not_weekly(folder):
    training, taxonomy = frames()
    training["date"] = pd.date_range(START, periods=60, freq="D").strftime("%Y-%m-%d")
    write(folder, training, taxonomy)
    problems = problems_of(folder)
    only(problems, column="date", message="not weekly")
    assert len([p for p in problems if p.column == "date"]) == 1


def test_many_gaps_are_capped(folder):
    training, taxonomy = frames()
    training = training.drop(index=[3, 6, 9, 12, 15, 18, 21, 24])  # eight single-week gaps
    write(folder, training, taxonomy)
    problems = [p for p in problems_of(folder) if p.column == "date"]
    assert len(problems) == 6
    assert "and 3 more" in problems[-1].message


# ---------------------------------------------------------------------------------------------
# Training: target and values


def test_target_column_missing(folder):
    training, taxonomy = frames()
    write(folder, training.drop(columns=["total_transactions"]), taxonomy)
    only(problems_of(folder), file="training.csv", column="total_transactions", row=1, message="missing")


@pytest.mark.parametrize(
    "value, message",
    [("", "missing target value"), ("NaN", "missing target value"), ("lots", "non-numeric target value 'lots'"),
     ("-3", "negative target value -3.0")],
)
def test_bad_target_values(folder, value, message):
    training, taxonomy = frames()
    training = training.astype({"total_transactions": object})
    training.loc[7, "total_transactions"] = value
    write(folder, training, taxonomy)
    only(problems_of(folder), file="training.csv", column="total_transactions", row=9, date=day(7),
         message=message)


def test_negative_spend_message(folder):
    training, taxonomy = frames()
    training.loc[12, "Linear TV_Brand_spend"] = -120.0
    write(folder, training, taxonomy)
    (p,) = problems_of(folder)
    assert str(p) == f"training.csv, column 'Linear TV_Brand_spend', line 14 ({day(12)}): negative spend -120.0"


def test_negative_impressions(folder):
    training, taxonomy = frames()
    training.loc[0, "Search_Performance_impressions"] = -1
    write(folder, training, taxonomy)
    only(problems_of(folder), column="Search_Performance_impressions", row=2, date=day(0),
         message="negative impressions")


def test_controls_may_be_negative(folder):
    training, taxonomy = frames()
    training.loc[0, "price"] = -4.5
    write(folder, training, taxonomy)
    assert load_dataset(folder).training["price"].iloc[0] == -4.5


@pytest.mark.parametrize("column", ["Social_Brand_spend", "Search_Performance_impressions", "price", "xmas"])
def test_nan_in_model_column(folder, column):
    training, taxonomy = frames()
    training[column] = training[column].astype(float)
    training.loc[40, column] = np.nan
    write(folder, training, taxonomy)
    only(problems_of(folder), file="training.csv", column=column, row=42, date=day(40), message="missing")


def test_non_numeric_cells_named_and_capped(folder):
    training, taxonomy = frames()
    training = training.astype({"Social_Brand_spend": object})
    bad_rows = [4, 9, 10, 11, 20, 30, 31, 50]
    for i in bad_rows:
        training.loc[i, "Social_Brand_spend"] = "$1,200"
    write(folder, training, taxonomy)
    problems = [p for p in problems_of(folder) if p.column == "Social_Brand_spend"]
    assert [p.row for p in problems[:5]] == [i + 2 for i in bad_rows[:5]]
    assert [p.date for p in problems[:5]] == [day(i) for i in bad_rows[:5]]
    assert all("non-numeric spend '$1,200'" in p.message for p in problems[:5])
    assert len(problems) == 6 and problems[5].row is None and "and 3 more rows" in problems[5].message


@pytest.mark.parametrize(
    "drop, column",
    [("Linear TV_Brand_spend", "Linear TV_Brand_spend"),
     ("Search_Performance_impressions", "Search_Performance_impressions"),  # signal is impressions
     ("price", "price"),
     ("xmas", "xmas")],
)
def test_taxonomy_variable_without_its_column(folder, drop, column):
    training, taxonomy = frames()
    write(folder, training.drop(columns=[drop]), taxonomy)
    only(problems_of(folder), file="training.csv", column=column, row=1, message="column missing")


@pytest.mark.parametrize("column", ["Radio_Brand_spend", "Radio_Brand_impressions", "weather"])
def test_column_without_taxonomy_row(folder, column):
    training, taxonomy = frames()
    training[column] = 1.0
    write(folder, training, taxonomy)
    only(problems_of(folder), file="training.csv", column=column, row=1, message="column without a taxonomy row")


def test_never_spent_media_is_dropped_with_warning(folder):
    training, taxonomy = frames()
    training["Social_Brand_spend"] = 0.0
    training["Social_Brand_impressions"] = np.nan  # its columns are ignored, NaN or not
    priors = "variable,parameter,mu,sigma,lower,upper\nSocial_Brand,adstock_decay,0.5,0.1,,\n"
    write(folder, training, taxonomy, priors)
    ds = load_dataset(folder)
    assert ds.dropped == ["Social_Brand"]
    assert ds.media == ["Linear TV_Brand", "Search_Performance"]
    assert "Social_Brand" not in ds.kinds and "Social_Brand" not in ds.signal
    assert "Social_Brand" not in set(ds.taxonomy["variable"])
    assert not [c for c in ds.training.columns if c.startswith("Social_Brand")]
    assert ds.priors.empty
    assert any("Social_Brand" in w and "zero spend" in w and "dropped" in w for w in ds.warnings)


def test_every_media_never_spent_is_an_error(folder):
    training, taxonomy = frames()
    for v in MEDIA:
        training[f"{v}_spend"] = 0
    write(folder, training, taxonomy)
    only(problems_of(folder), message="no media variable left")


def test_several_violations_reported_at_once(folder):
    training, taxonomy = frames()
    training.loc[12, "Linear TV_Brand_spend"] = -120.0
    training.loc[5, "total_transactions"] = np.nan
    training["weather"] = 3.0
    training = training.drop(index=[40])
    taxonomy.loc[4, "kind"] = "festival"
    priors = "variable,parameter,mu,sigma,lower,upper\nnope,coefficient,0,1,,\n"
    write(folder, training, taxonomy, priors)
    with pytest.raises(DatasetError) as info:
        load_dataset(folder)
    problems = info.value.problems
    only(problems, column="Linear TV_Brand_spend", row=14, message="negative spend")
    only(problems, column="total_transactions", row=7, message="missing")
    only(problems, column="weather", message="column without a taxonomy row")
    only(problems, column="date", message="gap")
    only(problems, file="taxonomy.csv", column="kind", row=6)
    only(problems, file="priors.csv", column="variable", row=2)
    assert len(problems) == 6
    text = str(info.value)
    assert text.splitlines()[0].startswith("6 problems in dataset")
    assert len(text.splitlines()) == 7
    assert all(str(p) in text for p in problems)


# ---------------------------------------------------------------------------------------------
# Priors


GOOD_PRIORS = """variable,parameter,mu,sigma,lower,upper
Linear TV_Brand,adstock_decay,0.6,0.1,0,1
Linear TV_Brand,cost_per_transaction,25,10,,
Search_Performance,half_saturation,0.5,0.2,0.01,
Social_Brand,hill_slope,1.5,0.5,,
Social_Brand,saturation_lambda,2,1,,
price,coefficient,-0.5,0.3,-2,0
xmas,coefficient,0.2,0.1,,
"""


def test_valid_priors(folder):
    write(folder, *frames(), priors=GOOD_PRIORS)
    priors = load_dataset(folder).priors
    assert list(priors.columns) == PRIOR_COLUMNS
    assert len(priors) == 7
    assert all(priors[c].dtype == np.float64 for c in ["mu", "sigma", "lower", "upper"])
    assert np.isnan(priors.loc[1, "lower"]) and np.isnan(priors.loc[2, "upper"])
    assert priors.loc[5, "lower"] == -2
    assert set(priors["parameter"]) == MEDIA_PRIOR_PARAMETERS | OTHER_PRIOR_PARAMETERS


def test_priors_without_bound_columns(folder):
    write(folder, *frames(), priors="variable,parameter,mu,sigma\nprice,coefficient,0,1\n")
    priors = load_dataset(folder).priors
    assert list(priors.columns) == PRIOR_COLUMNS and priors["lower"].isna().all()


@pytest.mark.parametrize(
    "line, column, message",
    [
        ("TV,adstock_decay,0.5,0.1,,", "variable", "unknown variable 'TV'"),
        ("price,elasticity,0.5,0.1,,", "parameter", "unknown parameter 'elasticity'"),
        ("Linear TV_Brand,coefficient,0.5,0.1,,", "parameter", "does not apply to media variable"),
        ("price,adstock_decay,0.5,0.1,,", "parameter", "does not apply to control variable"),
        ("xmas,hill_slope,1,0.1,,", "parameter", "does not apply to holiday variable"),
        ("price,coefficient,high,0.1,,", "mu", "non-numeric mu 'high'"),
        ("price,coefficient,,0.1,,", "mu", "mu is required"),
        ("price,coefficient,0,x,,", "sigma", "non-numeric sigma 'x'"),
        ("price,coefficient,0,0,,", "sigma", "sigma must be > 0"),
        ("price,coefficient,0,-1,,", "sigma", "sigma must be > 0"),
        ("price,coefficient,0,1,2,1", "lower", "must be less than upper"),
        ("price,coefficient,0,1,1,1", "lower", "must be less than upper"),
        ("price,coefficient,0,1,low,", "lower", "non-numeric lower 'low'"),
        ("Social_Brand,adstock_decay,1.2,0.1,,", "mu", "strictly between 0 and 1"),
        ("Social_Brand,adstock_decay,0,0.1,,", "mu", "strictly between 0 and 1"),
        ("Social_Brand,adstock_decay,1,0.1,,", "mu", "strictly between 0 and 1"),
        ("Linear TV_Brand,hill_slope,2,1,,", "parameter", "given again (first on line 3)"),
    ],
)
def test_prior_rules(folder, line, column, message):
    priors = "variable,parameter,mu,sigma,lower,upper\nxmas,coefficient,0,1,,\nLinear TV_Brand,hill_slope,1,1,,\n"
    write(folder, *frames(), priors=priors + line + "\n")
    problems = problems_of(folder)
    only(problems, file="priors.csv", column=column, row=4, message=message)
    assert len(problems) == 1


def test_priors_column_missing(folder):
    write(folder, *frames(), priors="variable,parameter,mu\nprice,coefficient,0\n")
    only(problems_of(folder), file="priors.csv", column="sigma", row=1, message="required column missing")


# ---------------------------------------------------------------------------------------------
# Audiences


def test_audiences_load_sorted(folder):
    training, taxonomy = frames(audiences=["South", "North"])
    write(folder, training.sample(frac=1, random_state=1), taxonomy)
    ds = load_dataset(folder)
    assert ds.audiences == ["North", "South"]
    assert len(ds.training) == 120
    assert list(ds.training["audience"].iloc[[0, 59, 60, 119]]) == ["North", "North", "South", "South"]
    north = ds.training[ds.training["audience"] == "North"]
    assert north["date"].is_monotonic_increasing and north["date"].iloc[0] == START


def test_duplicated_date_within_an_audience(folder):
    training, taxonomy = frames(audiences=["North", "South"])  # South rows are 60..119, lines 62..121
    training.loc[70, "date"] = day(11)
    write(folder, training, taxonomy)
    problems = problems_of(folder)
    p = only(problems, column="date", message="duplicated date for audience 'South'")
    # in file order, line 72 (now week 11) comes first, so the original week-11 row is the duplicate
    assert p.row == 73 and p.date == day(11) and "also on line 72" in p.message
    # the date that row should have had is now missing in South only
    only(problems, column="audience", message="audience 'South' has no rows for 1 date")


def test_mismatched_audience_coverage(folder):
    training, taxonomy = frames(audiences=["North", "South"])
    training = training.drop(index=range(60, 64))  # South starts four weeks later
    write(folder, training, taxonomy)
    p = only(problems_of(folder), file="training.csv", column="audience")
    assert "'South' has no rows for 4 dates" in p.message and day(0) in p.message and p.date == day(0)


def test_missing_audience_cell(folder):
    training, taxonomy = frames(audiences=["North", "South"])
    training.loc[3, "audience"] = ""
    write(folder, training, taxonomy)
    only(problems_of(folder), column="audience", row=5, message="missing audience")


# ---------------------------------------------------------------------------------------------
# Nothing is written


def _listing(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*"))}


def test_validation_writes_nothing(tmp_path):
    training, taxonomy = frames()
    training.loc[12, "Linear TV_Brand_spend"] = -120.0
    folder = write(tmp_path / "dataset", training, taxonomy, priors="variable,parameter,mu,sigma\nx,y,z,0\n")
    (folder / "dataset.yaml").write_text("brand: Acme\n")
    before, parent_before = _listing(folder), _listing(tmp_path)
    with pytest.raises(DatasetError):
        load_dataset(folder)
    assert _listing(folder) == before
    assert _listing(tmp_path) == parent_before


# ---------------------------------------------------------------------------------------------
# Problem / DatasetError / S3


def test_problem_str():
    assert str(Problem("taxonomy.csv", "required column missing", "kind", 1)) == \
        "taxonomy.csv, column 'kind', line 1: required column missing"
    assert str(Problem("training.csv", "oops")) == "training.csv: oops"
    err = DatasetError([Problem("a.csv", "x"), Problem("b.csv", "y", row=3)], "ds/")
    assert str(err).splitlines() == ["2 problems in dataset ds/:", "- a.csv: x", "- b.csv, line 3: y"]


class _FakeS3:
    """Stands in for a boto3 S3 client serving one local folder as s3://bucket/prefix/."""

    def __init__(self, root: Path):
        from botocore.exceptions import ClientError

        self.root, self.ClientError, self.calls = root, ClientError, []

    def get_object(self, Bucket, Key):
        self.calls.append((Bucket, Key))
        assert Bucket == "bucket" and Key.startswith("some/prefix/")
        p = self.root / Key.removeprefix("some/prefix/")
        if not p.is_file():
            raise self.ClientError({"Error": {"Code": "NoSuchKey", "Message": "nope"}}, "GetObject")
        return {"Body": io.BytesIO(p.read_bytes())}


def test_s3_path_reads_in_memory(folder, monkeypatch):
    import boto3

    write(folder, *frames(), priors=GOOD_PRIORS)
    fake = _FakeS3(folder)
    seen = {}

    def client(service, endpoint_url=None, **kw):
        seen["service"], seen["endpoint_url"] = service, endpoint_url
        return fake

    monkeypatch.setattr(boto3, "client", client)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:9000")
    ds = load_dataset("s3://bucket/some/prefix/")
    assert seen == {"service": "s3", "endpoint_url": "http://localhost:9000"}
    assert ds.media == MEDIA and len(ds.priors) == 7
    assert ds.fingerprint == load_dataset(folder).fingerprint
    assert ("bucket", "some/prefix/training.csv") in fake.calls
    assert load_dataset("s3://bucket/some/prefix").media == MEDIA  # trailing slash optional


def test_s3_access_error_is_one_problem(folder, monkeypatch):
    import boto3
    from botocore.exceptions import ClientError

    class Denied:
        def get_object(self, Bucket, Key):
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetObject")

    monkeypatch.setattr(boto3, "client", lambda *a, **kw: Denied())
    problems = problems_of("s3://bucket/some/prefix/")
    assert len(problems) == 1 and "AccessDenied" in problems[0].message


def test_dataset_error_pickles():
    import pickle

    err = pickle.loads(pickle.dumps(DatasetError([Problem("a.csv", "x", "c", 2, "2023-01-02")], "ds")))
    assert err.problems == [Problem("a.csv", "x", "c", 2, "2023-01-02")] and err.path == "ds"
