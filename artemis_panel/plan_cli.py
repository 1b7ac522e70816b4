"""The planning commands of the ``artemis`` command line: ``forecast`` and ``optimize``.

RUN is a run folder (with ``response.parquet`` and ``contributions.parquet``) or the id of a run in the
store (``--store``, default the user's store)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("forecast", help="forecast transactions under a weekly spend plan")
    p.add_argument("run", help="run folder, or run id in the store")
    p.add_argument("--plan", default=None,
                   help="plan CSV: date + one column per media variable, or date, variable, spend "
                        "(default: last year's spend of the --weeks weeks after the data)")
    p.add_argument("--weeks", type=int, default=13, help="weeks to forecast without --plan (default 13)")
    p.add_argument("--out", required=True, help="CSV to write (one row per week)")
    p.add_argument("--store", default=None, help="store file (default: the user's store)")
    p.set_defaults(func=cmd_forecast)

    p = sub.add_parser("optimize", help="the split of a budget that buys the most incremental transactions")
    p.add_argument("run", help="run folder, or run id in the store")
    p.add_argument("--budget", type=float, required=True, help="total budget over the period")
    p.add_argument("--weeks", type=int, default=13, help="weeks in the period (default 13)")
    p.add_argument("--start", default=None, help="first week (default: the week after the data)")
    p.add_argument("--bounds", default=None,
                   help="CSV: variable, lower, upper (dollars; blank = none) and optionally locked (true/false)")
    p.add_argument("--pct", type=float, default=None, help="bound every other variable to ± this %% of current")
    p.add_argument("--objective", choices=["mean", "quantile"], default="mean",
                   help="expected transactions, or a lower quantile of them (risk-aware)")
    p.add_argument("--quantile", type=float, default=0.05, help="the quantile of --objective quantile")
    p.add_argument("--out", required=True, help="CSV to write (one row per variable)")
    p.add_argument("--store", default=None)
    p.set_defaults(func=cmd_optimize)


def load_engine(run: str, store: str | None = None):
    """The response engine of a run folder or of a run in the store."""
    from jobs.response_engine import PlanError, ResponseEngine

    folder = Path(run)
    if folder.is_dir():
        for name in ("response.parquet", "contributions.parquet"):
            if not (folder / name).is_file():
                raise PlanError(f"{folder} has no {name}: it is not a complete run folder")
        return ResponseEngine.from_run_folder(folder)
    from artemis_panel.plan_data import engine_for
    from store.paths import default_store
    from store.reader import StoreReader, StoreMissing

    try:
        reader = StoreReader(store or default_store())
        if not reader.execute("SELECT count(*) FROM runs WHERE run_id = ?", [run])[0][0]:
            raise PlanError(f"{run!r} is neither a run folder nor a run in the store {reader.path}")
        return engine_for(reader, run)
    except StoreMissing as e:
        raise PlanError(f"{run!r} is not a run folder, and {e}") from None


def _bounds(path: str, media: list[str]) -> tuple[dict, dict, list]:
    from jobs.response_engine import PlanError

    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise PlanError(f"{path}: cannot read the bounds ({e})") from None
    if "variable" not in df.columns:
        raise PlanError(f"{path}: the bounds need a 'variable' column")
    lower, upper, locked = {}, {}, []
    for i, row in df.iterrows():
        var = row["variable"]
        if var not in media:
            raise PlanError(f"{path}, row {i + 2}: unknown media variable {var!r}")
        for col, out in (("lower", lower), ("upper", upper)):
            if col in df.columns and pd.notna(row[col]):
                try:
                    out[var] = float(row[col])
                except ValueError:
                    raise PlanError(f"{path}, row {i + 2}: {col} {row[col]!r} is not a number") from None
        if "locked" in df.columns and str(row["locked"]).strip().lower() in ("true", "1", "yes"):
            locked.append(var)
    return lower, upper, locked


def cmd_forecast(args: argparse.Namespace) -> int:
    from artemis_panel.plan_data import forecast_csv, next_week, read_plan_csv
    from jobs.response_engine import PlanError

    try:
        engine = load_engine(args.run, args.store)
        if args.plan:
            try:
                with open(args.plan, "rb") as fh:
                    start, plan = read_plan_csv(engine, fh)
            except OSError as e:
                raise PlanError(f"cannot read the plan {args.plan}: {e}") from None
        else:
            start = next_week(engine)
            plan = engine.default_plan(start, args.weeks)
        result = engine.forecast(start, plan)
    except PlanError as e:
        print(f"artemis forecast: {e}", file=sys.stderr)
        return 2
    Path(args.out).write_text(forecast_csv(result))
    t = result.totals()
    print(f"{len(plan)} weeks from {pd.Timestamp(start).date()}: {t['transactions']:,.0f} expected transactions "
          f"(94%: {t['transactions_lo']:,.0f} – {t['transactions_hi']:,.0f}), {t['incremental']:,.0f} from media, "
          f"spend ${t['spend']:,.0f} -> {args.out}")
    return 0


def cmd_optimize(args: argparse.Namespace) -> int:
    from artemis_panel.plan_data import allocation_csv, next_week
    from jobs.budget import BudgetProblem
    from jobs.response_engine import PlanError

    try:
        engine = load_engine(args.run, args.store)
        start = pd.Timestamp(args.start) if args.start else next_week(engine)
        lower, upper, locked = _bounds(args.bounds, engine.media) if args.bounds else ({}, {}, [])
        problem = BudgetProblem(engine, start, args.weeks)
        alloc = problem.optimize(args.budget, lower, upper, locked, pct=args.pct, objective=args.objective,
                                 quantile=args.quantile)
    except PlanError as e:
        print(f"artemis optimize: {e}", file=sys.stderr)
        return 2
    Path(args.out).write_text(allocation_csv(alloc))
    s = alloc.summary()
    print(f"${args.budget:,.0f} over {args.weeks} weeks from {start.date()}: {s['incremental_optimal']:,.0f} "
          f"incremental transactions vs {s['incremental_current']:,.0f} with the current split "
          f"({s['lift_pct']:+.1f}%, chance better {s['prob_better']:.0%}); solved in {s['seconds']:.2f} s -> {args.out}")
    return 0 if np.isfinite(s["incremental_optimal"]) else 1
