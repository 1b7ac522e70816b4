"""The Measure charts with many groups (94 audiences, 68 variables): the largest ones drawn by name, the rest
folded or left to the table, and no total changed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from artemis_panel import charts


@pytest.fixture
def many():
    rng = np.random.default_rng(3)
    n = 40
    groups = [f"Audience {i:02d}" for i in range(n)]
    contribution = rng.gamma(2.0, 500.0, n)
    spend = rng.gamma(2.0, 9000.0, n)
    return pd.DataFrame({"group": groups, "contribution": contribution, "spend": spend,
                         "impressions": spend * 80, "efficiency": spend / contribution,
                         "effectiveness": contribution / (spend * 80) * 1000})


def test_the_waterfall_folds_the_smallest_media_steps_and_keeps_the_total(many):
    media = many.sort_values("contribution", ascending=False)
    fixed = pd.DataFrame({"step": ["Baseline", "Controls", "Holidays"], "value": [50_000.0, -1_200.0, 800.0],
                          "kind": ["baseline", "controls", "holidays"]})
    body = pd.concat([fixed, pd.DataFrame({"step": media.group, "value": media.contribution, "kind": "media"})],
                     ignore_index=True)
    ends = body.value.cumsum()
    steps = pd.concat([body.assign(start=ends - body.value, end=ends),
                       pd.DataFrame({"step": ["Total"], "value": [ends.iloc[-1]], "start": [0.0],
                                     "end": [ends.iloc[-1]], "kind": ["total"]})], ignore_index=True)
    chart = charts.Waterfall()
    chart.update(steps)
    drawn = chart.source.data
    k = charts.MAX_CATEGORIES
    assert drawn["step"][:3] == ["Baseline", "Controls", "Holidays"]
    assert drawn["step"][3:3 + k - 1] == media.group.iloc[:k - 1].tolist()
    assert drawn["step"][3 + k - 1] == f"Other media ({len(media) - (k - 1)})"
    assert drawn["step"][-1] == "Total" and len(drawn["step"]) == 3 + k + 1
    other = media.contribution.iloc[k - 1:].sum()
    assert drawn["end"][-2] - drawn["start"][-2] == pytest.approx(other)
    assert drawn["end"][-1] == pytest.approx(fixed.value.sum() + media.contribution.sum())
    assert chart.fig.x_range.factors == drawn["step"]


def test_a_few_media_steps_are_drawn_as_they_are():
    steps = pd.DataFrame({"step": ["Baseline", "TV", "Search", "Total"], "value": [10.0, 3.0, 2.0, 15.0],
                          "start": [0.0, 10.0, 13.0, 0.0], "end": [10.0, 13.0, 15.0, 15.0],
                          "kind": ["baseline", "media", "media", "total"]})
    assert charts.fold_media_steps(steps, charts.MAX_CATEGORIES) is steps


def test_the_bars_show_the_largest_groups_and_say_how_many_more_the_table_has(many):
    intervals = (many.assign(lo=many.contribution * 0.7, hi=many.contribution * 1.3, approximate=False)
                 .sort_values("contribution", ascending=False, ignore_index=True))
    chart = charts.IntervalBars()
    chart.update(intervals, "Audience", charts.colors(intervals.group.tolist()))
    k = charts.MAX_CATEGORIES
    assert chart.source.data["group"] == many.nlargest(k, "contribution").group.tolist()
    assert f"largest {k} of {len(many)}" in chart.fig.title.text
    chart.update(intervals.iloc[:5], "Audience", {})
    assert len(chart.source.data["group"]) == 5 and "largest" not in chart.fig.title.text


def test_every_group_is_a_bubble_and_the_largest_spenders_are_named(many):
    chart = charts.Bubbles()
    chart.update(many, None, "Audience", charts.colors(many.group.tolist()))
    data = chart.source.data
    assert data["group"] == many.group.tolist()
    named = {g for g, label in zip(data["group"], data["label"]) if label}
    assert named == set(many.nlargest(charts.MAX_CATEGORIES, "spend").group)
    assert all(label in ("", g) for g, label in zip(data["group"], data["label"]))


def test_the_axes_span_the_data_drawn():
    from bokeh.models import Range1d

    r = Range1d()

    def fit(*values, **kw):
        charts._set_range(r, charts._span(*values, **kw))

    fit([0.0, 120.0, 80.0])  # bars from zero: nothing below it, 5% above the tallest
    assert (r.start, r.end) == (0.0, pytest.approx(126.0)) and (r.reset_start, r.reset_end) == (r.start, r.end)
    fit([-20.0, 80.0], [np.nan])  # a negative step: room both sides
    assert (r.start, r.end) == (pytest.approx(-25.0), pytest.approx(85.0))
    fit([0.0, 0.0])  # nothing but zeros: still a range
    assert r.end > r.start == 0.0
    fit([2.0, 4.0], pad=0.5, zero=False)
    assert (r.start, r.end) == (pytest.approx(1.0), pytest.approx(5.0))


def test_the_time_axis_spans_the_weeks_even_one():
    area = charts.StackedArea()
    week = pd.Timestamp("2024-03-04")
    frame = pd.DataFrame({"date": [week, week], "group": ["Baseline", "TV"], "kind_group": ["baseline", "media"],
                          "contribution": [100.0, 30.0]})
    area.update(frame, "Channel", charts.colors(["Baseline", "TV"]))
    ms = week.value / 1e6
    assert area.fig.x_range.start < ms < area.fig.x_range.end
    assert area.fig.y_range.start == 0.0 and area.fig.y_range.end == pytest.approx(130.0 * 1.05)
