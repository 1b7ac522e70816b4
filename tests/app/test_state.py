"""AppState: the per-session filters and what they hand to the store queries."""

from __future__ import annotations

from datetime import timedelta

import pytest

from artemis_panel.state import AppState, period_range
from store.reader import StoreReader


def test_a_new_session_shows_the_newest_run_of_the_first_brand_over_the_last_52_weeks(state, demo_rows, demo_run_id):
    assert state.brand == "Artemis Burgers" and state.run_id == demo_run_id
    first, last = min(demo_rows.date), max(demo_rows.date)
    assert state.run_bounds == (first, last)
    assert state.date_range == (last - timedelta(weeks=51), last)
    assert state.param.audiences.objects == sorted(demo_rows.audience.dropna().unique())
    media = demo_rows[demo_rows.kind == "media"]
    assert state.param.channels.objects == sorted(media.channel.unique())


def test_presets_and_hand_edited_dates(state):
    first, last = state.run_bounds
    state.period = "Last 13 weeks"
    assert state.date_range == (last - timedelta(weeks=12), last)
    state.period = "All weeks"
    assert state.date_range == (first, last)
    state.date_range = (first + timedelta(weeks=4), last)  # edited by hand
    assert state.period == "Custom"
    state.period = "Last 26 weeks"
    assert state.date_range == (last - timedelta(weeks=25), last)


def test_period_range_is_clipped_to_the_run():
    first, last = period_range("Last 52 weeks", *[__import__("datetime").date(2024, 1, 1)] * 2)
    assert first == last


def test_filters_passed_to_the_queries(state):
    state.audiences = ["Loyal"]
    state.channels = ["OOH", "Audio"]
    f = state.filters()
    assert f["audiences"] == ["Loyal"] and f["channels"] == ["OOH", "Audio"] and f["brands"] is None
    assert (f["start"], f["end"]) == tuple(state.date_range)
    state.audiences, state.channels = [], []
    assert state.filters()["audiences"] is None and state.filters()["channels"] is None  # none picked: all


def test_changing_the_grouping_clears_the_chart_selection(state):
    state.selection = ["Linear TV"]
    state.group_by = "pillar"
    assert state.selection == []


def test_a_session_limited_to_other_brands_sees_no_run(demo_store):
    reader = StoreReader(demo_store)
    try:
        s = AppState(reader, brands=["Luna Tacos"])
        assert s.brand is None and s.run_id is None and s.param.brand.objects == []
        assert s.param.channels.objects == []
    finally:
        reader.close()


def test_an_unknown_grouping_is_refused(state):
    with pytest.raises(ValueError):
        state.group_by = "region"


def test_a_run_or_brand_outside_the_options_is_refused(state):
    """(What a crafted WebSocket message would try: the pickers only take what they offer.)"""
    run, brand = state.run_id, state.brand
    with pytest.raises(ValueError):
        state.run_id = "2020-01-01T00-00-00Z-0000000"
    with pytest.raises(ValueError):
        state.brand = "Luna Tacos"
    assert (state.run_id, state.brand) == (run, brand)


def test_sessions_share_the_run_list_read_from_a_store_file(demo_store, tmp_path, monkeypatch):
    """A second session on the same store file opens without asking the store for the runs and the filter options
    again (and sees the same ones); a session limited to other brands gets its own; a swapped-in file is read again."""
    import shutil

    from store import queries as q

    path = tmp_path / "store.duckdb"
    shutil.copyfile(demo_store, path)
    reader = StoreReader(path)
    calls: list[str] = []
    for name in ("list_runs", "filter_options"):
        real = getattr(q, name)
        monkeypatch.setattr(q, name, lambda *a, _real=real, _name=name, **kw: calls.append(_name) or _real(*a, **kw))
    try:
        first = AppState(reader)
        assert calls == ["list_runs", "filter_options"]
        calls.clear()
        second = AppState(reader)
        assert calls == []
        assert (second.run_id, second.date_range, second.param.audiences.objects) == \
            (first.run_id, first.date_range, first.param.audiences.objects)
        other = AppState(reader, brands=["Luna Tacos"])
        assert calls == ["list_runs"] and other.run_id is None
        calls.clear()
        swapped = tmp_path / "store.new"
        shutil.copyfile(demo_store, swapped)
        swapped.replace(path)  # (as a sync publishes a new store file)
        third = AppState(reader)
        assert calls == ["list_runs", "filter_options"] and third.run_id == first.run_id
    finally:
        reader.close()
