"""The dashboard's store queries, checked against the same figures computed with pandas.

Three small synthetic runs (two brands; one run with audiences) are written as run folders,
synced into a temporary store, and every query is compared with an independent pandas answer
on the frames that were written.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from store import queries as q
from store.reader import StoreReader
from store.sync import sync

START = pd.Timestamp("2023-01-02")  # a Monday
WEEKS = 104
TRAIN_WEEKS = 80

# variable -> (channel, channel_group, pillar, message_type, has impressions)
MEDIA = {
    "Linear TV_Brand": ("Linear TV", "TV", "Brand", "Brand", True),
    "Linear TV_Promo": ("Linear TV", "TV", "Performance", "Promo", True),
    "Social_Promo": ("Social", "Digital", "Performance", "Promo", True),
    "Search_Promo": ("Search", "Digital", "Performance", "Promo", False),  # no impressions at all
    "Radio_Brand": ("Radio", "Audio", "Brand", "Brand", True),  # impressions always 0
    "OOH_Brand": ("OOH", "Outdoor", "Brand", "Brand", True),  # contribution < 0 in total
}
OTHERS = {"price": "control", "app_users": "owned", "pr_mentions": "earned", "christmas": "holiday"}
EVIL = "'; DROP TABLE runs; --"


def _series(rng: np.random.Generator, audience: str | None) -> pd.DataFrame:
    dates = START + pd.to_timedelta(np.arange(WEEKS) * 7, unit="D")
    y = np.round(rng.uniform(9_000, 11_000, WEEKS))
    rows = []

    def add(variable, kind, contribution, spend=np.nan, impressions=np.nan, labels=(None,) * 4):
        sd = np.abs(contribution) * 0.2 + 1
        rows.append(pd.DataFrame({
            "date": dates, "variable": variable, "channel": labels[0], "channel_group": labels[1],
            "pillar": labels[2], "message_type": labels[3], "audience": audience,
            "contribution": contribution, "contribution_lo": contribution - sd, "contribution_hi": contribution + sd,
            "spend": spend, "impressions": impressions, "transactions": y,
            "is_media_variable": kind == "media",
            "is_control_variable": kind in ("control", "owned", "earned", "holiday"),
            "kind": kind, "split": np.where(np.arange(WEEKS) < TRAIN_WEEKS, "train", "test"),
        }))

    media_total = np.zeros(WEEKS)
    for name, (*labels, has_impr) in MEDIA.items():
        spend = np.round(rng.uniform(0, 5_000, WEEKS), 2)
        spend[rng.random(WEEKS) < 0.2] = 0.0
        contribution = rng.uniform(20, 300, WEEKS)
        if name == "OOH_Brand":
            contribution = -contribution
        if not has_impr:
            impressions = np.full(WEEKS, np.nan)
        elif name == "Radio_Brand":
            impressions = np.zeros(WEEKS)
        else:
            impressions = np.round(spend * rng.uniform(50, 150, WEEKS))
        media_total += contribution
        add(name, "media", contribution, spend, impressions, labels)
    other_total = np.zeros(WEEKS)
    for name, kind in OTHERS.items():
        c = rng.normal(0, 200, WEEKS)
        if kind == "holiday":
            c = np.where(dates.month == 12, rng.uniform(300, 800, WEEKS), 0.0)
        other_total += c
        add(name, kind, c)
    seasonality = 500 * np.sin(np.arange(WEEKS) * 2 * np.pi / 52)
    add("seasonality", "seasonality", seasonality)
    # the baseline makes every date's contributions add up to the actual transactions exactly
    add("baseline", "baseline", y - media_total - other_total - seasonality)
    return pd.concat(rows, ignore_index=True)


def _summary(contrib: pd.DataFrame) -> pd.DataFrame:
    train = contrib[(contrib.kind == "media") & (contrib.split == "train")]
    s = train.groupby(["variable", "audience"], dropna=False).agg(
        spend=("spend", "sum"), impressions=("impressions", "sum"), contribution=("contribution", "sum")).reset_index()
    s["contribution_lo"] = s.contribution - 100.0
    s["contribution_hi"] = s.contribution + 150.0
    s["cost_per_incremental_transaction"] = s.spend / s.contribution
    s["cost_per_incremental_transaction_lo"] = s.cost_per_incremental_transaction * 0.9
    s["cost_per_incremental_transaction_hi"] = s.cost_per_incremental_transaction * 1.1
    s["transactions_per_1k_impressions"] = s.contribution / s.impressions * 1000
    return s


def _write_run(root: Path, run_id: str, brand: str, created: str, audiences: list[str] | None, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    contrib = pd.concat([_series(rng, a) for a in (audiences or [None])], ignore_index=True)
    for col in ("channel", "channel_group", "pillar", "message_type", "audience"):
        contrib[col] = contrib[col].astype("string")
    summary = _summary(contrib)
    summary["audience"] = summary["audience"].astype("string")
    response = pd.DataFrame({"audience": pd.array([None] * 4, dtype="string"), "variable": "Social_Promo",
                             "kind": "media", "parameter": "beta", "draw": np.arange(4), "value": rng.random(4)})
    folder = root / run_id
    folder.mkdir(parents=True)
    manifest = {"run_id": run_id, "brand": brand, "status": "completed", "created_at": created,
                "audience": audiences, "variant": "per_audience" if audiences else "national", "weeks": WEEKS,
                "train_start": str(START.date()), "train_end": str((START + pd.Timedelta(weeks=TRAIN_WEEKS - 1)).date())}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "metrics.json").write_text(json.dumps({"train": {"mape": 3.2, "r2": 0.9}, "max_rhat": 1.01}))
    contrib.to_parquet(folder / "contributions.parquet", index=False)
    summary.to_parquet(folder / "summary.parquet", index=False)
    response.to_parquet(folder / "response.parquet", index=False)
    return {"contributions": contrib, "summary": summary, "manifest": manifest}


RUNS = {
    "2024-03-01T10-00-00Z-aaaaaaa": ("alpha", "2024-03-01T10:00:00Z", None, 1),
    "2024-03-02T10-00-00Z-bbbbbbb": ("alpha", "2024-03-02T10:00:00Z", ["Loyal", "New"], 2),
    "2024-03-03T10-00-00Z-ccccccc": ("beta", "2024-03-03T10:00:00Z", None, 3),
}
NATIONAL, SEGMENTED, BETA = RUNS


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    frames = {run_id: _write_run(root, run_id, *spec) for run_id, spec in RUNS.items()}
    path = tmp_path_factory.mktemp("store") / "store.duckdb"
    report = sync(root, path)
    assert sorted(report.added) == sorted(RUNS) and not report.skipped
    reader = StoreReader(path)
    yield reader, frames, path
    reader.close()


# ------------------------------------------------------------------------------ pandas references

def _filtered(df, start=None, end=None, audiences=None, channels=None) -> pd.DataFrame:
    keep = pd.Series(True, index=df.index)
    if start is not None:
        keep &= df.date >= pd.Timestamp(start)
    if end is not None:
        keep &= df.date <= pd.Timestamp(end)
    if audiences is not None:
        keep &= df.audience.isin(audiences).fillna(False).astype(bool)
    if channels is not None:
        keep &= (df.kind != "media") | df.channel.isin(channels).fillna(False).astype(bool)
    return df[keep]


def _label(df, group_by) -> pd.Series:
    fallback = "National" if group_by == "audience" else "Unassigned"
    media = df[group_by].astype(object).where(df[group_by].notna(), fallback)
    fixed = np.select([df.kind.isin(["baseline", "seasonality"]), df.kind == "holiday"], ["Baseline", "Holidays"],
                      "Controls")
    return pd.Series(np.where(df.kind == "media", media, fixed), index=df.index)


def _actual(df) -> float:
    """Actual transactions, once per date × audience."""
    return float(df.groupby(["date", "audience"], dropna=False).transactions.first().sum())


def _media(df) -> pd.DataFrame:
    return df[df.kind == "media"]


def _close(a, b, rel=1e-9):
    return a == pytest.approx(b, rel=rel, abs=1e-6)


# ------------------------------------------------------------------------------ list_runs

def test_list_runs_newest_first_with_metrics_and_brand_filter(store):
    r, frames, _ = store
    runs = q.list_runs(r)
    assert list(runs.run_id) == [BETA, SEGMENTED, NATIONAL]
    assert {"status", "registry_status", "created_at", "variant", "train_start", "train_end", "weeks",
            "train_mape", "max_rhat"} <= set(runs.columns)
    row = runs.set_index("run_id").loc[NATIONAL]
    assert row.brand == "alpha" and row.train_mape == 3.2 and row.weeks == WEEKS and row.variant == "national"
    assert list(q.list_runs(r, ["alpha"]).run_id) == [SEGMENTED, NATIONAL]
    assert list(q.list_runs(r, ["beta"]).brand) == ["beta"]
    assert q.list_runs(r, []).empty
    assert q.list_runs(r, [EVIL]).empty


def test_filter_options(store):
    r, frames, _ = store
    opts = q.filter_options(r, SEGMENTED)
    assert opts["audiences"] == ["Loyal", "New"]
    assert opts["channels"] == sorted({v[0] for v in MEDIA.values()})
    assert pd.Timestamp(opts["start"]) == START and pd.Timestamp(opts["end"]) == START + pd.Timedelta(weeks=WEEKS - 1)
    assert q.filter_options(r, NATIONAL)["audiences"] == []
    assert q.filter_options(r, BETA, ["alpha"]) == {"start": None, "end": None, "audiences": [], "channels": []}


# ------------------------------------------------------------------------------ contributions_over_time

@pytest.mark.parametrize("run_id", [NATIONAL, SEGMENTED])
@pytest.mark.parametrize("group_by", q.GROUPS)
def test_over_time_matches_pandas_for_every_group(store, run_id, group_by):
    r, frames, _ = store
    df = frames[run_id]["contributions"]
    got = q.contributions_over_time(r, run_id, group_by)
    ref = df.assign(group=_label(df, group_by)).groupby(["date", "group"]).contribution.sum()
    got_s = got.set_index(["date", "group"]).contribution.sort_index()
    assert got_s.index.equals(ref.sort_index().index)
    np.testing.assert_allclose(got_s.to_numpy(), ref.sort_index().to_numpy(), rtol=1e-9)
    assert set(got.kind_group) == {"media", "baseline", "controls", "holidays"}
    assert set(got[got.kind_group == "baseline"].group) == {"Baseline"}
    # the stack adds up to the actual transactions of each week (the synthetic baseline closes the sum)
    weekly = got.groupby("date").contribution.sum()
    actual = df.groupby(["date", "audience"], dropna=False).transactions.first().groupby("date").sum()
    np.testing.assert_allclose(weekly.to_numpy(), actual.to_numpy(), rtol=1e-9)


def test_over_time_filters_dates_audiences_channels(store):
    r, frames, _ = store
    df = frames[SEGMENTED]["contributions"]
    kw = dict(start="2023-03-06", end=date(2023, 6, 26), audiences=["New"], channels=["Social", "Linear TV"])
    got = q.contributions_over_time(r, SEGMENTED, "message_type", **kw)
    sub = _filtered(df, **kw)
    ref = sub.assign(group=_label(sub, "message_type")).groupby(["date", "group"]).contribution.sum().sort_index()
    got_s = got.set_index(["date", "group"]).contribution.sort_index()
    assert got_s.index.equals(ref.index)
    np.testing.assert_allclose(got_s.to_numpy(), ref.to_numpy(), rtol=1e-9)
    assert got.date.min() == pd.Timestamp("2023-03-06") and got.date.max() == pd.Timestamp("2023-06-26")
    # the channel filter narrows media only; baseline and controls stay
    assert {"Baseline", "Controls"} <= set(got.group)
    assert q.contributions_over_time(r, NATIONAL, audiences=["New"]).empty  # national runs have no audiences


# ------------------------------------------------------------------------------ totals

@pytest.mark.parametrize("run_id", [NATIONAL, SEGMENTED])
@pytest.mark.parametrize("group_by", ["channel", "pillar", "audience", "variable"])
def test_totals_shares_and_spend(store, run_id, group_by):
    r, frames, _ = store
    df = frames[run_id]["contributions"]
    kw = dict(start="2023-07-03", end="2024-06-24")
    got = q.totals(r, run_id, group_by, **kw).set_index("group")
    sub = _filtered(df, **kw)
    media = _media(sub).assign(group=lambda d: _label(d, group_by))
    ref = media.groupby("group").agg(contribution=("contribution", "sum"), spend=("spend", "sum"))
    assert sorted(got.index) == sorted(ref.index)
    assert list(got.contribution) == sorted(got.contribution, reverse=True)
    ref = ref.loc[got.index]
    np.testing.assert_allclose(got.contribution, ref.contribution, rtol=1e-9)
    np.testing.assert_allclose(got.spend, ref.spend, rtol=1e-9)
    np.testing.assert_allclose(got.share, ref.contribution / _actual(sub), rtol=1e-9)
    np.testing.assert_allclose(got.media_share, ref.contribution / ref.contribution.sum(), rtol=1e-9)
    assert got.media_share.sum() == pytest.approx(1.0)


def test_totals_channel_and_audience_filter(store):
    r, frames, _ = store
    df = frames[SEGMENTED]["contributions"]
    kw = dict(audiences=["Loyal"], channels=["Search", "OOH"])
    got = q.totals(r, SEGMENTED, "variable", **kw).set_index("group")
    sub = _filtered(df, **kw)
    assert set(got.index) == {"Search_Promo", "OOH_Brand"}
    ref = _media(sub).groupby("variable").contribution.sum()
    np.testing.assert_allclose(got.contribution, ref.loc[got.index], rtol=1e-9)
    # the share's denominator is all transactions of the audience, not just the kept channels
    np.testing.assert_allclose(got.share, ref.loc[got.index] / _actual(sub), rtol=1e-9)
    assert got.loc["OOH_Brand", "contribution"] < 0


# ------------------------------------------------------------------------------ kpis

def _kpi_ref(sub: pd.DataFrame) -> dict:
    media = _media(sub)
    t, inc, spend = _actual(sub), float(media.contribution.sum()), float(media.spend.sum())
    return {"transactions": t, "incremental": inc, "media_share": inc / t, "spend": spend,
            "cost_per_incremental": spend / inc if inc > 0 else None}


@pytest.mark.parametrize("run_id,audiences", [(NATIONAL, None), (SEGMENTED, None), (SEGMENTED, ["Loyal"])])
def test_kpis_with_prior_year(store, run_id, audiences):
    r, frames, _ = store
    df = frames[run_id]["contributions"]
    start, end = date(2024, 1, 1), date(2024, 6, 24)
    got = q.kpis(r, run_id, start=start, end=end, audiences=audiences, channels=["Linear TV", "Social"])
    cur = _kpi_ref(_filtered(df, start, end, audiences, ["Linear TV", "Social"]))
    ps, pe = start - timedelta(days=364), end - timedelta(days=364)
    prior = _kpi_ref(_filtered(df, ps, pe, audiences, ["Linear TV", "Social"]))
    assert (got["start"], got["end"], got["prior_start"], got["prior_end"]) == (start, end, ps, pe)
    assert got["weeks"] == got["prior_weeks"] == 26
    for name in q._KPI_NAMES:
        k = got[name]
        assert _close(k["value"], cur[name]) and _close(k["prior"], prior[name]), name
        assert _close(k["change"], cur[name] - prior[name])
        assert _close(k["change_pct"], (cur[name] - prior[name]) / abs(prior[name]) * 100)


def test_kpis_without_prior_data_and_whole_run(store):
    r, frames, _ = store
    df = frames[NATIONAL]["contributions"]
    got = q.kpis(r, NATIONAL, end="2023-12-25")  # the run's first year: nothing 364 days earlier
    ref = _kpi_ref(_filtered(df, end="2023-12-25"))
    assert got["start"] == START.date() and got["weeks"] == 52 and got["prior_weeks"] == 0
    for name in q._KPI_NAMES:
        assert _close(got[name]["value"], ref[name])
        assert got[name]["prior"] is None and got[name]["change"] is None and got[name]["change_pct"] is None
    whole = q.kpis(r, NATIONAL)  # the whole run; its prior range covers only the first year
    assert whole["weeks"] == WEEKS and whole["prior_weeks"] == 52
    assert _close(whole["transactions"]["value"], _actual(df))
    assert _close(whole["transactions"]["prior"], _actual(_filtered(df, end=START + pd.Timedelta(weeks=51))))


def test_kpis_cost_per_incremental_is_none_without_positive_incremental(store):
    r, frames, _ = store
    got = q.kpis(r, NATIONAL, channels=["OOH"])  # OOH contributes negatively
    assert got["incremental"]["value"] < 0 and got["spend"]["value"] > 0
    assert got["cost_per_incremental"]["value"] is None
    assert q.kpis(r, NATIONAL, channels=[])["incremental"]["value"] == 0.0


# ------------------------------------------------------------------------------ decomposition

@pytest.mark.parametrize("run_id,group_by", [(NATIONAL, "channel"), (SEGMENTED, "audience"),
                                             (SEGMENTED, "channel_group")])
def test_decomposition_waterfall_sums_to_transactions(store, run_id, group_by):
    r, frames, _ = store
    df = frames[run_id]["contributions"]
    kw = dict(start="2023-04-03", end="2024-03-25")
    got = q.decomposition(r, run_id, group_by, **kw)
    sub = _filtered(df, **kw)
    assert list(got.step[:3]) == ["Baseline", "Controls", "Holidays"] and got.step.iloc[-1] == "Total"
    assert list(got.kind) == ["baseline", "controls", "holidays", *["media"] * (len(got) - 4), "total"]
    media_steps = got[got.kind == "media"]
    assert list(media_steps.value) == sorted(media_steps.value, reverse=True)
    ref = sub.assign(group=_label(sub, group_by)).groupby("group").contribution.sum()
    np.testing.assert_allclose(got.set_index("step").value.drop("Total").loc[ref.index], ref, rtol=1e-9)
    # running sums: each step starts where the previous ended; Total spans 0 → sum = actual transactions
    steps = got.iloc[:-1]
    np.testing.assert_allclose(steps.start.iloc[1:].to_numpy(), steps.end.iloc[:-1].to_numpy())
    np.testing.assert_allclose(steps.end - steps.start, steps.value)
    total = got.iloc[-1]
    assert total.start == 0 and _close(total.end, total.value) and _close(total.value, steps.value.sum())
    assert _close(total.value, _actual(sub))


def test_decomposition_with_channel_filter_totals_the_kept_steps(store):
    r, frames, _ = store
    got = q.decomposition(r, NATIONAL, channels=["Social"])
    assert list(got.step) == ["Baseline", "Controls", "Holidays", "Social", "Total"]
    assert _close(got.value.iloc[-1], got.value.iloc[:-1].sum())


# ------------------------------------------------------------------------------ driver_performance

def _driver_ref(sub: pd.DataFrame, group_by: str) -> pd.DataFrame:
    media = _media(sub).assign(group=lambda d: _label(d, group_by))
    out = media.groupby("group").agg(spend=("spend", "sum"), impressions=("impressions", lambda s: s.sum(min_count=1)),
                                     contribution=("contribution", "sum"))
    seen = media[media.impressions.notna()].groupby("group").contribution.sum().reindex(out.index)
    out["efficiency"] = np.where(out.contribution > 0, out.spend / out.contribution, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["effectiveness"] = np.where(out.impressions > 0, seen / out.impressions * 1000, np.nan)
    return out


@pytest.mark.parametrize("run_id", [NATIONAL, SEGMENTED])
@pytest.mark.parametrize("group_by", ["channel", "variable", "channel_group"])
def test_driver_performance(store, run_id, group_by):
    r, frames, _ = store
    df = frames[run_id]["contributions"]
    kw = dict(start="2024-01-01", end="2024-12-23")
    got = q.driver_performance(r, run_id, group_by, **kw).set_index("group")
    ref = _driver_ref(_filtered(df, **kw), group_by).loc[got.index]
    assert sorted(got.index) == sorted(ref.index)
    for col in ("spend", "impressions", "contribution", "efficiency", "effectiveness"):
        np.testing.assert_allclose(got[col].to_numpy(float), ref[col].to_numpy(float), rtol=1e-9, err_msg=col)


def test_driver_performance_zero_division_cases(store):
    r, _, _ = store
    got = q.driver_performance(r, NATIONAL, "variable").set_index("group")
    assert got.loc["OOH_Brand", "contribution"] < 0 and pd.isna(got.loc["OOH_Brand", "efficiency"])
    assert got.loc["Radio_Brand", "impressions"] == 0 and pd.isna(got.loc["Radio_Brand", "effectiveness"])
    assert pd.isna(got.loc["Search_Promo", "impressions"]) and pd.isna(got.loc["Search_Promo", "effectiveness"])
    assert got.loc["Social_Promo", "efficiency"] > 0 and got.loc["Social_Promo", "effectiveness"] > 0


def test_driver_performance_prior_year(store):
    r, frames, _ = store
    df = frames[SEGMENTED]["contributions"]
    start, end = date(2024, 1, 1), date(2024, 12, 23)
    got = q.driver_performance(r, SEGMENTED, "channel", prior_year=True, start=start, end=end,
                               audiences=["Loyal"]).set_index("group")
    ref = _driver_ref(_filtered(df, start - timedelta(days=364), end - timedelta(days=364), ["Loyal"]), "channel")
    np.testing.assert_allclose(got.contribution, ref.contribution.loc[got.index], rtol=1e-9)
    np.testing.assert_allclose(got.spend, ref.spend.loc[got.index], rtol=1e-9)
    # without dates: the run's own range shifted back, i.e. its first year
    whole = q.driver_performance(r, NATIONAL, "channel", prior_year=True).set_index("group")
    dfn = frames[NATIONAL]["contributions"]
    ref = _driver_ref(_filtered(dfn, end=START + pd.Timedelta(weeks=51)), "channel")
    np.testing.assert_allclose(whole.contribution, ref.contribution.loc[whole.index], rtol=1e-9)
    assert q.driver_performance(r, NATIONAL, prior_year=True, end="2023-12-25").empty


# ------------------------------------------------------------------------------ contribution_intervals

def test_intervals_exact_per_variable_and_summed_per_channel(store):
    r, frames, _ = store
    s = frames[NATIONAL]["summary"].set_index("variable")
    got = q.contribution_intervals(r, NATIONAL).set_index("group")
    np.testing.assert_allclose(got.contribution, s.contribution.loc[got.index])
    np.testing.assert_allclose(got.lo, s.contribution_lo.loc[got.index])
    np.testing.assert_allclose(got.hi, s.contribution_hi.loc[got.index])
    assert not got.approximate.any()

    by_channel = q.contribution_intervals(r, NATIONAL, "channel").set_index("group")
    s["channel"] = s.index.map(lambda v: MEDIA[v][0])
    ref = s.groupby("channel")[["contribution", "contribution_lo", "contribution_hi"]].sum()
    np.testing.assert_allclose(by_channel.contribution, ref.contribution.loc[by_channel.index])
    np.testing.assert_allclose(by_channel.lo, ref.contribution_lo.loc[by_channel.index])
    assert by_channel.loc["Linear TV", "approximate"] and not by_channel.loc["Social", "approximate"]


def test_intervals_on_audiences(store):
    r, frames, _ = store
    s = frames[SEGMENTED]["summary"]
    got = q.contribution_intervals(r, SEGMENTED, "variable").set_index("group")
    assert got.approximate.all()  # each variable sums two audiences
    np.testing.assert_allclose(got.hi, s.groupby("variable").contribution_hi.sum().loc[got.index])
    one = q.contribution_intervals(r, SEGMENTED, "variable", audiences=["New"]).set_index("group")
    ref = s[s.audience == "New"].set_index("variable")
    np.testing.assert_allclose(one.lo, ref.contribution_lo.loc[one.index])
    assert not one.approximate.any()
    tv = q.contribution_intervals(r, SEGMENTED, "pillar", channels=["Linear TV"]).set_index("group")
    assert set(tv.index) == {"Brand", "Performance"}
    ref = s[s.variable == "Linear TV_Brand"].contribution.sum()
    assert _close(tv.loc["Brand", "contribution"], ref)


def test_intervals_over_part_of_the_run_sum_the_weekly_bounds(store):
    r, frames, _ = store
    c = frames[NATIONAL]["contributions"]
    media = c[(c.kind == "media") & (pd.to_datetime(c.date) >= "2024-01-01")]
    ref = media.groupby("channel")[["contribution", "contribution_lo", "contribution_hi"]].sum()
    got = q.contribution_intervals(r, NATIONAL, "channel", start="2024-01-01").set_index("group")
    assert set(got.index) == set(ref.index) and got.approximate.all()
    np.testing.assert_allclose(got.contribution, ref.contribution.loc[got.index])
    np.testing.assert_allclose(got.lo, ref.contribution_lo.loc[got.index])
    np.testing.assert_allclose(got.hi, ref.contribution_hi.loc[got.index])
    # a range covering the whole run is the fit window: the exact per-draw intervals of the summaries
    whole = q.contribution_intervals(r, NATIONAL, "variable", start="2000-01-01", end="2099-01-01")
    pd.testing.assert_frame_equal(whole, q.contribution_intervals(r, NATIONAL, "variable"))


# ------------------------------------------------------------------------------ access and safety

def test_prior_year_range():
    assert q.prior_year_range("2024-01-01", date(2024, 6, 24)) == (date(2023, 1, 2), date(2023, 6, 26))
    assert q.prior_year_range(None, None) == (None, None)


ALL_CALLS = [
    lambda r, run, b, **kw: q.contributions_over_time(r, run, "channel", b, **kw),
    lambda r, run, b, **kw: q.totals(r, run, "pillar", b, **kw),
    lambda r, run, b, **kw: q.decomposition(r, run, "audience", b, **kw),
    lambda r, run, b, **kw: q.driver_performance(r, run, "variable", b, **kw),
    lambda r, run, b, **kw: q.driver_performance(r, run, "variable", b, prior_year=True, **kw),
    lambda r, run, b, **kw: q.contribution_intervals(r, run, "channel", b, **{k: v for k, v in kw.items()
                                                                              if k in ("audiences", "channels")}),
    lambda r, run, b, **kw: q.contribution_intervals(r, run, "variable", b, **{k: v for k, v in kw.items()
                                                                               if k in ("audiences", "channels")}),
]


def _empty_kpis(k: dict) -> bool:
    return k["weeks"] == 0 and all(k[n]["value"] is None for n in ("transactions", "media_share"))


@pytest.mark.parametrize("call", ALL_CALLS)
def test_brand_filter_never_returns_other_brands(store, call):
    r, _, _ = store
    assert not call(r, NATIONAL, ["alpha"]).empty
    assert call(r, BETA, ["alpha"]).empty  # brand B's run asked for directly
    assert call(r, NATIONAL, []).empty
    assert not call(r, BETA, None).empty and not call(r, BETA, ("alpha", "beta")).empty
    assert _empty_kpis(q.kpis(r, BETA, ["alpha"])) and _empty_kpis(q.kpis(r, NATIONAL, []))
    assert not _empty_kpis(q.kpis(r, BETA, ["beta"]))


def _counts(path: Path) -> dict[str, int]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("runs", "contributions", "summaries", "response_draws", "sync_state")}
    finally:
        con.close()


def test_injection_values_are_bound_not_pasted(store):
    r, _, path = store
    before = _counts(path)
    assert before["runs"] == 3
    for call in ALL_CALLS:
        assert call(r, EVIL, None).empty
        assert call(r, NATIONAL, [EVIL]).empty
        assert call(r, SEGMENTED, None, audiences=[EVIL]).empty
        got = call(r, NATIONAL, None, channels=[EVIL])
        assert "media" not in set(got.get("kind_group", got.get("kind", pd.Series(dtype=object))))
    assert q.totals(r, NATIONAL, channels=[EVIL]).empty
    assert _empty_kpis(q.kpis(r, EVIL)) and q.kpis(r, NATIONAL, channels=[EVIL])["incremental"]["value"] == 0
    assert q.list_runs(r, [EVIL]).empty
    assert _counts(path) == before


@pytest.mark.parametrize("bad", ["spend", "channel; DROP TABLE runs", "Channel", "", None, 3])
def test_group_by_outside_whitelist_raises(store, bad):
    r, _, _ = store
    for fn in (q.contributions_over_time, q.totals, q.decomposition, q.driver_performance, q.contribution_intervals):
        with pytest.raises(ValueError, match="group_by"):
            fn(r, NATIONAL, bad)


def test_bad_dates_raise(store):
    r, _, _ = store
    with pytest.raises(ValueError, match="start"):
        q.totals(r, NATIONAL, start="not a date")
