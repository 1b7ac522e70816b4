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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Sequence

import pandas as pd

from store.reader import StoreReader

GROUPS = ("channel", "channel_group", "pillar", "message_type", "audience", "variable")
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

    def where(self, *, dates: bool = True, media_only: bool = False,
              channels: bool = True) -> tuple[str, list[Any]]:
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
        if self.audiences is not None:
            parts.append(_in("audience", self.audiences, params))
        if media_only:
            parts.append("kind = 'media'")
        if channels and self.channels is not None:
            cond = _in("channel", self.channels, params)
            parts.append(cond if media_only else f"(kind <> 'media' OR {cond})")
        return " AND ".join(parts), params


# --------------------------------------------------------------------------------------------- queries

def list_runs(r: StoreReader, brands: Sequence[str] | None = None) -> pd.DataFrame:
    """Every run of the given brands with its status and fit metrics, newest first."""
    params: list[Any] = []
    where = _in("brand", _as_list(brands, "brands"), params) if brands is not None else "TRUE"
    return r.query(
        f"""SELECT run_id, brand, status, registry_status, created_at, variant, audiences,
                   train_start, train_end, test_start, test_end, weeks,
                   train_mape, train_r2, train_durbin_watson, test_mape, test_r2, test_durbin_watson,
                   max_rhat, min_ess_bulk, divergences, fit_seconds
            FROM runs WHERE {where}
            ORDER BY created_at DESC NULLS LAST, run_id DESC""",
        params,
    )


def filter_options(r: StoreReader, run_id: str, brands: Sequence[str] | None = None) -> dict:
    """What a run's filter widgets offer: its date range, audiences and media channels."""
    f = _Filter.of(run_id, brands)
    where, params = f.where()
    row = r.execute(
        f"""SELECT min(date), max(date),
                   list(DISTINCT audience ORDER BY audience) FILTER (WHERE audience IS NOT NULL),
                   list(DISTINCT channel ORDER BY channel) FILTER (WHERE kind = 'media' AND channel IS NOT NULL)
            FROM contributions WHERE {where}""",
        params,
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
    col, fallback = _group_col(group_by)
    where, params = _Filter.of(run_id, brands, start, end, audiences, channels).where()
    # Aggregate on the stored columns first, label the few resulting rows after (much cheaper
    # than evaluating the labels on every row).
    return r.query(
        f"""WITH p AS (
                SELECT date, kind, {col} AS g, sum(contribution) AS contribution
                FROM contributions WHERE {where} GROUP BY 1, 2, 3)
            SELECT date,
                   CASE WHEN kind = 'media' THEN coalesce(g, {fallback}) ELSE {_FIXED_GROUP} END AS "group",
                   {_KIND_GROUP} AS kind_group,
                   sum(contribution) AS contribution
            FROM p GROUP BY 1, 2, 3
            ORDER BY date, kind_group <> 'media', kind_group, "group" """,
        params,
    )


def totals(r: StoreReader, run_id: str, group_by: str = "channel", brands: Sequence[str] | None = None, *,
           start: DateLike = None, end: DateLike = None, audiences: Sequence[str] | None = None,
           channels: Sequence[str] | None = None) -> pd.DataFrame:
    r"""Media contribution and spend per group over the filtered weeks, largest first.

    ``share`` is the group's contribution over the actual transactions of the same weeks and
    audiences (:math:`C_g / \sum_{t,a} y_{t,a}`); ``media_share`` its share of the (filtered) media
    contribution (:math:`C_g / \sum_h C_h`). Totals over all groups are in :func:`kpis`.
    """
    col, fallback = _group_col(group_by)
    where, params = _Filter.of(run_id, brands, start, end, audiences, channels).where()
    return r.query(
        f"""WITH p AS MATERIALIZED (
                SELECT kind, {col} AS g, sum(contribution) AS contribution, sum(spend) AS spend,
                       sum(transactions) AS transactions
                FROM contributions WHERE {where} GROUP BY 1, 2),
            whole AS (
                SELECT sum(transactions) FILTER (WHERE kind = 'baseline') AS transactions,
                       sum(contribution) FILTER (WHERE kind = 'media') AS media
                FROM p),
            m AS (
                SELECT coalesce(g, {fallback}) AS "group", sum(contribution) AS contribution, sum(spend) AS spend
                FROM p WHERE kind = 'media' GROUP BY 1)
            SELECT "group", contribution, contribution / nullif(whole.transactions, 0) AS share, spend,
                   contribution / nullif(whole.media, 0) AS media_share
            FROM m, whole
            ORDER BY contribution DESC, "group" """,
        params,
    )


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
    w, p = f.where(dates=False)
    if f.start is not None:  # only the two ranges are needed: [start - 364 d, end]
        w += " AND date >= ?"
        p.append(f.start - timedelta(days=PRIOR_YEAR_DAYS))
    if f.end is not None:
        w += " AND date <= ?"
        p.append(f.end)
    in_cur = "date BETWEEN b.s AND b.e"
    in_pri = f"date BETWEEN b.s - {PRIOR_YEAR_DAYS} AND b.e - {PRIOR_YEAR_DAYS}"
    # One scan, aggregated by week and kind; both ranges (which overlap when the range is longer
    # than 52 weeks) and the run's first / last week are then read off those few rows.
    row = r.execute(
        f"""WITH p AS MATERIALIZED (
                SELECT date, kind, sum(contribution) AS contribution, sum(spend) AS spend,
                       sum(transactions) AS transactions
                FROM contributions WHERE {w} GROUP BY 1, 2),
            b AS (SELECT coalesce(?::DATE, min(date)) AS s, coalesce(?::DATE, max(date)) AS e FROM p)
            SELECT any_value(b.s), any_value(b.e),
                   sum(transactions) FILTER (WHERE kind = 'baseline' AND {in_cur}),
                   coalesce(sum(contribution) FILTER (WHERE kind = 'media' AND {in_cur}), 0),
                   coalesce(sum(spend) FILTER (WHERE kind = 'media' AND {in_cur}), 0),
                   count(DISTINCT date) FILTER (WHERE {in_cur}),
                   sum(transactions) FILTER (WHERE kind = 'baseline' AND {in_pri}),
                   coalesce(sum(contribution) FILTER (WHERE kind = 'media' AND {in_pri}), 0),
                   coalesce(sum(spend) FILTER (WHERE kind = 'media' AND {in_pri}), 0),
                   count(DISTINCT date) FILTER (WHERE {in_pri})
            FROM p, b""",
        [*p, f.start, f.end],
    )[0]
    s, e = row[0], row[1]
    if s is None:  # nothing in either range: still say which range was asked for
        s, e = _bounds(r, f)
    ps, pe = prior_year_range(s, e) if s is not None and e is not None else (None, None)

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

    cur, prior = figures(*row[2:5]), figures(*row[6:9])
    out: dict[str, Any] = {"start": s, "end": e, "weeks": int(row[5] or 0),
                           "prior_start": ps, "prior_end": pe, "prior_weeks": int(row[9] or 0)}
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
    w, p = f.where(dates=False, channels=False)
    s, e = r.execute(f"SELECT min(date), max(date) FROM contributions WHERE {w}", p)[0]
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
    col, fallback = _group_col(group_by)
    where, params = _Filter.of(run_id, brands, start, end, audiences, channels).where()
    return r.query(
        f"""WITH p AS (
                SELECT kind, {col} AS g, sum(contribution) AS value
                FROM contributions WHERE {where} GROUP BY 1, 2),
            s AS (
                SELECT CASE WHEN kind = 'media' THEN coalesce(g, {fallback}) ELSE {_FIXED_GROUP} END AS step,
                       {_KIND_GROUP} AS kind, sum(value) AS value
                FROM p GROUP BY 1, 2),
            o AS (
                SELECT step, kind, value,
                       row_number() OVER (ORDER BY CASE kind WHEN 'baseline' THEN 0 WHEN 'controls' THEN 1
                                                             WHEN 'holidays' THEN 2 ELSE 3 END,
                                          value DESC, step) AS ord
                FROM s),
            c AS (
                SELECT step, value, kind, ord,
                       sum(value) OVER (ORDER BY ord ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS "end"
                FROM o)
            SELECT step, value, "end" - value AS start, "end", kind FROM (
                SELECT step, value, "end", kind, ord FROM c
                UNION ALL
                SELECT 'Total', sum(value), sum(value), 'total', 1e18 FROM c HAVING count(*) > 0)
            ORDER BY ord""",
        params,
    )


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
    col, fallback = _group_col(group_by)
    f = _Filter.of(run_id, brands, start, end, audiences, channels)
    if prior_year:  # (no bounds means no rows for this run, brand and audiences: none either way)
        f.start, f.end = prior_year_range(*_bounds(r, f))
    where, params = f.where(media_only=True)
    return r.query(
        f"""WITH p AS (
                SELECT {col} AS g, sum(spend) AS spend, sum(impressions) AS impressions,
                       sum(contribution) AS contribution,
                       sum(contribution) FILTER (WHERE impressions IS NOT NULL) AS contribution_seen
                FROM contributions WHERE {where} GROUP BY 1),
            agg AS (
                SELECT coalesce(g, {fallback}) AS "group", sum(spend) AS spend, sum(impressions) AS impressions,
                       sum(contribution) AS contribution, sum(contribution_seen) AS contribution_seen
                FROM p GROUP BY 1)
            SELECT "group", spend, impressions, contribution,
                   CASE WHEN contribution > 0 THEN spend / contribution END AS efficiency,
                   contribution_seen / nullif(impressions, 0) * 1000 AS effectiveness
            FROM agg ORDER BY contribution DESC, "group" """,
        params,
    )


def contribution_intervals(r: StoreReader, run_id: str, group_by: str = "variable",
                           brands: Sequence[str] | None = None, *, audiences: Sequence[str] | None = None,
                           channels: Sequence[str] | None = None) -> pd.DataFrame:
    """Total media contribution per group over the fit window with its 94% interval, from ``summaries``.

    A group made of one summary row (one variable of one audience) gets the exact interval of its
    total, computed per draw at training time. A group of several rows (a channel of several
    variables, a variable over several audiences) gets the sum of the means and the sums of the
    bounds, which is wider than the true interval of the sum: ``approximate`` is True there.
    Exact group intervals need the draws; a later issue may compute them from the response draws.
    Dates do not apply (summaries cover the training weeks). Columns ``group``, ``contribution``,
    ``lo``, ``hi``, ``spend``, ``approximate``.
    """
    col, fallback = _group_col(group_by)
    f = _Filter.of(run_id, brands, audiences=audiences, channels=channels)
    sw, sp = f.where(dates=False, channels=False)
    if group_by in ("variable", "audience") and f.channels is None:
        source, tp = "summaries", []
    else:
        # summaries carry no hierarchy: take each media variable's labels from its contributions.
        tw, tp = f.where(dates=False, media_only=True)
        source = f"""(SELECT s.*, t.channel, t.channel_group, t.pillar, t.message_type FROM summaries s
                      JOIN (SELECT DISTINCT variable, channel, channel_group, pillar, message_type
                            FROM contributions WHERE {tw}) t USING (variable))"""
    return r.query(
        f"""SELECT coalesce({col}, {fallback}) AS "group", sum(contribution) AS contribution,
                   sum(contribution_lo) AS lo, sum(contribution_hi) AS hi, sum(spend) AS spend,
                   count(*) > 1 AS approximate
            FROM {source} WHERE {sw} GROUP BY 1 ORDER BY contribution DESC, "group" """,
        [*tp, *sp],
    )


__all__ = [
    "GROUPS", "PRIOR_YEAR_DAYS", "prior_year_range", "list_runs", "filter_options", "contributions_over_time",
    "totals", "kpis", "decomposition", "driver_performance", "contribution_intervals",
]
