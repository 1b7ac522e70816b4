"""The parametrised queries the dashboard needs, each aggregated in DuckDB into a small DataFrame.

Every function takes a :class:`~store.reader.StoreReader` first and returns a few rows per group
(never row-level data). Filter values (run id, brands, dates, audiences, channels) are always
bound as ``?`` parameters; the only identifiers pasted into SQL are group-by columns taken from
the whitelist :data:`GROUPS` (anything else raises ``ValueError``).

Common arguments
----------------
brands
    ``None`` reads every brand; otherwise only rows whose ``brand`` is in the list are ever read
    (asking for another brand's run returns nothing; an empty list returns nothing at all).
    Access control relies on this.
start, end
    Dates, inclusive (``date``, ``datetime``, ``pd.Timestamp`` or ISO text).
audiences
    Audience names to keep. National runs have a NULL audience, so any audience filter empties them.
channels
    Channel names to keep among media rows; baseline, controls and holidays are never filtered by it.

Conventions
-----------
* Actual transactions are counted once per date × audience, from the ``baseline`` row (every row of
  a date carries the same ``transactions``; the baseline row exists once per date and audience).
* Non-media rows fall into fixed groups: ``Baseline`` (kinds baseline, seasonality), ``Holidays``
  (holiday) and ``Controls`` (control, owned, earned and anything else); ``kind_group`` / ``kind``
  columns say ``media``, ``baseline``, ``controls``, ``holidays`` (or ``total``).
* A media row whose group column is NULL is labelled ``National`` when grouping by audience
  (national runs) and ``Unassigned`` otherwise.
* The prior year of a range is the same weeks 52 weeks (364 days) earlier, in the same run.

Tables
------
Each question is answered from the smallest table that holds it exactly (:func:`_table`): the rollup
summed over audiences (``contributions_national``) unless it filters or groups by audience; else, if it
groups by audience or by nothing, the rollup of each audience's kind groups (``contributions_audience``),
or with a channel filter the same by channel too (``contributions_channel``, which also answers by channel
with an audience filter); else the base ``contributions``. Rows are in audience order within a run, so
that an audience filter reads only those audiences' row groups. Runs of one audience (or
none) have no rollups: their base rows are as few. The rollups keep every column the queries
filter or group on, so they give the sums the base table gives (see ``store.schema.ROLLUPS``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any, Sequence

import numpy as np
import pandas as pd

from store.reader import StoreReader
from store.schema import KIND_GROUPS, SERIES

GROUPS = ("channel", "channel_group", "pillar", "message_type", "audience", "variable")
BASE, NATIONAL, AUDIENCE = "contributions", "contributions_national", "contributions_audience"
CHANNEL = "contributions_channel"
ROLLUPS_SINCE = 2  # the schema version that added the rollups
SPLIT_SINCE = 6  # the schema version that numbered audiences, keyed contributions_audience by kind group and
# added contributions_channel
PRIOR_YEAR_DAYS = 364  # 52 weeks: the same weekday, so weekly dates line up

DateLike = date | datetime | pd.Timestamp | str | None

_FIXED_GROUP = """CASE WHEN kind IN ('baseline', 'seasonality') THEN 'Baseline'
                     WHEN kind = 'holiday' THEN 'Holidays' ELSE 'Controls' END"""
_KIND_GROUP = """CASE WHEN kind = 'media' THEN 'media'
                     WHEN kind IN ('baseline', 'seasonality') THEN 'baseline'
                     WHEN kind = 'holiday' THEN 'holidays' ELSE 'controls' END"""


# --------------------------------------------------------------------------------------------- helpers

def _group_col(group_by: str) -> tuple[str, str]:
    """The quoted column of a group-by and its label for NULL; raises ValueError outside the whitelist."""
    if not isinstance(group_by, str) or group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {', '.join(GROUPS)}; got {group_by!r}")
    return f'"{group_by}"', ("'National'" if group_by == "audience" else "'Unassigned'")


def _as_date(value: DateLike, name: str) -> date | None:
    if value is None:
        return None
    if type(value) is date:  # (as it is; not a datetime)
        return value
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{name} must be a date; got {value!r} ({e})") from None
    if pd.isna(ts):
        return None
    return ts.date()


def _as_list(values: Sequence[str] | str | None, name: str) -> list[str] | None:
    if values is None:
        return None
    if isinstance(values, str):
        return [values]
    out = list(values)
    for v in out:
        if not isinstance(v, str):
            raise ValueError(f"{name} must be a list of text values; got {v!r}")
    return out


def _in(column: str, values: list[str], params: list[Any]) -> str:
    """``column IN (?, ?, ...)`` with the values bound; an empty list matches nothing."""
    if not values:
        return "FALSE"
    params.extend(values)
    return f"{column} IN ({', '.join('?' * len(values))})"


def prior_year_range(start: DateLike, end: DateLike) -> tuple[date | None, date | None]:
    """The same weeks 52 weeks (364 days) earlier: ``(start - 364 d, end - 364 d)``; None stays None."""
    s, e = _as_date(start, "start"), _as_date(end, "end")
    shift = timedelta(days=PRIOR_YEAR_DAYS)
    return (s - shift if s else None, e - shift if e else None)


@dataclass
class _Filter:
    """The WHERE clause of one query on ``contributions`` (or ``summaries``) and its bound values."""

    run_id: str
    brands: list[str] | None = None
    start: date | None = None
    end: date | None = None
    audiences: list[str] | None = None
    channels: list[str] | None = None

    @classmethod
    def of(cls, run_id, brands, start=None, end=None, audiences=None, channels=None) -> "_Filter":
        if not isinstance(run_id, str):
            raise ValueError(f"run_id must be text; got {run_id!r}")
        return cls(run_id, _as_list(brands, "brands"), _as_date(start, "start"), _as_date(end, "end"),
                   _as_list(audiences, "audiences"), _as_list(channels, "channels"))

    def where(self, *, dates: bool = True, media_only: bool = False, channels: bool = True,
              numbers: dict[str, int] | None = None) -> tuple[str, list[Any]]:
        """``numbers``: the run's audience numbers (``audience_no``, see :func:`_numbers`), to filter on
        instead of the audience names."""
        params: list[Any] = [self.run_id]
        parts = ["run_id = ?"]
        if self.brands is not None:
            parts.append(_in("brand", self.brands, params))
        if dates and self.start is not None:
            parts.append("date >= ?")
            params.append(self.start)
        if dates and self.end is not None:
            parts.append("date <= ?")
            params.append(self.end)
        if self.audiences is not None and numbers is not None:
            nos = sorted({numbers[a] for a in self.audiences if a in numbers})
            parts.append(f"audience_no IN ({', '.join('?' * len(nos))})" if nos else "FALSE")
            params.extend(nos)
        elif self.audiences is not None:
            parts.append(_in("audience", self.audiences, params))
        if media_only:
            parts.append("kind = 'media'")
        if channels and self.channels is not None:
            cond = _in("channel", self.channels, params)
            parts.append(cond if media_only else f"(kind <> 'media' OR {cond})")
        return " AND ".join(parts), params


@dataclass
class _RunAudiences:
    """A run's row of ``run_audiences`` per audience: its brand, its audiences' numbers and each audience's
    (NULL's too) first and last date."""

    brand: str
    numbers: dict[str, int]
    dates: dict[str | None, tuple[date, date]]


def _run_audiences(r: StoreReader) -> dict[str, _RunAudiences]:
    """The audiences of every run, in a store of version 6 or later (read once per store file: a small table)."""
    def read() -> dict[str, _RunAudiences]:
        out: dict[str, _RunAudiences] = {}
        for run_id, brand, audience, number, first, last in r.execute(
                "SELECT run_id, brand, audience, audience_no, first_date, last_date FROM run_audiences"):
            run = out.setdefault(run_id, _RunAudiences(brand, {}, {}))
            if audience is not None:
                run.numbers[audience] = number
            run.dates[audience] = (first, last)
        return out
    return r.memo("run_audiences", read)


_NO_AUDIENCES = _RunAudiences("", {}, {})


def _numbers(r: StoreReader, f: _Filter, table: str) -> dict[str, int] | None:
    """The audience numbers to filter ``table`` on for ``f`` (None: filter on the names, as in a store older
    than version 6, or with no audience filter)."""
    if f.audiences is None or table == NATIONAL or r.schema_version < SPLIT_SINCE:
        return None
    return _run_audiences(r).get(f.run_id, _NO_AUDIENCES).numbers


def _rollups(r: StoreReader, run_id: str) -> bool:
    """Whether the store has rollups of this run (it has none of a run of one audience or none: there the
    base table is as small as a rollup would be; nor a store no sync has upgraded to them yet)."""
    if r.schema_version < ROLLUPS_SINCE:
        return False
    if r.schema_version >= SPLIT_SINCE:  # (the runs of more than one audience, as the sync builds them)
        return len(_run_audiences(r).get(run_id, _NO_AUDIENCES).dates) > 1
    return r.memo(("rollups", run_id), lambda: bool(r.execute(
        f"SELECT EXISTS (SELECT 1 FROM {NATIONAL} WHERE run_id = ?)", [run_id])[0][0]))


def _table(r: StoreReader, f: _Filter, group_by: str | None = None) -> str:
    """The smallest table that answers a question with this filter and group-by exactly."""
    if not _rollups(r, f.run_id):
        return BASE
    if f.audiences is None and group_by != "audience":
        return NATIONAL
    if r.schema_version < SPLIT_SINCE:  # (a store no sync has upgraded yet: one audience rollup by kind and
        # channel since version 3, by kind in version 2)
        return AUDIENCE if group_by in (None, "audience") and (f.channels is None or r.schema_version >= 3) else BASE
    if f.channels is None:
        return AUDIENCE if group_by in (None, "audience") else BASE
    return CHANNEL if group_by in (None, "audience", "channel") else BASE
    # (the rest, with an audience filter: zone maps skip the row groups of the other audiences)


def _source(r: StoreReader, f: _Filter, group_by: str | None = None, *, dates: bool = True,
            media_only: bool = False) -> tuple[str, str, list[Any]]:
    """``(FROM, WHERE, values)`` of a question: its table (:func:`_table`) and ``f.where(...)``."""
    table = _table(r, f, group_by)
    return (table, *f.where(dates=dates, media_only=media_only, numbers=_numbers(r, f, table)))


def _run_series(r: StoreReader) -> dict[str, dict[int, tuple]]:
    """The series of every run (store version 6 or later): number -> its labels, in the order of
    ``store.schema.SERIES`` (read once per store file: a small table)."""
    def read() -> dict[str, dict[int, tuple]]:
        out: dict[str, dict[int, tuple]] = {}
        for run_id, number, *labels in r.execute(f"SELECT run_id, series_no, {', '.join(SERIES)} FROM run_series"):
            out.setdefault(run_id, {})[number] = tuple(labels)
        return out
    return r.memo("run_series", read)


class _Key:
    """What a question's sums are grouped by in SQL (``sql``), and how those keys read back as the kind and the
    group column of the rows summed. In a store of version 6 or later, small integers where the table has
    them (DuckDB sums by those several times faster than by text): the series of contributions and
    contributions_national (``series_no``, see ``store.schema.SERIES``), the kind group and audience numbers
    of the audience rollups (``kind_no``, ``audience_no``); else the text columns ``kind`` and the group's.
    Several keys may read back as the same kind and group: their sums are added up."""

    def __init__(self, sql: str, kinds: Sequence | None = None, groups: Sequence | None = None):
        self.sql = sql  # the GROUP BY columns: one (a series: both kind and group) or two (kind, then group)
        self._kinds, self._groups = kinds, groups  # number -> kind / group (None: the keys are the text itself)
        self._one = "," not in sql

    def rows(self, rows: list[tuple]) -> list[tuple]:
        """``(kind, group, *sums)`` of fetched rows ``(*key, *sums)``."""
        kinds, groups = self._kinds, self._groups
        if kinds is None:
            return rows
        if self._one:
            return [(kinds[k], groups[k], *sums) for k, *sums in rows]
        return [(kinds[k or 0], groups[g or 0], *sums) for k, g, *sums in rows]  # (NULL as 0: None)

    def codes(self, keys: list[np.ndarray]) -> tuple[list, np.ndarray, list, np.ndarray]:
        """(kind values, the kind code of each row, group values, the group code of each row) of fetched key
        columns; a code indexes its values (NULL: None)."""
        if self._kinds is None:
            (kind_code, kinds), (group_code, groups) = (pd.factorize(_texts(k)) for k in keys)
            return [*kinds, None], kind_code, [*groups, None], group_code  # (code -1, NULL: the None appended)
        numbers = [np.where(np.ma.getmaskarray(k), 0, np.ma.getdata(k)).astype(np.int64) for k in keys]
        kind_no, group_no = (numbers[0], numbers[0]) if self._one else numbers
        return list(self._kinds), kind_no, list(self._groups), group_no


def _key(r: StoreReader, f: _Filter, group_by: str, table: str) -> _Key:
    """How to group the sums of a question on ``table`` by kind and ``group_by`` (see :class:`_Key`)."""
    col, _ = _group_col(group_by)
    if r.schema_version >= SPLIT_SINCE:
        if table in (NATIONAL, BASE) and group_by != "audience":
            series = _run_series(r).get(f.run_id, {})
            kind, group = SERIES.index("kind"), SERIES.index(group_by)
            size = max(series, default=0) + 1  # (numbers 1, 2, ...; 0 unused)
            kinds, groups = [None] * size, [None] * size
            for number, labels in series.items():
                kinds[number], groups[number] = labels[kind], labels[group]
            return _Key("series_no", kinds, groups)
        if table in (AUDIENCE, CHANNEL) and group_by == "audience":
            numbers = _run_audiences(r).get(f.run_id, _NO_AUDIENCES).numbers
            groups = [None] * (max(numbers.values(), default=0) + 1)  # (0: NULL, national)
            for name, number in numbers.items():
                groups[number] = name
            return _Key("kind_no, audience_no", [None, *KIND_GROUPS], groups)
    return _Key(f"kind, {col}")


def _grouped(r: StoreReader, f: _Filter, group_by: str, measures: str, *,
             media_only: bool = False) -> list[tuple]:
    """The sums ``measures`` (SQL) of a question, by kind and group column: rows ``(kind, group, *sums)``
    (NULL group as NULL); several rows may have the same kind and group (see :class:`_Key`), to be added up."""
    table, where, params = _source(r, f, group_by, media_only=media_only)
    key = _key(r, f, group_by, table)
    return key.rows(r.execute(f"SELECT {key.sql}, {measures} FROM {table} WHERE {where} GROUP BY ALL", params))


def _seen(table: str) -> str:
    """The contribution of the rows that have impressions (pre-summed in the rollups)."""
    if table == BASE:
        return "sum(contribution) FILTER (WHERE impressions IS NOT NULL)"
    return "sum(contribution_seen)"


# The queries below aggregate in SQL on the stored columns only (kind and the group column), which
# leaves a few dozen rows; labelling, merging, ordering and ratios are done on those rows in Python
# with SQL's semantics (NULLs skipped by sums, ``x / NULLIF(y, 0)``, ``ORDER BY x DESC`` with NULLs
# last): for results this small that is several times cheaper than the equivalent SQL.

def _fixed(kind: str | None) -> tuple[str, str]:
    """The fixed group and kind group of a non-media row (as ``_FIXED_GROUP`` and ``_KIND_GROUP``)."""
    if kind in ("baseline", "seasonality"):
        return "Baseline", "baseline"
    if kind == "holiday":
        return "Holidays", "holidays"
    return "Controls", "controls"


# (kind group, step) of the non-media kinds (any other kind, or none: controls), as :func:`_fixed` gives them
_CONTROLS = ("controls", "Controls")
_FIXED_STEP = {k: _fixed(k)[::-1] for k in ("baseline", "seasonality", "holiday")}


def _label(group_by: str, g: str | None) -> str:
    """A media row's group: its group column, or the label for NULL."""
    if g is not None:
        return g
    return "National" if group_by == "audience" else "Unassigned"


def _plus(a: float | None, b: float | None) -> float | None:
    """One step of SQL ``sum``: NULLs are skipped; NULL only when nothing is summed."""
    if a is None:
        return b
    return a if b is None else a + b


def _sums(acc: dict, key, values: Sequence[float | None]) -> None:
    """Add ``values`` (one per measure) to ``acc[key]`` with :func:`_plus` (in place)."""
    have = acc.get(key)
    if have is None:
        acc[key] = list(values)
        return
    for i, b in enumerate(values):
        if b is not None:
            a = have[i]
            have[i] = b if a is None else a + b


def _ratio(a: float | None, b: float | None) -> float | None:
    """SQL ``a / NULLIF(b, 0)``."""
    return None if a is None or b is None or b == 0 else a / b


def _desc(value: float | None) -> tuple:
    """Sort key of ``ORDER BY value DESC`` in DuckDB: NaN first (it sorts above every number), NULL last."""
    if value is None:
        return (2, 0.0)
    if value != value:
        return (0, 0.0)
    return (1, -value)


def _frame(columns: dict[str, list], text: Sequence[str]) -> pd.DataFrame:
    """A DataFrame with DuckDB's dtypes: ``str`` for the ``text`` columns, float64 (NULL as NaN) for the rest."""
    return pd.DataFrame({name: pd.array(values, dtype="str") if name in text else np.array(values, dtype=float)
                         for name, values in columns.items()})


# --------------------------------------------------------------------------------------------- queries

def list_runs(r: StoreReader, brands: Sequence[str] | None = None) -> pd.DataFrame:
    """Every run of the given brands with its status and fit metrics, newest first."""
    from store.registry import REGISTRY_VERSION, STATUS_SQL, TRACKING_URI_SQL

    params: list[Any] = []
    where = _in("r.brand", _as_list(brands, "brands"), params) if brands is not None else "TRUE"
    registry = r.schema_version >= REGISTRY_VERSION
    status = STATUS_SQL if registry else "r.registry_status"
    join = "LEFT JOIN run_registry rr USING (run_id)" if registry else ""
    return r.query(
        f"""SELECT run_id, r.brand, r.status, {status} AS registry_status, r.created_at, variant, audiences,
                   train_start, train_end, test_start, test_end, weeks,
                   train_mape, train_r2, train_durbin_watson, test_mape, test_r2, test_durbin_watson,
                   max_rhat, min_ess_bulk, divergences, fit_seconds, mlflow_run_id,
                   {TRACKING_URI_SQL} AS mlflow_tracking_uri, r.dataset_fingerprint
            FROM runs r {join} WHERE {where}
            ORDER BY r.created_at DESC NULLS LAST, run_id DESC""",
        params,
    )


def filter_options(r: StoreReader, run_id: str, brands: Sequence[str] | None = None) -> dict:
    """What a run's filter widgets offer: its date range, audiences and media channels."""
    f = _Filter.of(run_id, brands)
    where, params = f.where()
    rollups = _rollups(r, f.run_id)
    row = r.execute(
        f"""SELECT min(date), max(date),
                   (SELECT list(DISTINCT audience ORDER BY audience) FILTER (WHERE audience IS NOT NULL)
                    FROM {AUDIENCE if rollups else BASE} WHERE {where}),
                   list(DISTINCT channel ORDER BY channel) FILTER (WHERE kind = 'media' AND channel IS NOT NULL)
            FROM {NATIONAL if rollups else BASE} WHERE {where}""",
        [*params, *params],
    )[0]
    return {"start": row[0], "end": row[1], "audiences": row[2] or [], "channels": row[3] or []}


def contributions_over_time(r: StoreReader, run_id: str, group_by: str = "channel",
                            brands: Sequence[str] | None = None, *, start: DateLike = None, end: DateLike = None,
                            audiences: Sequence[str] | None = None,
                            channels: Sequence[str] | None = None) -> pd.DataFrame:
    """Weekly contribution per group, for a stacked area.

    Media rows are summed by ``group_by``; the other rows by the fixed groups Baseline, Controls
    and Holidays, so the stack adds up to the model's fitted transactions. Columns: ``date``,
    ``group``, ``kind_group``, ``contribution``; ordered by date, then media groups first.
    """
    _group_col(group_by)  # (raises ValueError outside the whitelist)
    f = _Filter.of(run_id, brands, start, end, audiences, channels)
    table, where, params = _source(r, f, group_by)
    key = _key(r, f, group_by, table)
    # Summed by date and the stored keys in SQL (a few hundred to a few thousand rows); labelled, merged and
    # ordered here, as ``SELECT date, CASE WHEN kind = 'media' THEN coalesce(<col>, <fallback>) ELSE <fixed
    # group> END, <kind group>, sum(contribution) ... GROUP BY 1, 2, 3 ORDER BY date, kind_group <> 'media',
    # kind_group, "group"`` would (that SQL takes twice as long, most of it labelling rows before summing them).
    cols = list(r.numpy(f"SELECT date, {key.sql}, sum(contribution) FROM {table} WHERE {where} GROUP BY ALL",
                        params).values())
    return _over_time_frame(group_by, cols[0], *key.codes(cols[1:-1]), cols[-1])


def _texts(values: np.ndarray) -> np.ndarray:
    """A fetched text column as an object array, NULL as None."""
    out = np.array(np.ma.getdata(values), dtype=object)
    out[np.ma.getmaskarray(values)] = None
    return out


def _over_time_frame(group_by: str, dates: np.ndarray, kind_values: list, kind_code: np.ndarray,
                     group_values: list, group_code: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    """The rows of :func:`contributions_over_time` from its sums by date and key: each sum's kind and group
    column as codes into ``kind_values`` and ``group_values`` (see :class:`_Key`)."""
    if not len(dates):  # (as DuckDB hands over an empty result: text columns of object dtype)
        return pd.DataFrame({"date": np.array([], dtype="datetime64[us]"), "group": np.array([], dtype=object),
                             "kind_group": np.array([], dtype=object), "contribution": np.array([], dtype=float)})
    # every (kind group, label) a row can have: the media groups, then the fixed groups
    pairs = [("media", _label(group_by, g)) for g in group_values] + [_fixed(k)[::-1] for k in kind_values]
    names = sorted(set(pairs), key=lambda kg: (kg[0] != "media", kg[0], kg[1]))  # (the ORDER BY after date)
    rank = {kg: i for i, kg in enumerate(names)}
    media_rank = np.array([rank[pairs[i]] for i in range(len(group_values))], dtype=np.int64)
    fixed_rank = np.array([-1 if k == "media" else rank[pairs[len(group_values) + i]]
                           for i, k in enumerate(kind_values)], dtype=np.int64)
    row_rank = fixed_rank[kind_code]
    media = row_rank < 0
    row_rank[media] = media_rank[group_code[media]]
    day = np.asarray(dates).astype(np.int64)  # (microseconds)
    first = day.min()
    slot = (day - first) // 86_400_000_000 * len(names) + row_rank  # (whole days: DATE values)
    size = int(slot.max()) + 1
    seen = ~np.ma.getmaskarray(values)
    rows = np.bincount(slot, minlength=size)
    at = np.flatnonzero(rows)  # the (date, group) pairs that have rows, by date, then rank
    sums = np.bincount(slot, weights=np.where(seen, np.ma.getdata(values), 0.0), minlength=size)[at]
    summed = np.bincount(slot, weights=seen, minlength=size)[at] > 0  # (SQL sum: NULL when nothing is summed)
    kind_group, label = (pd.array(v, dtype="str") for v in zip(*names))
    which = at % len(names)
    return pd.DataFrame({
        "date": (first + at // len(names) * 86_400_000_000).astype("datetime64[us]"),
        "group": label.take(which),
        "kind_group": kind_group.take(which),
        "contribution": np.where(summed, sums, np.nan),
    })


def totals(r: StoreReader, run_id: str, group_by: str = "channel", brands: Sequence[str] | None = None, *,
           start: DateLike = None, end: DateLike = None, audiences: Sequence[str] | None = None,
           channels: Sequence[str] | None = None) -> pd.DataFrame:
    r"""Media contribution and spend per group over the filtered weeks, largest first.

    ``share`` is the group's contribution over the actual transactions of the same weeks and
    audiences (:math:`C_g / \sum_{t,a} y_{t,a}`); ``media_share`` its share of the (filtered) media
    contribution (:math:`C_g / \sum_h C_h`). Totals over all groups are in :func:`kpis`.
    """
    _group_col(group_by)  # (raises ValueError outside the whitelist)
    f = _Filter.of(run_id, brands, start, end, audiences, channels)
    rows = _grouped(r, f, group_by, "sum(contribution), sum(spend), sum(transactions)")
    transactions = media = None  # of the whole selection: actual transactions, media contribution
    groups: dict[str, list] = {}  # media group -> [contribution, spend]
    for kind, g, contribution, spend, tx in rows:
        if kind == "baseline":
            transactions = _plus(transactions, tx)
        if kind == "media":
            media = _plus(media, contribution)
            _sums(groups, _label(group_by, g), (contribution, spend))
    order = sorted(groups, key=lambda k: (_desc(groups[k][0]), k))
    return _frame({"group": order,
                   "contribution": [groups[k][0] for k in order],
                   "share": [_ratio(groups[k][0], transactions) for k in order],
                   "spend": [groups[k][1] for k in order],
                   "media_share": [_ratio(groups[k][0], media) for k in order]}, text=("group",))


_KPI_NAMES = ("transactions", "incremental", "media_share", "spend", "cost_per_incremental")


def kpis(r: StoreReader, run_id: str, brands: Sequence[str] | None = None, *, start: DateLike = None,
         end: DateLike = None, audiences: Sequence[str] | None = None,
         channels: Sequence[str] | None = None) -> dict:
    r"""Headline figures of the filtered weeks, against the same weeks a year (364 days) earlier.

    Returns ``{"start", "end", "weeks", "prior_start", "prior_end", "prior_weeks"}`` and, for each of
    ``transactions`` (actual, :math:`\sum y`), ``incremental`` (media contribution),
    ``media_share`` (incremental / transactions), ``spend`` and ``cost_per_incremental``
    (spend / incremental, None unless incremental > 0), a dict ``{"value", "prior", "change",
    "change_pct"}``. ``prior`` (and the changes) are None where the prior range has no data; where
    it has only some of the weeks, ``prior_weeks < weeks`` tells. Without ``start`` / ``end`` the
    range is the run's first / last week (within the audience filter).
    """
    f = _Filter.of(run_id, brands, start, end, audiences, channels)
    # Only the two ranges are needed: [start - 364 d, end]. One scan, aggregated by week; both ranges (which
    # overlap when the range is longer than 52 weeks) and the run's first / last week are then read off
    # those few rows.
    both = replace(f, start=f.start - timedelta(days=PRIOR_YEAR_DAYS) if f.start is not None else None)
    source, w, p = _source(r, both)
    weekly = r.execute(
        f"""SELECT date, sum(transactions) FILTER (WHERE kind = 'baseline'),
                   sum(contribution) FILTER (WHERE kind = 'media'), sum(spend) FILTER (WHERE kind = 'media')
            FROM {source} WHERE {w} GROUP BY 1""",
        p,
    )
    if weekly:
        s = f.start or min(row[0] for row in weekly)
        e = f.end or max(row[0] for row in weekly)
    else:  # nothing in either range: still say which range was asked for
        s, e = _bounds(r, f)
    ps, pe = prior_year_range(s, e) if s is not None and e is not None else (None, None)

    def in_range(lo, hi) -> tuple[tuple, int]:
        """(transactions, incremental, spend) of the weeks in [lo, hi] (as SQL sums: transactions None
        without baseline rows, the others 0), and how many weeks have rows."""
        rows = [row for row in weekly if lo is not None and hi is not None and lo <= row[0] <= hi]
        tx = [row[1] for row in rows if row[1] is not None]
        return ((sum(tx) if tx else None, sum(row[2] for row in rows if row[2] is not None),
                 sum(row[3] for row in rows if row[3] is not None)), len(rows))

    def figures(transactions, incremental, spend) -> dict[str, float | None]:
        if transactions is None:
            return dict.fromkeys(_KPI_NAMES)
        transactions, incremental, spend = float(transactions), float(incremental), float(spend)
        return {
            "transactions": transactions,
            "incremental": incremental,
            "media_share": incremental / transactions if transactions else None,
            "spend": spend,
            "cost_per_incremental": spend / incremental if incremental > 0 else None,
        }

    (cur, weeks), (prior, prior_weeks) = in_range(s, e), in_range(ps, pe)
    cur, prior = figures(*cur), figures(*prior)
    out: dict[str, Any] = {"start": s, "end": e, "weeks": weeks,
                           "prior_start": ps, "prior_end": pe, "prior_weeks": prior_weeks}
    for name in _KPI_NAMES:
        v, pv = cur[name], prior[name]
        change = v - pv if v is not None and pv is not None else None
        pct = change / abs(pv) * 100 if change is not None and pv else None
        out[name] = {"value": v, "prior": pv, "change": change, "change_pct": pct}
    return out


def _bounds(r: StoreReader, f: _Filter) -> tuple[date | None, date | None]:
    """``start`` / ``end`` of the filter, the run's first / last week (within the audiences) where not given."""
    if f.start is not None and f.end is not None:
        return f.start, f.end
    if r.schema_version >= SPLIT_SINCE:  # (from run_audiences: the first and last date of each audience)
        run = _run_audiences(r).get(f.run_id, _NO_AUDIENCES)
        if f.brands is not None and run.brand not in f.brands:
            return f.start, f.end
        spans = [v for a, v in run.dates.items() if f.audiences is None or a in f.audiences]
        s, e = (min(v[0] for v in spans), max(v[1] for v in spans)) if spans else (None, None)
        return f.start or s, f.end or e
    table = _table(r, replace(f, channels=None))
    w, p = f.where(dates=False, channels=False, numbers=_numbers(r, f, table))
    key = ("bounds", f.run_id, *(tuple(v) if v is not None else None for v in (f.brands, f.audiences)))
    s, e = r.memo(key, lambda: r.execute(f"SELECT min(date), max(date) FROM {table} WHERE {w}", p)[0])
    return f.start or s, f.end or e


def decomposition(r: StoreReader, run_id: str, group_by: str = "channel", brands: Sequence[str] | None = None,
                  *, start: DateLike = None, end: DateLike = None, audiences: Sequence[str] | None = None,
                  channels: Sequence[str] | None = None) -> pd.DataFrame:
    """The steps of a waterfall: Baseline, Controls, Holidays, one step per media group (largest
    first), then ``Total`` = the sum of the steps (the fitted transactions of the filtered weeks;
    with a channel filter, of the kept channels). Columns ``step``, ``value``, ``start``, ``end``
    (running sum before / after the step; Total goes from 0 to the sum), ``kind``. Fixed groups
    without rows are left out.
    """
    _group_col(group_by)  # (raises ValueError outside the whitelist)
    f = _Filter.of(run_id, brands, start, end, audiences, channels)
    rows = _grouped(r, f, group_by, "sum(contribution)")
    steps: dict[tuple[str, str], list] = {}  # (kind group, step) -> [value]
    unlabelled = _label(group_by, None)
    for kind, g, value in rows:
        key = ("media", unlabelled if g is None else g) if kind == "media" else _FIXED_STEP.get(kind, _CONTROLS)
        have = steps.get(key)
        if have is None:
            steps[key] = [value]
        elif value is not None:
            have[0] = value if have[0] is None else have[0] + value
    rank = {"baseline": 0, "controls": 1, "holidays": 2}
    order = sorted(steps, key=lambda k: (rank.get(k[0], 3), _desc(steps[k][0]), k[1]))
    out: dict[str, list] = {"step": [], "value": [], "start": [], "end": [], "kind": []}
    running = None  # sum of the steps so far (as SQL's running sum: NULL values are skipped)
    for kind, step in [*order, ("total", "Total")] if order else []:
        value = running if kind == "total" else steps[(kind, step)][0]
        end = value if kind == "total" else _plus(running, value)
        out["step"].append(step)
        out["value"].append(value)
        out["start"].append(None if end is None or value is None else end - value)
        out["end"].append(end)
        out["kind"].append(kind)
        running = end
    return _frame(out, text=("step", "kind"))


def driver_performance(r: StoreReader, run_id: str, group_by: str = "channel",
                       brands: Sequence[str] | None = None, prior_year: bool = False, *, start: DateLike = None,
                       end: DateLike = None, audiences: Sequence[str] | None = None,
                       channels: Sequence[str] | None = None) -> pd.DataFrame:
    r"""Spend, impressions and contribution per media group, with efficiency and effectiveness.

    ``efficiency`` = spend / contribution, the spend per incremental transaction (NULL unless the
    contribution is > 0); ``effectiveness`` = contribution / impressions × 1000, incremental
    transactions per thousand impressions, over the rows that have impressions (NULL when the
    impressions are 0 or missing). With ``prior_year=True`` the same figures for the same weeks
    364 days earlier in the same run (the run's first / last week stand in for a missing
    ``start`` / ``end``). Columns ``group``, ``spend``, ``impressions``, ``contribution``,
    ``efficiency``, ``effectiveness``; largest contribution first.
    """
    _group_col(group_by)  # (raises ValueError outside the whitelist)
    f = _Filter.of(run_id, brands, start, end, audiences, channels)
    if prior_year:  # (no bounds means no rows for this run, brand and audiences: none either way)
        f.start, f.end = prior_year_range(*_bounds(r, f))
    rows = _grouped(r, f, group_by, f"sum(spend), sum(impressions), sum(contribution), "
                    f"{_seen(_table(r, f, group_by))}", media_only=True)
    groups: dict[str, list] = {}  # group -> [spend, impressions, contribution, contribution_seen]
    for _, g, *values in rows:
        _sums(groups, _label(group_by, g), values)
    order = sorted(groups, key=lambda k: (_desc(groups[k][2]), k))
    cols: dict[str, list] = {"group": order, "spend": [], "impressions": [], "contribution": [], "efficiency": [],
                             "effectiveness": []}
    for k in order:
        spend, impressions, contribution, seen = groups[k]
        cols["spend"].append(spend)
        cols["impressions"].append(impressions)
        cols["contribution"].append(contribution)
        cols["efficiency"].append(spend / contribution if contribution is not None and contribution > 0
                                  and spend is not None else None)
        effectiveness = _ratio(seen, impressions)
        cols["effectiveness"].append(None if effectiveness is None else effectiveness * 1000)
    return _frame(cols, text=("group",))


def contribution_intervals(r: StoreReader, run_id: str, group_by: str = "variable",
                           brands: Sequence[str] | None = None, *, start: DateLike = None, end: DateLike = None,
                           audiences: Sequence[str] | None = None,
                           channels: Sequence[str] | None = None) -> pd.DataFrame:
    """Total media contribution per group with its 94% interval.

    Over the run's whole fit window (no ``start`` / ``end``, or a range that covers every week of the
    run), from ``summaries``: a group made of one summary row (one variable of one audience) gets the
    exact interval of its total, computed per draw at training time; a group of several rows (a
    channel of several variables, a variable over several audiences) gets the sum of the means and
    the sums of the bounds, which is wider than the true interval of the sum: ``approximate`` is True
    there. Over part of the run, from the weekly rows of ``contributions``: the sums of the weekly
    means and bounds (wider than the interval of the total, so ``approximate`` is True unless the group
    is one week of one variable). Exact intervals of sums need the draws. Columns ``group``,
    ``contribution``, ``lo``, ``hi``, ``spend``, ``approximate``.
    """
    col, fallback = _group_col(group_by)
    f = _Filter.of(run_id, brands, start, end, audiences, channels)
    if f.start is not None or f.end is not None:
        first, last = _bounds(r, _Filter(f.run_id, f.brands, audiences=f.audiences))
        if first is None or (f.start or first) > first or (f.end or last) < last:  # part of the run
            where, params = f.where(media_only=True)
            return r.query(
                f"""SELECT coalesce({col}, {fallback}) AS "group", sum(contribution) AS contribution,
                           sum(contribution_lo) AS lo, sum(contribution_hi) AS hi, sum(spend) AS spend,
                           count(*) > 1 AS approximate
                    FROM {BASE} WHERE {where} GROUP BY 1 ORDER BY contribution DESC, "group" """,
                params,
            )
    sw, sp = f.where(dates=False, channels=False)
    if group_by in ("variable", "audience") and f.channels is None:
        source, tp = "summaries", []
    else:
        # summaries carry no hierarchy: take each media variable's labels from its contributions.
        tw, tp = f.where(dates=False, media_only=True)
        source = f"""(SELECT s.*, t.channel, t.channel_group, t.pillar, t.message_type FROM summaries s
                      JOIN (SELECT DISTINCT variable, channel, channel_group, pillar, message_type
                            FROM {_table(r, f, "variable")} WHERE {tw}) t USING (variable))"""
    return r.query(
        f"""SELECT coalesce({col}, {fallback}) AS "group", sum(contribution) AS contribution,
                   sum(contribution_lo) AS lo, sum(contribution_hi) AS hi, sum(spend) AS spend,
                   count(*) > 1 AS approximate
            FROM {source} WHERE {sw} GROUP BY 1 ORDER BY contribution DESC, "group" """,
        [*tp, *sp],
    )


def response_draws(r: StoreReader, run_id: str, brands: Sequence[str] | None = None) -> pd.DataFrame:
    """A run's posterior response draws (``audience, variable, kind, parameter, draw, value``), for the
    response engine; empty for a run the brands may not see or without draws."""
    f = _Filter.of(run_id, brands)
    where, params = f.where(dates=False, channels=False)
    return r.query(f"SELECT audience, variable, kind, parameter, draw, value FROM response_draws WHERE {where}",
                   params)


def run_contributions(r: StoreReader, run_id: str, brands: Sequence[str] | None = None) -> pd.DataFrame:
    """A run's weekly rows (date × variable × audience) with the columns the response engine reads:
    the actual spend, impressions and transactions, and the contributions of controls and holidays."""
    f = _Filter.of(run_id, brands)
    where, params = f.where(dates=False, channels=False)
    return r.query(
        f"""SELECT date, variable, channel, channel_group, pillar, message_type, audience, kind,
                   contribution, spend, impressions, transactions
            FROM {BASE} WHERE {where} ORDER BY audience, variable, date""",
        params,
    )


__all__ = [
    "GROUPS", "PRIOR_YEAR_DAYS", "prior_year_range", "list_runs", "filter_options", "contributions_over_time",
    "totals", "kpis", "decomposition", "driver_performance", "contribution_intervals", "response_draws",
    "run_contributions",
]


def run_rows(r: StoreReader, run_id: str, brands: Sequence[str] | None = None) -> pd.DataFrame:
    """A run's whole contributions table (the run folder's ``contributions.parquet`` columns), for model
    review; empty for a run the brands may not see."""
    from store.schema import CONTRIBUTION_COLUMNS

    f = _Filter.of(run_id, brands)
    where, params = f.where(dates=False, channels=False)
    cols = ", ".join(f'"{c}"' for c in CONTRIBUTION_COLUMNS)
    return r.query(f"SELECT {cols} FROM {BASE} WHERE {where} ORDER BY audience, variable, date", params)


def run_config(r: StoreReader, run_id: str, brands: Sequence[str] | None = None) -> tuple[dict, dict]:
    """A run's model config (from its config.yaml) and metrics (metrics.json), as dicts; empty if not visible."""
    import json

    import yaml

    params: list[Any] = [run_id]
    where = _in("brand", _as_list(brands, "brands"), params) if brands is not None else "TRUE"
    rows = r.execute(f"SELECT config_yaml, metrics FROM runs WHERE run_id = ? AND {where}", params)
    if not rows:
        return {}, {}
    config_yaml, metrics = rows[0]
    return (yaml.safe_load(config_yaml) if config_yaml else {}) or {}, json.loads(metrics) if metrics else {}
