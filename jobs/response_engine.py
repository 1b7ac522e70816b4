"""The response engine: a run's fitted model evaluated in NumPy for any weekly spend plan, per posterior draw.

Built from two tables every run keeps (data contract): the response draws (``response.parquet`` / the
store's ``response_draws``) and the weekly contributions (``contributions.parquet``), which hold the
actual spend and impressions of every media variable. No PyMC or PyTensor is imported.

For a plan (weeks × media variables, total spend over audiences) the engine returns, for every draw:

* **media**: each variable's incremental transactions, with adstock carry-over from the actual weeks
  before the plan (zero before the run's first week, as in training) and from earlier plan weeks;
* **baseline**: intercept and trend (extrapolated linearly past the data) and the yearly seasonality;
* **controls**: controls, owned / earned media and holidays, *assumed to repeat the same weeks of the
  year before* (52 weeks earlier; weeks the data has are taken as they were). Each week's value is
  the run's mean contribution of that week scaled per draw by the draw's coefficient over the mean
  coefficient, which is exact for the model's linear controls.

Assumptions a plan needs, stated once:

* A plan gives each variable's spend summed over audiences; a run fitted per audience splits it
  between audiences as that variable's spend was split in the reference weeks (the same weeks a year
  earlier, else the whole history).
* A variable the model reads through impressions converts spend to impressions at its
  impressions-per-dollar of the reference weeks (else of the whole history).
* The default plan of a week is the actual spend of that week where the data has it, else the spend
  of the same week a year earlier (repeated back until the data has it).
* Intervals are of the expected transactions (the model's mean), without week-to-week noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from jobs.design import fourier_terms, trend_index
from jobs.transforms import adstock_weights

YEAR_WEEKS = 52
WEEK = np.timedelta64(7, "D")
MEDIA_PARAMETERS = ("adstock_decay", "beta", "x_scale", "l_max")
OTHER_KINDS = ("control", "holiday", "owned", "earned")
TAXONOMY = ("channel", "channel_group", "pillar", "message_type")


class PlanError(ValueError):
    """A plan, budget or run the engine cannot use; the message names the culprit."""


@dataclass
class Series:
    """The response of one fitted series (one audience, or national: ``audience`` None)."""

    audience: str | None
    media: list[str]  # this series' media variables
    index: np.ndarray  # (V,) position of each in the engine's ``media``
    saturation: str  # "hill" | "logistic"
    alpha: np.ndarray  # (D, V) adstock decay
    half: np.ndarray | None  # (D, V) Hill half-saturation (scaled input)
    slope: np.ndarray | None  # (D, V) Hill slope
    lam: np.ndarray | None  # (D, V) logistic lambda
    beta: np.ndarray  # (D, V) transactions per week at full saturation
    x_scale: np.ndarray  # (V,)
    uses_impressions: np.ndarray  # (V,) bool
    l_max: int
    intercept: np.ndarray  # (D,)
    trend: np.ndarray | None  # (D,)
    season: np.ndarray  # (D, F)
    y_scale: float
    n_train: int
    spend: np.ndarray  # (N, V) actual weekly spend over the history
    impressions: np.ndarray  # (N, V) actual weekly impressions (NaN where none)
    others: np.ndarray  # (N,) mean contribution of controls, owned / earned media and holidays per week
    # (D, N) per-draw scaling of ``others``; may be given as a function of no arguments that computes it,
    # called on first use (the engine's build leaves it to the first forecast)
    others_ratio: np.ndarray = field(default_factory=lambda: np.ones(1))
    actual: np.ndarray | None = None  # (N,) actual transactions

    def saturate(self, a: np.ndarray, v: slice | np.ndarray = slice(None)) -> np.ndarray:
        """Saturation of adstocked scaled input ``a`` (D, T, V)."""
        a = np.maximum(a, 0.0)
        if self.saturation == "hill":
            k, s = self.half[:, None, v], self.slope[:, None, v]
            with np.errstate(divide="ignore"):
                r = np.exp(s * (np.log(k) - np.log(a)))  # (k / a)^s; inf at a = 0
            return 1.0 / (1.0 + r)
        return np.tanh(self.lam[:, None, v] * a / 2.0)  # = (1 - e^{-λa}) / (1 + e^{-λa})


def _others_ratio(self: Series) -> np.ndarray:
    ratio = self.__dict__["others_ratio"]
    if callable(ratio):
        ratio = self.__dict__["others_ratio"] = ratio()
    return ratio


def _set_others_ratio(self: Series, ratio) -> None:
    self.__dict__["others_ratio"] = ratio


Series.others_ratio = property(_others_ratio, _set_others_ratio, doc="(D, N) per-draw scaling of ``others``")


class _Draws:
    """One series' response draws indexed by (variable, parameter): each a (D,) array in draw order."""

    def __init__(self, values: dict, draws: int):
        self._values = values
        self.draws = draws

    @classmethod
    def of(cls, variable: np.ndarray, parameter: np.ndarray, draw: np.ndarray, value: np.ndarray,
           variable_names: list, parameter_names: list, draws: int) -> "_Draws":
        """From the rows' codes (-1: missing, left out), draws and values: each (variable, parameter)'s
        values ordered by draw (stably: rows of the same draw keep their order)."""
        keep = (variable >= 0) & (parameter >= 0)
        if not keep.all():
            variable, parameter, draw, value = variable[keep], parameter[keep], draw[keep], value[keep]
        if not len(value):
            return cls({}, draws)
        key = variable.astype(np.int64) * len(parameter_names) + parameter
        change = key[1:] != key[:-1]
        starts = np.flatnonzero(np.r_[True, change])
        # the tables keep each (variable, parameter)'s rows together in draw order: then no sort is needed
        ordered = (len(np.unique(key[starts])) == len(starts)
                   and bool(np.all((draw[1:] >= draw[:-1]) | change)))
        if not ordered:
            order = np.lexsort((draw, key))  # (stable)
            key, value = key[order], value[order]
            starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        ends = np.r_[starts[1:], len(key)]
        n_par = len(parameter_names)
        out = {}
        for k, a, b in zip(key[starts].tolist(), starts.tolist(), ends.tolist()):
            out[(variable_names[k // n_par], parameter_names[k % n_par])] = value[a:b]
        return cls(out, draws)

    def has(self, variable: str, parameter: str) -> bool:
        return (variable, parameter) in self._values

    def vector(self, variable: str, parameter: str) -> np.ndarray:
        out = self._values.get((variable, parameter))
        if out is None:
            raise PlanError(f"the response draws have no '{parameter}' for '{variable}'")
        if len(out) != self.draws:
            raise PlanError(f"the response draws have {len(out)} draws of '{parameter}' for '{variable}', "
                            f"expected {self.draws}")
        return out

    def matrix(self, parameter: str, variables: list[str]) -> np.ndarray:
        """(D, V) one parameter per draw and variable."""
        missing = [v for v in variables if (v, parameter) not in self._values]
        if missing:
            raise PlanError(f"the response draws have no '{parameter}' for {', '.join(map(repr, missing))}")
        return np.column_stack([self.vector(v, parameter) for v in variables])


@dataclass
class _Rows:
    """A table as NumPy columns: text columns as integer codes (-1: missing) into ``names``."""

    codes: dict[str, np.ndarray]
    names: dict[str, list]
    numbers: dict[str, np.ndarray]

    @classmethod
    def of(cls, table, text: tuple[str, ...], numbers: dict[str, type | None]) -> "_Rows":
        codes, names = {}, {}
        for col in text:
            codes[col], names[col] = _codes(table[col])
        return cls(codes, names, {col: _numbers(table[col], dtype) for col, dtype in numbers.items()})

    def code(self, column: str, value) -> int:
        """The code of a value (-2, matching no row, for a value the column does not hold)."""
        try:
            return self.names[column].index(value)
        except ValueError:
            return -2

    def select(self, rows: np.ndarray | slice) -> "_Rows":
        if isinstance(rows, slice) and rows == slice(None):
            return self
        return _Rows({k: v[rows] for k, v in self.codes.items()}, self.names,
                     {k: v[rows] for k, v in self.numbers.items()})


class ResponseEngine:
    """A run's response functions over its posterior draws, ready to evaluate plans.

    Parameters
    ----------
    response : DataFrame (or pyarrow Table)
        The run's response draws: ``audience, variable, kind, parameter, draw, value``.
    contributions : DataFrame (or pyarrow Table)
        The run's weekly contributions (data contract columns; at least ``date, variable, audience,
        kind, contribution, spend, impressions, transactions`` and, for grouping, ``channel,
        channel_group, pillar, message_type``).
    """

    def __init__(self, response: pd.DataFrame, contributions: pd.DataFrame):
        if response is None or len(response) == 0:
            raise PlanError("this run has no response draws (response.parquet); it cannot forecast or optimise")
        # Both tables are read once into NumPy: text columns as integer codes, then every array is
        # scattered into place by code (no copies of the frames, no pivots or groupbys).
        resp = _Rows.of(response, ("audience", "variable", "kind", "parameter"), {"draw": None, "value": float})
        contrib = _Rows.of(contributions, ("audience", "variable", "kind"),
                           {k: float for k in ("contribution", "spend", "impressions", "transactions")})
        dates = _dates(contributions["date"])
        self.dates = np.unique(dates).astype("datetime64[D]")
        if len(self.dates) < 2 or np.any(np.diff(self.dates) != WEEK):
            raise PlanError("the run's contributions are not consecutive weeks")
        # each contributions row's week (-1 where its date is not one of the weeks)
        weeks = self.dates.astype(dates.dtype)
        week = np.minimum(np.searchsorted(weeks, dates), len(weeks) - 1)
        contrib.numbers["week"] = np.where(weeks[week] == dates, week, -1)
        contrib.numbers["date"] = dates
        self.draws = int(resp.numbers["draw"].max()) + 1
        resp.numbers["media"] = resp.codes["kind"] == resp.code("kind", "media")
        self.media: list[str] = _names(_appearance(resp.codes["variable"][resp.numbers["media"]]),
                                       resp.names["variable"])
        self.taxonomy = self._taxonomy(contributions, contrib)
        self.series = []
        r_rows, c_rows = _groups(resp.codes["audience"]), _groups(contrib.codes["audience"])
        for a, rows in r_rows.items():
            audience = None if a < 0 else resp.names["audience"][a]
            ca = -1 if audience is None else contrib.code("audience", audience)
            c = contrib.select(c_rows.get(ca, slice(0, 0)))
            self.series.append(self._series(resp.select(rows), c, audience))

    @classmethod
    def from_run_folder(cls, folder) -> "ResponseEngine":
        """The engine of a run folder's ``response.parquet`` and ``contributions.parquet``, read with
        PyArrow (text columns of the draws dictionary-encoded): the same engine as from the frames
        ``pd.read_parquet`` gives, several times faster."""
        import pyarrow.parquet as pq

        folder = Path(folder)
        with pq.ParquetFile(folder / "response.parquet",
                            read_dictionary=["audience", "variable", "kind", "parameter"]) as f:
            response = f.read(use_threads=False)  # (lighter than pq.read_table's datasets)
        with pq.ParquetFile(folder / "contributions.parquet") as f:
            contributions = f.read(use_threads=False)
        return cls(response, contributions)

    # ------------------------------------------------------------------------------------------ building

    def _taxonomy(self, contributions, contrib: "_Rows") -> pd.DataFrame:
        """The labels of each media variable: those of its first media row in the contributions."""
        rows = np.flatnonzero(contrib.codes["kind"] == contrib.code("kind", "media"))
        codes = contrib.codes["variable"][rows]
        starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else codes
        _, first = np.unique(codes[starts], return_index=True)
        rows = rows[starts[np.sort(first)]]  # each variable's first media row, in order of appearance
        first_row = dict(zip(contrib.codes["variable"][rows].tolist(), rows.tolist()))
        want = [first_row.get(contrib.code("variable", v)) for v in self.media]
        if None not in want:  # (every media variable has rows: take them in the engine's order)
            index = pd.Index(self.media, name="variable")
            if isinstance(contributions, pd.DataFrame):
                return pd.DataFrame({c: contributions[c].array.take(want) for c in TAXONOMY}, index=index)
            labels = contributions.select(list(TAXONOMY)).take(want).to_pandas()  # (pyarrow Table)
            labels.index = index
            return labels
        if isinstance(contributions, pd.DataFrame):
            media_rows = contributions.iloc[rows]
        else:
            media_rows = contributions.select(["variable", *TAXONOMY]).take(rows).to_pandas()
        return media_rows.drop_duplicates("variable").set_index("variable").reindex(self.media)[list(TAXONOMY)]

    def _series(self, resp: "_Rows", contrib: "_Rows", audience: str | None) -> Series:
        D, N = self.draws, len(self.dates)
        where = f" of audience {audience!r}" if audience else ""
        var, par, var_names, par_names = (resp.codes["variable"], resp.codes["parameter"], resp.names["variable"],
                                          resp.names["parameter"])
        is_media = resp.numbers["media"]
        media = _names(_appearance(var[is_media]), var_names)
        P = _Draws.of(var, par, resp.numbers["draw"], resp.numbers["value"], var_names, par_names, D)
        hill = bool(np.any(par[is_media] == resp.code("parameter", "half_saturation")))
        x_scale = P.matrix("x_scale", media)[0] if media else np.zeros(0)
        l_max = int(P.matrix("l_max", media)[0, 0]) if media else 1
        base = var == resp.code("variable", "baseline")
        if not base.any():
            raise PlanError(f"the response draws{where} have no baseline parameters")
        season_names = sorted({p for p in _names(np.unique(par[base]), par_names) if p is not None
                               and p[:4] in ("sin_", "cos_")},
                              key=lambda p: (int(p.split("_")[1]), p[:3] != "sin"))
        n_train = int(P.vector("baseline", "n_train")[0])

        kind, cvar, week = contrib.codes["kind"], contrib.codes["variable"], contrib.numbers["week"]
        cvar_code = {name: i for i, name in enumerate(contrib.names["variable"])}

        def weekly(rows: np.ndarray, names: list, column: str) -> tuple[np.ndarray, np.ndarray]:
            """(N, len(names)) sums of a column over the rows of each week and variable (missing values
            skipped), and whether any row has the cell."""
            col = np.full(len(cvar_code) + 1, -1)  # contributions' variable code + 1 -> position in names
            for j, name in enumerate(names):
                if name in cvar_code:
                    col[cvar_code[name] + 1] = j
            w, j = week[rows], col[cvar[rows] + 1]
            keep = (w >= 0) & (j >= 0)
            cell = w[keep] * len(names) + j[keep]
            x = contrib.numbers[column][rows][keep]
            size = N * len(names)
            total = np.bincount(cell, weights=np.where(np.isnan(x), 0.0, x), minlength=size)
            return total.reshape(N, len(names)), (np.bincount(cell, minlength=size) > 0).reshape(N, len(names))

        mrows = np.flatnonzero(kind == contrib.code("kind", "media"))
        spend, has = weekly(mrows, media, "spend")
        spend = np.nan_to_num(np.where(has, spend, np.nan))
        impressions, has = weekly(mrows, media, "impressions")
        impressions = np.where(has, impressions, np.nan)
        uses = self._signals(P, media, spend, impressions, x_scale, n_train)
        # controls, owned / earned media and holidays: weekly mean contribution, scaled per draw
        orows = np.flatnonzero(np.isin(kind, [contrib.code("kind", k) for k in OTHER_KINDS]))
        names = _names(_appearance(cvar[orows]), contrib.names["variable"])
        ratio = partial(np.ones, (D, N))
        others = np.zeros(N)
        if names:
            per = weekly(orows, names, "contribution")[0]  # (N, O), no rows: 0
            coef = np.column_stack([P.vector(n, "coefficient") for n in names])  # (D, O)
            mean = coef.mean(axis=0)
            scale = np.where(np.abs(mean) > 1e-12, coef / np.where(np.abs(mean) > 1e-12, mean, 1.0), 1.0)
            others = per.sum(axis=1)
            ratio = partial(_ratio, scale, per, others)  # (computed on first use: only forecasts need it)
        brows = np.flatnonzero(kind == contrib.code("kind", "baseline"))
        if len(np.unique(contrib.numbers["date"][brows])) < len(brows):
            raise PlanError(f"the run's contributions{where} have more than one baseline row in a week")
        actual = np.full(N, np.nan)
        w = week[brows]
        actual[w[w >= 0]] = contrib.numbers["transactions"][brows][w >= 0]
        return Series(
            audience=audience, media=media, index=np.array([self.media.index(v) for v in media], dtype=int),
            saturation="hill" if hill else "logistic",
            alpha=P.matrix("adstock_decay", media) if media else np.zeros((D, 0)),
            half=P.matrix("half_saturation", media) if hill and media else None,
            slope=P.matrix("hill_slope", media) if hill and media else None,
            lam=None if hill or not media else P.matrix("saturation_lambda", media),
            beta=P.matrix("beta", media) if media else np.zeros((D, 0)),
            x_scale=x_scale, uses_impressions=uses, l_max=l_max,
            intercept=P.vector("baseline", "intercept").copy(),
            trend=P.vector("baseline", "trend").copy() if P.has("baseline", "trend") else None,
            season=(np.column_stack([P.vector("baseline", p) for p in season_names]) if season_names
                    else np.zeros((D, 0))),
            y_scale=float(P.vector("baseline", "y_scale")[0]), n_train=n_train,
            spend=spend, impressions=impressions, others=others, others_ratio=ratio, actual=actual,
        )

    @staticmethod
    def _signals(P: "_Draws", media: list[str], spend: np.ndarray, impressions: np.ndarray,
                 x_scale: np.ndarray, n_train: int) -> np.ndarray:
        """Whether each variable's model input is its impressions: saved with newer runs
        (``uses_impressions``), else the input whose training maximum is the saved ``x_scale``."""
        if not media:
            return np.zeros(0, dtype=bool)
        if all(P.has(v, "uses_impressions") for v in media):
            return P.matrix("uses_impressions", media)[0] > 0.5
        with np.errstate(invalid="ignore", divide="ignore"):
            by_spend = np.abs(spend[:n_train].max(axis=0) / x_scale - 1)
            by_impr = np.abs(np.nanmax(np.where(np.isnan(impressions[:n_train]), -np.inf, impressions[:n_train]),
                                       axis=0) / x_scale - 1)
        return np.nan_to_num(by_impr, nan=np.inf) < np.nan_to_num(by_spend, nan=np.inf)

    # ------------------------------------------------------------------------------------------ timeline

    @property
    def first(self) -> np.datetime64:
        return self.dates[0]

    @property
    def last(self) -> np.datetime64:
        return self.dates[-1]

    def week_of(self, day) -> int:
        """Index of a week relative to the run's first week (``day`` must fall on the run's weekday)."""
        d = np.datetime64(pd.Timestamp(day).date(), "D")
        offset = (d - self.first).astype(int)
        if offset % 7:
            raise PlanError(f"{pd.Timestamp(day).date()} is not a week start of this run (weeks start on "
                            f"{pd.Timestamp(self.first).day_name()}s, e.g. {pd.Timestamp(self.last).date()})")
        return int(offset // 7)

    def week_dates(self, start: int, weeks: int) -> np.ndarray:
        return self.first + WEEK * np.arange(start, start + weeks)

    @staticmethod
    def _reference_week(j: int, n: int) -> int | None:
        """The week whose actual data stands in for week ``j``: itself if the data has it, else the same
        week 52, 104, ... weeks earlier; None before the first week."""
        if j < 0:
            return None
        while j >= n:
            j -= YEAR_WEEKS
        return j if j >= 0 else None

    @staticmethod
    def _reference_weeks(weeks: np.ndarray, n: int) -> np.ndarray:
        """:meth:`_reference_week` of each week (H,) of ``n`` weeks of data, -1 for none."""
        j = np.asarray(weeks, dtype=np.int64)
        r = np.where(j >= n, j - YEAR_WEEKS * ((j - n) // YEAR_WEEKS + 1), j)
        return np.where((j < 0) | (r < 0), -1, r)

    def _filled(self, values: np.ndarray, weeks: np.ndarray) -> np.ndarray:
        """``values`` (N, ...) at the given week indices, with the reference-week rule (zero before week 0
        and where a reference week falls before it)."""
        r = self._reference_weeks(weeks, len(values))
        out = np.zeros((len(r),) + values.shape[1:])
        out[r >= 0] = values[r[r >= 0]]
        return out

    def default_plan(self, start, weeks: int) -> pd.DataFrame:
        """Spend per week × media variable (summed over audiences): the actual spend where the data has
        the week, else the same week a year earlier. Index: the plan's week dates."""
        k = self.week_of(start) if not isinstance(start, (int, np.integer)) else int(start)
        idx = np.arange(k, k + weeks)
        total = np.zeros((weeks, len(self.media)))
        for s in self.series:
            total[:, s.index] += self._filled(s.spend, idx)
        return pd.DataFrame(total, index=pd.DatetimeIndex(self.week_dates(k, weeks), name="date"), columns=self.media)

    def _split(self, s: Series, weeks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For plan weeks (H,): this series' share of each variable's total spend (H, V) and the model
        input per dollar (H, V): 1 for spend, impressions per dollar for impressions. Both are read off
        each week's reference week (the week itself where the data has it, else the same week a year
        earlier), falling back to the whole history where the reference week has no spend."""
        n = len(self.dates)
        total_hist = np.zeros((n, len(self.media)))
        for t in self.series:
            total_hist[:, t.index] += t.spend
        mine, total = self._filled(s.spend, weeks), self._filled(total_hist, weeks)[:, s.index]
        imp = np.nan_to_num(s.impressions)
        mine_imp = self._filled(imp, weeks)
        all_mine, all_total = s.spend.sum(axis=0), total_hist.sum(axis=0)[s.index]
        with np.errstate(invalid="ignore", divide="ignore"):
            fallback_share = np.where(all_total > 0, all_mine / all_total, 0.0)
            share = np.where(total > 0, mine / total, fallback_share)
            fallback_units = np.where(all_mine > 0, imp.sum(axis=0) / all_mine, 0.0)
            units = np.where(mine > 0, mine_imp / mine, fallback_units)
        units = np.where(s.uses_impressions, np.nan_to_num(units), 1.0)
        return share, units

    def _input(self, s: Series, start: int, plan: np.ndarray, tail: int) -> np.ndarray:
        """Scaled model input (L - 1 + H + tail, V) of one series: the weeks before the plan (actual, else
        the reference rule), the plan's weeks (its spend split and converted), then ``tail`` weeks
        without spend."""
        L, H = s.l_max, plan.shape[0]
        before = np.arange(start - (L - 1), start)
        x_before = np.where(s.uses_impressions, np.nan_to_num(self._filled(s.impressions, before)),
                            self._filled(s.spend, before))
        share, units = self._split(s, np.arange(start, start + H))
        x_plan = plan[:, s.index] * share * units
        x = np.concatenate([x_before, x_plan, np.zeros((tail, len(s.media)))], axis=0)
        return x / s.x_scale

    # ------------------------------------------------------------------------------------------ evaluation

    @staticmethod
    def adstock(s: Series, xs: np.ndarray) -> np.ndarray:
        """Adstock per draw (D, T, V) of the scaled input ``xs`` (L - 1 + T, V), whose first L - 1 weeks
        are history."""
        L = s.l_max
        T = xs.shape[0] - (L - 1)
        w = _adstock_weights(s)  # (D, L, V)
        lagged = np.stack([xs[L - 1 - l: L - 1 - l + T] for l in range(L)], axis=0)  # (L, T, V)
        return np.einsum("ltv,dlv->dtv", lagged, w)

    def media_draws(self, start, plan: pd.DataFrame | np.ndarray, tail: int = 0) -> np.ndarray:
        """Incremental transactions (D, H + tail, V_all) of each media variable in the plan's weeks
        (and ``tail`` weeks after, without spend), summed over audiences."""
        k, P = self._plan_array(start, plan)
        H = P.shape[0]
        out = np.zeros((self.draws, H + tail, len(self.media)))
        for s in self.series:
            if not s.media:
                continue
            a = self.adstock(s, self._input(s, k, P, tail))
            out[:, :, s.index] += s.saturate(a) * s.beta[:, None, :]
        return out

    def baseline_draws(self, start, weeks: int) -> tuple[np.ndarray, np.ndarray]:
        """(baseline, controls) per draw (D, H) summed over audiences: intercept, trend and seasonality;
        and controls, owned / earned media and holidays under the same-weeks-last-year assumption."""
        k = self.week_of(start) if not isinstance(start, (int, np.integer)) else int(start)
        idx = np.arange(k, k + weeks)
        dates = self.week_dates(k, weeks).astype("datetime64[ns]")
        base = np.zeros((self.draws, weeks))
        ctrl = np.zeros((self.draws, weeks))
        for s in self.series:
            b = s.intercept[:, None] * np.ones((1, weeks))
            if s.trend is not None:
                b = b + s.trend[:, None] * trend_index(weeks, s.n_train, start=k)[None, :]
            if s.season.shape[1]:
                b = b + s.season @ fourier_terms(dates, s.season.shape[1] // 2).T
            base += b * s.y_scale
            ref = [self._reference_week(int(j), len(self.dates)) for j in idx]
            for i, r in enumerate(ref):
                if r is not None:
                    ctrl[:, i] += s.others[r] * s.others_ratio[:, r]
        return base, ctrl

    def _plan_array(self, start, plan) -> tuple[int, np.ndarray]:
        k = self.week_of(start) if not isinstance(start, (int, np.integer)) else int(start)
        if isinstance(plan, pd.DataFrame):
            P = check_plan(plan, self.media)
        else:
            P = np.asarray(plan, dtype=float)
            if P.ndim != 2 or P.shape[1] != len(self.media):
                raise PlanError(f"a plan needs one column per media variable ({len(self.media)}); got shape {P.shape}")
        if k < 0:
            raise PlanError(f"the plan starts before the run's first week ({pd.Timestamp(self.first).date()})")
        return k, P

    def forecast(self, start, plan: pd.DataFrame | np.ndarray) -> "Forecast":
        """Baseline + controls + media per draw for the plan's weeks."""
        k, P = self._plan_array(start, plan)
        media = self.media_draws(k, P)
        base, ctrl = self.baseline_draws(k, P.shape[0])
        idx = np.arange(k, k + P.shape[0])
        actual = np.full(len(idx), np.nan)
        last_year = np.full(len(idx), np.nan)
        tx = np.zeros(len(self.dates))
        for s in self.series:
            tx += np.nan_to_num(s.actual)
        for i, j in enumerate(idx):
            if 0 <= j < len(self.dates):
                actual[i] = tx[j]
            if 0 <= j - YEAR_WEEKS < len(self.dates):
                last_year[i] = tx[j - YEAR_WEEKS]
        return Forecast(dates=self.week_dates(k, P.shape[0]), media_names=list(self.media), spend=P,
                        media=media, baseline=base, controls=ctrl, actual=actual, last_year=last_year,
                        taxonomy=self.taxonomy)


def _adstock_weights(s: Series) -> np.ndarray:
    """(D, L, V) a series' adstock weights, C-contiguous (einsum runs over them twice as fast as over the
    transposed view); kept on the series while its ``alpha`` and ``l_max`` stay the same."""
    kept = s.__dict__.get("_adstock_weights")
    if kept is not None and kept[0] == s.l_max and kept[1] is s.alpha and np.array_equal(kept[2], s.alpha):
        return kept[3]
    w = np.ascontiguousarray(np.moveaxis(adstock_weights(s.alpha, s.l_max), 0, 1))
    s.__dict__["_adstock_weights"] = (s.l_max, s.alpha, s.alpha.copy(), w)
    return w


def _ratio(scale: np.ndarray, per: np.ndarray, others: np.ndarray) -> np.ndarray:
    """(D, N) per draw, the sum of the weekly contributions ``per`` (N, O) scaled by ``scale`` (D, O),
    over their mean sum ``others`` (N,) (1 where that is 0)."""
    ratio = scale @ per.T
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(np.abs(others) > 0, ratio / others, 1.0)


def _codes(column) -> tuple[np.ndarray, list]:
    """A text column (pandas Series or pyarrow array) as integer codes, -1 where missing, and the values
    the codes stand for."""
    if isinstance(column, pd.Series):
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes, names = column.cat.codes.to_numpy(), column.cat.categories.tolist()
        else:
            codes, uniques = pd.factorize(column)
            names = uniques.tolist()
    else:
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(column, pa.ChunkedArray):
            if pa.types.is_dictionary(column.type) and column.num_chunks > 1:
                column = column.unify_dictionaries()
            column = column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
        if pa.types.is_null(column.type):
            return np.full(len(column), -1, dtype=np.int64), []
        if not pa.types.is_dictionary(column.type):
            column = pc.dictionary_encode(column)
        indices = column.indices
        if indices.null_count == 0:
            codes = indices.to_numpy()
        elif indices.null_count == len(indices):
            codes = np.full(len(indices), -1, dtype=np.int32)
        else:
            codes = pc.fill_null(indices, -1).to_numpy(zero_copy_only=False)
        names = column.dictionary.to_pylist()
    if codes.dtype.itemsize < 4:  # (room for the arithmetic on codes)
        codes = codes.astype(np.int32)
    if any(n is None for n in names) or len(set(names)) < len(names):  # (a missing or repeated value)
        uniques, to = pd.factorize(pd.Series(names, dtype=object))
        codes = np.where(codes >= 0, np.r_[to, -1][codes], -1)
        names = uniques.tolist()
    return codes, names


def _numbers(column, dtype: type | None) -> np.ndarray:
    """A numeric column (pandas Series or pyarrow array) as a NumPy array, NaN where missing."""
    if isinstance(column, pd.Series):
        return column.to_numpy() if dtype is None else column.to_numpy(dtype=dtype, na_value=np.nan)
    out = column.to_numpy() if hasattr(column, "to_numpy") else np.asarray(column)
    return out if dtype is None else out.astype(dtype, copy=False)


def _dates(column) -> np.ndarray:
    """A date column (pandas Series or pyarrow array) as datetime64."""
    if not isinstance(column, pd.Series):
        column = column.to_pandas()
    return pd.to_datetime(column).to_numpy()


def _appearance(codes: np.ndarray) -> np.ndarray:
    """The distinct codes in order of first appearance."""
    if not len(codes):
        return codes
    runs = codes[np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])]
    _, first = np.unique(runs, return_index=True)
    return runs[np.sort(first)]


def _groups(codes: np.ndarray) -> dict[int, slice | np.ndarray]:
    """The rows of each distinct code, in order of first appearance: a slice where they are consecutive
    (the tables keep each audience's rows together), else their indices."""
    if not len(codes):
        return {}
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    runs = codes[starts].tolist()
    if len(set(runs)) == len(runs):
        if len(runs) == 1:
            return {runs[0]: slice(None)}
        ends = np.r_[starts[1:], len(codes)].tolist()
        return {c: slice(a, b) for c, a, b in zip(runs, starts.tolist(), ends)}
    return {c: np.flatnonzero(codes == c) for c in _appearance(codes).tolist()}


def _names(codes: np.ndarray, names: list) -> list:
    """The values of codes (None for missing)."""
    return [None if c < 0 else names[c] for c in codes.tolist()]


def check_plan(plan: pd.DataFrame, media: list[str]) -> np.ndarray:
    """A wide plan (rows = weeks, one column per media variable) as an array in the engine's variable
    order; missing variables plan no spend. Raises PlanError naming unknown variables or bad values."""
    unknown = [c for c in plan.columns if c not in media]
    if unknown:
        raise PlanError(f"the plan names unknown media variable(s) {', '.join(map(repr, unknown))}; "
                        f"the run's are {', '.join(media)}")
    if plan.columns.is_unique and all(isinstance(t, np.dtype) and t.kind in "fiu" for t in plan.dtypes):
        # numbers already (the usual case): placed by column, missing ones 0 (laid out as below)
        arr = np.zeros((len(media), len(plan))).T
        pos = plan.columns.get_indexer(media)
        arr[:, pos >= 0] = plan.to_numpy(dtype=float)[:, pos[pos >= 0]]
        arr[np.isnan(arr)] = 0.0
    else:
        P = plan.reindex(columns=media).apply(pd.to_numeric, errors="coerce")
        bad = P.isna() & plan.reindex(columns=media).notna()
        if bad.to_numpy().any():
            r, c = np.argwhere(bad.to_numpy())[0]
            raise PlanError(f"the plan's spend for '{media[c]}' in week {plan.index[r]} is not a number")
        arr = P.fillna(0.0).to_numpy(float)
    if (arr < 0).any():
        r, c = np.argwhere(arr < 0)[0]
        raise PlanError(f"the plan's spend for '{media[c]}' in week {plan.index[r]} is negative ({arr[r, c]:g})")
    if not np.isfinite(arr).all():
        r, c = np.argwhere(~np.isfinite(arr))[0]
        raise PlanError(f"the plan's spend for '{media[c]}' in week {plan.index[r]} is not finite")
    return arr


def interval(draws: np.ndarray, prob: float, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed interval holding ``prob`` of the draws."""
    q = (1 - prob) / 2
    return np.quantile(draws, q, axis=axis), np.quantile(draws, 1 - q, axis=axis)


@dataclass
class Forecast:
    """Per-draw forecast of a plan's weeks."""

    dates: np.ndarray  # (H,)
    media_names: list[str]
    spend: np.ndarray  # (H, V) the plan
    media: np.ndarray  # (D, H, V)
    baseline: np.ndarray  # (D, H)
    controls: np.ndarray  # (D, H)
    actual: np.ndarray  # (H,) actual transactions where the data has the week
    last_year: np.ndarray  # (H,) actual transactions 52 weeks earlier
    taxonomy: pd.DataFrame

    @property
    def total(self) -> np.ndarray:
        """(D, H) expected transactions."""
        return self.baseline + self.controls + self.media.sum(axis=2)

    def weekly(self) -> pd.DataFrame:
        """One row per week: expected transactions with 50% and 94% intervals, its parts, spend, actuals."""
        total = self.total
        lo50, hi50 = interval(total, 0.5)
        lo94, hi94 = interval(total, 0.94)
        media = self.media.sum(axis=2)
        mlo, mhi = interval(media, 0.94)
        return pd.DataFrame({
            "date": pd.to_datetime(self.dates), "transactions": total.mean(axis=0),
            "lo50": lo50, "hi50": hi50, "lo94": lo94, "hi94": hi94,
            "baseline": self.baseline.mean(axis=0), "controls": self.controls.mean(axis=0),
            "media": media.mean(axis=0), "media_lo94": mlo, "media_hi94": mhi,
            "spend": self.spend.sum(axis=1), "actual": self.actual, "last_year": self.last_year,
        })

    def by_group(self, group_by: str = "variable") -> pd.DataFrame:
        """Totals over the plan's weeks per media group: spend, incremental transactions with 94%
        interval (computed per draw, so exact for sums) and cost per incremental transaction."""
        names = self.media_names
        labels = (names if group_by == "variable"
                  else self.taxonomy[group_by].fillna("Unassigned").astype(str).tolist())
        per = self.media.sum(axis=1)  # (D, V)
        spend = self.spend.sum(axis=0)
        groups = list(dict.fromkeys(labels))
        rows = []
        for g in groups:
            cols = [i for i, lab in enumerate(labels) if lab == g]
            draws = per[:, cols].sum(axis=1)
            lo, hi = interval(draws, 0.94)
            sp = float(spend[cols].sum())
            mean = float(draws.mean())
            rows.append({"group": g, "spend": sp, "incremental": mean, "lo94": float(lo), "hi94": float(hi),
                         "cost_per_incremental": sp / mean if mean > 0 else np.nan})
        out = pd.DataFrame(rows)
        return out.sort_values("incremental", ascending=False, ignore_index=True)

    def totals(self) -> dict:
        """Plan totals: transactions, media and spend with 94% intervals."""
        total = self.total.sum(axis=1)
        media = self.media.sum(axis=(1, 2))
        t_lo, t_hi = interval(total, 0.94)
        m_lo, m_hi = interval(media, 0.94)
        return {"transactions": float(total.mean()), "transactions_lo": float(t_lo), "transactions_hi": float(t_hi),
                "incremental": float(media.mean()), "incremental_lo": float(m_lo), "incremental_hi": float(m_hi),
                "spend": float(self.spend.sum()),
                "last_year": float(np.nansum(self.last_year)) if np.isfinite(self.last_year).any() else None}
