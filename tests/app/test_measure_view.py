"""MeasureView without a browser: what its charts' sources and table hold after filters and selections."""

from __future__ import annotations

import pytest

from artemis_panel.views import measure as measure_view
from artemis_panel.views.measure import MeasureView


@pytest.fixture
def view(state):
    v = MeasureView(state=state)
    v.show()  # first draw
    return v


def test_first_draw_fills_every_chart_and_the_table(view, demo_rows, state):
    start, end = state.date_range
    media = demo_rows[(demo_rows.kind == "media") & (demo_rows.date >= start) & (demo_rows.date <= end)]
    by_channel = media.groupby("channel").contribution.sum().sort_values(ascending=False)
    assert view._bars_chart.source.data["group"] == by_channel.index.tolist()
    assert view._table.value.group.tolist() == by_channel.index.tolist()
    assert set(view._area_chart.bands.data["group"]) == {"Baseline", "Controls", "Holidays", *by_channel.index}
    assert view._waterfall_chart.fig.x_range.factors[-1] == "Total"
    assert view.renders == 1 and 'data-kpi="spend"' in view._kpis.object


def test_group_by_and_channel_filter_redraw(view, state, demo_rows):
    state.group_by = "message_type"
    assert set(view._bars_chart.source.data["group"]) == set(demo_rows.query("kind == 'media'").message_type)
    state.group_by = "channel"
    state.channels = ["OOH"]
    assert view._table.value.group.tolist() == ["OOH"]
    assert view.renders == 4  # the first draw and one per change


def test_picking_bars_filters_the_other_charts_and_the_table_but_not_the_bars(view, state):
    groups = view._bars_chart.source.data["group"]
    view._bars_chart.source.selected.indices = [1, 2]  # as a box select in the browser would
    assert state.selection == groups[1:3]
    assert view._table.value.group.tolist() == groups[1:3]
    assert view._bubbles_chart.source.data["group"] == [g for g in groups[1:3]
                                                         if g in view._bubbles_chart.source.data["group"]]
    assert view._bars_chart.source.data["group"] == groups  # the chart picked in keeps every bar
    media_bands = [g for g in view._area_chart.bands.data["group"] if g not in ("Baseline", "Controls", "Holidays")]
    assert sorted(media_bands) == sorted(groups[1:3])
    state.selection = []  # "Clear selection"
    assert view._table.value.group.tolist() == groups


def test_the_csv_download_holds_the_table(view):
    text = view._csv().getvalue()
    lines = text.strip().splitlines()
    assert lines[0].startswith("Group,Incremental transactions,94% low,94% high")
    assert [line.split(",")[0] for line in lines[1:]] == view._table.value.group.tolist()


def test_a_failing_query_keeps_the_charts_and_says_why(view, state, monkeypatch):
    before = list(view._bars_chart.source.data["group"])

    def boom(*a, **k):
        raise RuntimeError("disk gone")

    monkeypatch.setattr(measure_view, "load_measure", boom)
    state.group_by = "pillar"
    assert "disk gone" in view._note.object
    assert view._bars_chart.source.data["group"] == before


def test_a_session_asking_what_another_asked_is_shown_the_same_drawing_not_a_new_one(view, state, monkeypatch):
    """The charts' drawing of an answer is kept with it: a second session with the same filters shows the same
    charts without drawing them again; a new question is drawn; nobody can change a kept drawing in place."""
    from artemis_panel import charts
    from artemis_panel.state import AppState

    drawn = []
    for chart in (charts.StackedArea, charts.Waterfall, charts.IntervalBars, charts.Bubbles):
        original = chart.__dict__["draw"].__func__

        def counting(*args, _original=original, _chart=chart):
            drawn.append(_chart.__name__)
            return _original(*args)

        monkeypatch.setattr(chart, "draw", classmethod(counting) if chart is charts.Bubbles else staticmethod(counting))
    other = MeasureView(state=AppState(state.reader))
    other.show()
    assert drawn == []
    for mine, theirs in [(view._area_chart.bands, other._area_chart.bands), (view._bars_chart.source,
                                                                              other._bars_chart.source)]:
        assert theirs.data["group"] == mine.data["group"]
    assert other._kpis.object.split('<span class="measure-status"')[0] == \
        view._kpis.object.split('<span class="measure-status"')[0]
    ys = other._area_chart.bands.data["ys"][0]
    with pytest.raises(ValueError):
        ys[0] = 0.0  # (read-only: shared with the first session)
    other.state.group_by = "pillar"
    assert sorted(drawn) == ["Bubbles", "IntervalBars", "StackedArea", "Waterfall"]
    assert view._bars_chart.source.data["group"] != other._bars_chart.source.data["group"]
