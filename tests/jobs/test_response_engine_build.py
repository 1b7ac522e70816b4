"""The response engine's build from its two tables: the same engine whatever form the tables come in (pandas
frames with Arrow, object or categorical text columns, pyarrow tables read from the run folder) and
whatever order their rows are in; and the vectorised plan helpers against their plain definitions."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from jobs.response_engine import ResponseEngine, check_plan
from store.paths import BUNDLED_DEMO_RUNS

RUN = next(p for p in BUNDLED_DEMO_RUNS.iterdir() if p.is_dir())
TEXT = ("audience", "variable", "kind", "parameter")


def assert_same_engine(a: ResponseEngine, b: ResponseEngine) -> None:
    assert a.media == b.media and a.draws == b.draws
    assert np.array_equal(a.dates, b.dates)
    pd.testing.assert_frame_equal(a.taxonomy, b.taxonomy, check_exact=True)
    assert [s.audience for s in a.series] == [s.audience for s in b.series]
    for s, t in zip(a.series, b.series):
        for f in dataclasses.fields(s):
            x, y = getattr(s, f.name), getattr(t, f.name)
            if isinstance(x, np.ndarray):
                assert x.dtype == y.dtype and x.shape == y.shape, f.name
                assert np.array_equal(x, y, equal_nan=x.dtype.kind == "f"), f.name
            else:
                assert x == y, f.name


def test_the_run_folder_read_with_pyarrow_gives_the_same_engine(engine):
    assert_same_engine(engine, ResponseEngine.from_run_folder(RUN))


def test_object_and_categorical_text_columns_give_the_same_engine(engine, tables):
    response, contrib = tables
    assert_same_engine(engine, ResponseEngine(response.astype({c: object for c in TEXT}),
                                              contrib.astype({c: object for c in TEXT[:3]})))
    assert_same_engine(engine, ResponseEngine(response.astype({c: "category" for c in TEXT}), contrib))


def test_rows_in_any_order_give_the_same_engine(engine, tables):
    """Draws and weeks in descending order (every parameter's rows interleaved with the others', the
    variables still first seen in the same order)."""
    response, contrib = tables
    assert_same_engine(engine, ResponseEngine(response.sort_values("draw", ascending=False, kind="stable"),
                                              contrib.sort_values("date", ascending=False, kind="stable")))


def test_reference_weeks_follow_the_reference_week_rule():
    weeks = np.arange(-60, 400)
    for n in (1, 51, 52, 53, 156):
        want = [ResponseEngine._reference_week(int(j), n) for j in weeks]
        assert ResponseEngine._reference_weeks(weeks, n).tolist() == [-1 if r is None else r for r in want]


def test_a_numeric_plan_reads_as_a_plan_of_any_other_type(engine):
    start = engine.last + np.timedelta64(7, "D")
    plan = engine.default_plan(start, 13).iloc[:, ::-1].drop(columns=engine.media[2])
    plan.iloc[3, 0] = np.nan
    fast = check_plan(plan, engine.media)
    general = check_plan(plan.astype(object), engine.media)  # (through pd.to_numeric)
    assert np.array_equal(fast, general)
    assert fast.flags.f_contiguous == general.flags.f_contiguous  # (sums over it run in the same order)
    assert (fast[:, 2] == 0).all() and fast[3, len(engine.media) - 1] == 0


def test_the_controls_ratio_is_computed_on_first_use(engine):
    s = engine.series[0]
    ratio = s.others_ratio
    assert ratio.shape == (engine.draws, len(engine.dates)) and s.others_ratio is ratio
