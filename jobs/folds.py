"""Walk-forward cross-validation folds: where each fold's warm-up, training and test weeks lie.

Every fold trains on the same number of weeks (a window that slides forward by ``step_weeks``), so
one compiled model serves every fold. The last fold's test weeks end at the dataset's last week;
each earlier fold ends ``step_weeks`` before the next. The ``l_max - 1`` weeks just before a fold's
training weeks are its *warm-up*: their spend is not fitted, only carried over by the adstock into
the first training weeks (as the test weeks get the carry-over of the training weeks before them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date

import numpy as np
import pandas as pd

#: Fewest training weeks a fold may have (the training command's own minimum).
MIN_TRAIN_WEEKS = 26


class FoldError(ValueError):
    """The folds asked for do not fit the dataset; nothing was started."""


@dataclass(frozen=True)
class Fold:
    """One fold, as week indices into the series' dates (inclusive start, exclusive end) and dates."""

    index: int
    warmup_start: int
    train_start: int
    test_start: int
    test_end: int  # exclusive
    dates: tuple[str, str, str, str] = ("", "", "", "")  # warm-up start, train start, test start, last test week

    @property
    def train_weeks(self) -> int:
        return self.test_start - self.train_start

    @property
    def test_weeks(self) -> int:
        return self.test_end - self.test_start

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Fold":
        return cls(**{**d, "dates": tuple(d.get("dates") or ("", "", "", ""))})

    def describe(self) -> str:
        w, tr, te, last = self.dates
        return (f"fold {self.index + 1}: train {tr} .. ({self.train_weeks} weeks, warm-up from {w}), "
                f"test {te} .. {last} ({self.test_weeks} weeks)")


def make_folds(dates, n_folds: int, test_weeks: int, step_weeks: int | None = None, l_max: int = 8,
               train_weeks: int | None = None, min_train_weeks: int = MIN_TRAIN_WEEKS) -> list[Fold]:
    """The folds of a weekly series with ``dates`` (sorted, one per week).

    ``step_weeks`` defaults to ``test_weeks`` (test windows side by side); ``train_weeks`` to the
    most every fold can have after the first fold's warm-up. Raises ``FoldError`` naming what does
    not fit: a dataset too short for the folds, or settings out of range.
    """
    step_weeks = test_weeks if step_weeks is None else step_weeks
    for name, value in (("folds", n_folds), ("test weeks", test_weeks), ("step weeks", step_weeks)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise FoldError(f"{name} must be a whole number ≥ 1, got {value!r}")
    if train_weeks is not None and train_weeks < min_train_weeks:
        raise FoldError(f"train weeks must be at least {min_train_weeks}, got {train_weeks}")
    dates = pd.to_datetime(pd.Series(list(dates))).reset_index(drop=True)
    T = len(dates)
    warmup = max(l_max - 1, 0)
    span = (n_folds - 1) * step_weeks + test_weeks  # from the first fold's test start to the end
    available = T - warmup - span
    need = train_weeks or min_train_weeks
    if available < need:
        first, last = (f"{dates.iloc[0]:%Y-%m-%d}", f"{dates.iloc[-1]:%Y-%m-%d}") if T else ("-", "-")
        raise FoldError(
            f"the dataset has {T} weeks ({first} .. {last}): {n_folds} folds of {test_weeks} test weeks, "
            f"{step_weeks} weeks apart, with {warmup} warm-up weeks for the adstock, leave {max(available, 0)} "
            f"training weeks per fold; at least {need} are needed. Use fewer folds, fewer test weeks or a "
            f"smaller step (or a longer dataset)."
        )
    train = train_weeks or available
    folds = []
    for k in range(n_folds):
        test_end = T - (n_folds - 1 - k) * step_weeks
        test_start = test_end - test_weeks
        train_start = test_start - train
        warmup_start = max(train_start - warmup, 0)
        day = lambda i: f"{dates.iloc[i]:%Y-%m-%d}"  # noqa: E731
        folds.append(Fold(k, warmup_start, train_start, test_start, test_end,
                          (day(warmup_start), day(train_start), day(test_start), day(test_end - 1))))
    return folds


def fold_dates(fold: Fold) -> dict[str, date]:
    """The fold's boundaries as dates (for tables and MLflow params)."""
    w, tr, te, last = (pd.Timestamp(x).date() for x in fold.dates)
    return {"warmup_start": w, "train_start": tr, "test_start": te, "test_end": last}
