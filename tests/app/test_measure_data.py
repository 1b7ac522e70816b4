"""The Measure tab's data logic against the run folder's own rows (pandas, not the store)."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pandas as pd
import pytest

from artemis_panel import formatting as fmt
from artemis_panel.measure_data import TABLE_COLUMNS, kpi_cards, load_measure, restack, select, table, table_csv


def _window(rows, start, end):
    return rows[(rows.date >= start) & (rows.date <= end)]


@pytest.fixture
def loaded(state):
    return load_measure(state.reader, state.run_id, state.group_by, state.filters())


def test_kpis_and_over_time_match_the_run_rows(state, loaded, demo_rows):
    start, end = state.date_range
    w = _window(demo_rows, start, end)
    media = w[w.kind == "media"]
    assert loaded.kpis["incremental"]["value"] == pytest.approx(media.contribution.sum())
    assert loaded.kpis["spend"]["value"] == pytest.approx(media.spend.sum())
    assert loaded.kpis["transactions"]["value"] == pytest.approx(w[w.kind == "baseline"].transactions.sum())
    ot = loaded.over_time
    assert ot.contribution.sum() == pytest.approx(w.contribution.sum())
    by_channel = ot[ot.kind_group == "media"].groupby("group").contribution.sum()
    np.testing.assert_allclose(by_channel.sort_index(), media.groupby("channel").contribution.sum().sort_index())


def test_selecting_groups_keeps_them_and_the_fixed_steps(loaded):
    picked = loaded.groups[1:3]
    s = select(loaded, picked)
    assert s.selection == picked
    assert set(s.over_time[s.over_time.kind_group == "media"].group) == set(picked)
    assert set(s.over_time[s.over_time.kind_group != "media"].group) == set(
        loaded.over_time[loaded.over_time.kind_group != "media"].group)
    steps = s.waterfall.set_index("step")
    fixed = loaded.waterfall[loaded.waterfall.kind.isin(["baseline", "controls", "holidays"])].value.sum()
    media = loaded.waterfall.set_index("step").value.loc[picked].sum()
    assert steps.loc["Total", "value"] == pytest.approx(fixed + media)
    assert table(s).group.tolist() == [g for g in loaded.groups if g in picked]
    assert select(loaded, ["not a group"]).selection == [] and len(select(loaded, []).drivers) == len(loaded.drivers)


def test_restack_runs_from_zero_and_ends_at_the_total():
    wf = pd.DataFrame({"step": ["Baseline", "A", "B", "Total"], "value": [10.0, 3.0, -1.0, 12.0],
                       "start": 0.0, "end": 0.0, "kind": ["baseline", "media", "media", "total"]})
    out = restack(wf[wf.step != "A"])
    assert out.step.tolist() == ["Baseline", "B", "Total"]
    assert out.end.tolist() == [10.0, 9.0, 9.0] and out.start.tolist() == [0.0, 10.0, 0.0]


def test_table_and_csv_match_the_rows_including_the_prior_year(state, demo_rows):
    state.period = "Last 52 weeks"
    d = load_measure(state.reader, state.run_id, "channel", state.filters())
    t = table(d).set_index("group")
    start, end = state.date_range
    media = _window(demo_rows, start, end).query("kind == 'media'").groupby("channel")
    np.testing.assert_allclose(t.spend, media.spend.sum().loc[t.index])
    np.testing.assert_allclose(t.efficiency, (media.spend.sum() / media.contribution.sum()).loc[t.index])
    eff = media.apply(lambda g: g.contribution[g.impressions.notna()].sum() / g.impressions.sum() * 1000)
    np.testing.assert_allclose(t.effectiveness, eff.loc[t.index])
    prior = _window(demo_rows, start - pd.Timedelta(days=364), end - pd.Timedelta(days=364))
    prior = prior.query("kind == 'media'").groupby("channel").contribution.sum()
    np.testing.assert_allclose(t.contribution_prior, prior.loc[t.index])
    np.testing.assert_allclose(t.change_pct, ((t.contribution - prior.loc[t.index]) / prior.loc[t.index] * 100))
    csv = pd.read_csv(io.StringIO(table_csv(d)))
    assert list(csv.columns) == list(TABLE_COLUMNS.values())
    assert csv["Group"].tolist() == t.index.tolist()
    np.testing.assert_allclose(csv["Spend"], t.spend)


def test_kpi_cards_say_whether_a_change_is_good_news(loaded):
    cards = {c["name"]: c for c in kpi_cards(loaded.kpis)}
    assert list(cards) == ["transactions", "incremental", "media_share", "spend", "cost_per_incremental"]
    cpi = loaded.kpis["cost_per_incremental"]
    assert cards["cost_per_incremental"]["good"] == (cpi["change_pct"] < 0)  # cheaper is better
    assert cards["spend"]["good"] is None  # spending more is neither
    assert cards["incremental"]["value"] == fmt.number(loaded.kpis["incremental"]["value"])


def test_formatting():
    assert fmt.number(1_234_567) == "1.2M" and fmt.number(5_400) == "5.4k" and fmt.number(12.34) == "12.3"
    assert fmt.money(340_000) == "$340.0k" and fmt.money(-12.5) == "-$12.50" and fmt.money(None) == "–"
    assert fmt.percent(0.125) == "12.5%" and fmt.percent(0.031, signed=True) == "+3.1%"
    assert fmt.change(3.14) == "+3.1% vs PY" and fmt.change(None) == "no prior year"
    assert fmt.number(float("nan")) == "–"


def test_a_range_without_a_prior_year_has_no_change(state):
    first, _ = state.run_bounds
    d = load_measure(state.reader, state.run_id, "channel", {**state.filters(), "start": first,
                                                               "end": date(first.year, 3, 28)})
    assert d.kpis["spend"]["prior"] is None
    assert table(d).contribution_prior.isna().all()


def _counting(reader, monkeypatch) -> list:
    """Count the store queries the reader runs from now on."""
    calls = []
    real = type(reader)._cursor

    def counted(self):
        calls.append(1)
        return real(self)

    monkeypatch.setattr(type(reader), "_cursor", counted)
    return calls


def test_a_question_asked_again_is_answered_without_the_store(state, monkeypatch, demo_rows):
    import shutil

    from artemis_panel.measure_data import _ask_store
    from store.reader import StoreReader

    path = state.reader.path.parent / "answers-copy.duckdb"
    shutil.copyfile(state.reader.path, path)
    reader = StoreReader(path)
    try:
        filters = state.filters()
        first = load_measure(reader, state.run_id, "channel", filters)
        calls = _counting(reader, monkeypatch)
        again = load_measure(reader, state.run_id, "channel", dict(filters))  # (another session's equal filters)
        assert again is first and calls == []
        # other filters: their own answer, the store's (and then kept too)
        audience = sorted(demo_rows.audience.unique())[0]
        other = load_measure(reader, state.run_id, "channel", {**filters, "audiences": [audience]})
        assert calls != [] and other is not first
        fresh = _ask_store(reader, state.run_id, "channel", {**filters, "audiences": [audience]})
        assert other.kpis["incremental"]["value"] == pytest.approx(fresh.kpis["incremental"]["value"])
        assert other.kpis["incremental"]["value"] != pytest.approx(first.kpis["incremental"]["value"])
        # a sync swaps in another store file: the answers kept were of the old one
        swapped = path.with_suffix(".new")
        shutil.copyfile(state.reader.path, swapped)
        swapped.replace(path)
        calls.clear()
        after = load_measure(reader, state.run_id, "channel", filters)
        assert calls != [] and after is not first
        assert after.kpis["incremental"]["value"] == pytest.approx(first.kpis["incremental"]["value"])
    finally:
        reader.close()
