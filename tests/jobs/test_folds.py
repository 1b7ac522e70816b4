"""Walk-forward folds: placement, warm-up, equal training windows, and clear errors when they do not fit."""

from __future__ import annotations

import pandas as pd
import pytest

from jobs.folds import FoldError, make_folds


def weeks(n: int, start: str = "2023-01-02") -> list[pd.Timestamp]:
    return list(pd.date_range(start, periods=n, freq="7D"))


def test_last_fold_ends_at_the_last_week_and_folds_step_back():
    dates = weeks(104)
    folds = make_folds(dates, n_folds=4, test_weeks=8, step_weeks=8, l_max=8)
    assert [f.test_end for f in folds] == [80, 88, 96, 104]
    assert [f.test_start for f in folds] == [72, 80, 88, 96]
    # test windows side by side, never overlapping the fold's own training weeks
    for f in folds:
        assert f.train_start < f.test_start < f.test_end
        assert f.test_weeks == 8
    assert folds[-1].dates[3] == f"{dates[-1]:%Y-%m-%d}"
    assert folds[0].dates[2] == f"{dates[72]:%Y-%m-%d}"


def test_every_fold_trains_on_the_same_number_of_weeks_after_a_warm_up():
    folds = make_folds(weeks(104), n_folds=3, test_weeks=10, step_weeks=5, l_max=8)
    lengths = {f.train_weeks for f in folds}
    assert len(lengths) == 1
    # the first fold uses every week but its l_max - 1 warm-up weeks: 104 - 7 - (2 * 5 + 10)
    assert lengths == {104 - 7 - 20}
    assert folds[0].warmup_start == 0 and folds[0].train_start == 7
    for f in folds:
        assert f.train_start - f.warmup_start == 7


def test_given_train_weeks_are_kept_and_the_warm_up_precedes_them():
    folds = make_folds(weeks(120), n_folds=2, test_weeks=4, step_weeks=4, l_max=4, train_weeks=52)
    assert all(f.train_weeks == 52 for f in folds)
    assert [f.train_start - f.warmup_start for f in folds] == [3, 3]


def test_overlapping_test_windows_when_the_step_is_shorter():
    folds = make_folds(weeks(100), n_folds=3, test_weeks=12, step_weeks=4, l_max=8)
    assert folds[1].test_start < folds[0].test_end  # windows overlap by 8 weeks
    assert folds[2].test_end == 100


def test_a_dataset_too_short_names_weeks_and_what_is_needed():
    with pytest.raises(FoldError) as e:
        make_folds(weeks(60), n_folds=4, test_weeks=13, l_max=8)
    msg = str(e.value)
    assert "60 weeks" in msg and "2023-01-02" in msg and "at least 26" in msg
    # exactly enough: 26 train + 7 warm-up + 13 test
    folds = make_folds(weeks(46), n_folds=1, test_weeks=13, l_max=8)
    assert folds[0].train_weeks == 26
    with pytest.raises(FoldError):
        make_folds(weeks(45), n_folds=1, test_weeks=13, l_max=8)


@pytest.mark.parametrize("kw, field", [({"n_folds": 0}, "folds"), ({"test_weeks": 0}, "test weeks"),
                                       ({"step_weeks": -1}, "step weeks"), ({"train_weeks": 10}, "train weeks")])
def test_settings_out_of_range_are_named(kw, field):
    args = {"n_folds": 2, "test_weeks": 4, "step_weeks": 4, "l_max": 8} | kw
    with pytest.raises(FoldError, match=field):
        make_folds(weeks(104), **args)


def test_train_weeks_longer_than_the_data_allow_is_an_error():
    with pytest.raises(FoldError, match="at least 90"):
        make_folds(weeks(104), n_folds=2, test_weeks=8, l_max=8, train_weeks=90)
