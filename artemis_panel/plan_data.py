"""What the Forecast and Maximize tabs compute, without widgets: the run's response engine (read from the
store once per store file and run), plans as tables, scale factors, and the CSV exports."""

from __future__ import annotations

import io
from typing import Sequence

import numpy as np
import pandas as pd

from jobs.budget import Allocation
from jobs.response_engine import WEEK, Forecast, PlanError, ResponseEngine, check_plan
from store import queries as q
from store.reader import StoreReader

DEFAULT_WEEKS = 13


def engine_for(reader: StoreReader, run_id: str, brands: Sequence[str] | None = None) -> ResponseEngine:
    """The response engine of a run the brands may see (built once per store file; raises PlanError for a
    run without response draws or one the brands may not see)."""
    key = ("engine", run_id, None if brands is None else tuple(brands))

    def build() -> ResponseEngine:
        response = q.response_draws(reader, run_id, brands)
        if response.empty:
            raise PlanError(f"run {run_id} has no response draws to forecast or optimise with")
        return ResponseEngine(response, q.run_contributions(reader, run_id, brands))

    return reader.memo(key, build)


def next_week(engine: ResponseEngine) -> pd.Timestamp:
    """The first week after the run's data: where plans start by default."""
    return pd.Timestamp(engine.last + WEEK)


def scale_table(engine: ResponseEngine, base: pd.DataFrame, plan: pd.DataFrame) -> pd.DataFrame:
    """Per variable: its labels, the default (last year's) spend, the plan's spend and the factor between."""
    default, planned = base.sum(axis=0), plan.sum(axis=0)
    tax = engine.taxonomy
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(default > 0, planned / default.where(default > 0, 1.0), 1.0)
    return pd.DataFrame({
        "variable": engine.media, "channel": tax["channel"].astype(object).to_numpy(),
        "last_year": default.to_numpy(float), "scale": np.round(factor.astype(float), 4),
        "plan": planned.to_numpy(float),
    })


def plan_to_payload(start, plan: pd.DataFrame) -> dict:
    """A plan as JSON-friendly data (for saved scenarios)."""
    return {"start": str(pd.Timestamp(start).date()), "weeks": int(len(plan)),
            "plan": {c: [float(v) for v in plan[c].to_numpy()] for c in plan.columns}}


def payload_to_plan(engine: ResponseEngine, payload: dict) -> tuple[pd.Timestamp, pd.DataFrame]:
    """A saved plan back as (start, weeks × variables); PlanError if it no longer fits the run."""
    try:
        start = pd.Timestamp(payload["start"])
        weeks = int(payload["weeks"])
        plan = pd.DataFrame(payload["plan"])
    except (KeyError, TypeError, ValueError) as e:
        raise PlanError(f"the saved scenario is not a plan ({e})") from None
    k = engine.week_of(start)
    plan.index = pd.DatetimeIndex(engine.week_dates(k, weeks), name="date")
    unknown = [c for c in plan.columns if c not in engine.media]
    if unknown:
        raise PlanError(f"the saved plan names variables this run does not have: {', '.join(unknown)}")
    return start, plan.reindex(columns=engine.media, fill_value=0.0)


def read_plan_csv(engine: ResponseEngine, source, start=None) -> tuple[pd.Timestamp, pd.DataFrame]:
    """A plan from CSV: wide (``date`` then one column per media variable) or long (``date, variable,
    spend``). Dates must be consecutive weeks of the run's weekday; errors name the row or column."""
    try:
        df = pd.read_csv(source)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise PlanError(f"the plan is not a readable CSV ({e})") from None
    if "date" not in df.columns:
        raise PlanError(f"the plan needs a 'date' column; it has {', '.join(map(str, df.columns))}")
    dates = pd.to_datetime(df["date"], errors="coerce")
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna())[0])
        raise PlanError(f"row {row + 2} of the plan: date {df['date'].iloc[row]!r} is not a date")
    df["date"] = dates
    if {"variable", "spend"} <= set(df.columns):
        unknown = sorted(set(df["variable"]) - set(engine.media))
        if unknown:
            raise PlanError(f"the plan names unknown media variable(s) {', '.join(map(repr, unknown))}; "
                            f"the run's are {', '.join(engine.media)}")
        spend = pd.to_numeric(df["spend"], errors="coerce")
        if spend.isna().any():
            row = int(np.flatnonzero(spend.isna())[0])
            raise PlanError(f"row {row + 2} of the plan: spend {df['spend'].iloc[row]!r} is not a number")
        df["spend"] = spend
        wide = df.pivot_table(index="date", columns="variable", values="spend", aggfunc="sum")
    else:
        wide = df.set_index("date")
    wide = wide.sort_index()
    first = wide.index[0]
    k = engine.week_of(first)
    expected = pd.DatetimeIndex(engine.week_dates(k, len(wide)))
    if not wide.index.equals(expected):
        bad = next(i for i, (a, b) in enumerate(zip(wide.index, expected)) if a != b)
        raise PlanError(f"the plan's weeks must be consecutive weeks: after {expected[bad - 1].date()} "
                        f"comes {expected[bad].date()}, not {wide.index[bad].date()}")
    check_plan(wide, engine.media)
    return (pd.Timestamp(start) if start is not None else first), wide.reindex(columns=engine.media, fill_value=0.0)


def forecast_csv(forecast: Forecast) -> str:
    """The weekly forecast and the plan in one CSV (one row per week)."""
    weekly = forecast.weekly()
    plan = pd.DataFrame(forecast.spend, columns=[f"spend: {v}" for v in forecast.media_names])
    out = pd.concat([weekly, plan], axis=1)
    buf = io.StringIO()
    out.to_csv(buf, index=False, date_format="%Y-%m-%d")
    return buf.getvalue()


def allocation_csv(alloc: Allocation) -> str:
    buf = io.StringIO()
    alloc.table().to_csv(buf, index=False)
    return buf.getvalue()


def allocation_plan(problem, alloc: Allocation) -> pd.DataFrame:
    """An allocation as a weekly plan: each variable's budget spread over the weeks like the reference."""
    engine = problem.engine
    P = problem.pattern * alloc.optimal[None, :]
    return pd.DataFrame(P, index=pd.DatetimeIndex(engine.week_dates(problem.start, problem.weeks), name="date"),
                        columns=engine.media)
