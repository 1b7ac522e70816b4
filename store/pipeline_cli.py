"""The ``artemis pipeline`` commands: run the data pipeline (landing -> bronze -> silver -> gold), and write
demo landing files to try it on."""

from __future__ import annotations

import argparse
import sys


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pipeline", help="raw media and sales files -> bronze, silver, gold tables and the training dataset")
    psub = p.add_subparsers(dest="pipeline_command", required=True, metavar="SUBCOMMAND")
    r = psub.add_parser("run", help="run the pipeline of a config folder (pipeline.yaml + one YAML per entity)")
    r.add_argument("--config", required=True, metavar="DIR", help="the config folder")
    r.add_argument("--from", dest="start", default="landing", choices=("landing", "bronze", "silver"),
                   help="first layer to (re)build from (default: landing, i.e. new landing files only)")
    r.add_argument("--to", dest="stop", default="gold", choices=("bronze", "silver", "gold"),
                   help="last layer to build (default: gold, with the training dataset)")
    r.add_argument("--engine", default=None, choices=("duckdb", "spark"), help="override the config's engine")
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.set_defaults(func=cmd_run)
    d = psub.add_parser("demo-landing", help="write seeded demo landing files (paid/owned media, sales, weather)")
    d.add_argument("out", help="landing folder to write")
    d.add_argument("--rows", type=int, default=100_000, help="paid-media rows (default 100000)")
    d.add_argument("--weeks", type=int, default=52, help="weeks of days (default 52)")
    d.add_argument("--format", dest="fmt", default="csv", choices=("csv", "parquet"))
    d.add_argument("--seed", type=int, default=0)
    d.set_defaults(func=cmd_demo_landing)


def cmd_run(args) -> int:
    from store.pipeline.config import ConfigError
    from store.pipeline.run import run_pipeline
    from store.pipeline.training_dataset import TrainingDatasetError

    try:
        report = run_pipeline(args.config, start=args.start, stop=args.stop, engine=args.engine,
                              progress=not args.no_progress and sys.stderr.isatty())
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except TrainingDatasetError as e:
        print(f"error: training dataset not written: {e}", file=sys.stderr)
        return 1
    for line in report.lines():
        print(line)
    return 1 if report.quarantined else 0


def cmd_demo_landing(args) -> int:
    from store.pipeline.landing_demo import generate_landing

    out = generate_landing(args.out, rows=args.rows, weeks=args.weeks, fmt=args.fmt, seed=args.seed)
    print(f"landing files written under {out}")
    return 0
