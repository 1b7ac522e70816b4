"""The training commands of the ``artemis`` command line: demo-data, validate, train, log."""

from __future__ import annotations

import argparse
import sys


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo-data", help="write a synthetic weekly dataset with its ground truth")
    p.add_argument("out", help="folder to create (must be absent or empty)")
    p.add_argument("--weeks", type=int, default=156, help="number of weeks (default 156)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--brand", default="artemis-burgers", help="demo brand preset: artemis-burgers or luna-tacos")
    p.add_argument("--audiences", default=None, help="comma-separated audience names for a segmented dataset")
    p.set_defaults(func=cmd_demo_data)

    p = sub.add_parser("validate", help="check a dataset folder against the data contract")
    p.add_argument("dataset", help="dataset folder (local path or s3://bucket/prefix/)")
    p.add_argument("--target", default="total_transactions", help="target column")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("train", help="validate, fit the model and write a run folder")
    p.add_argument("dataset", help="dataset folder (local path or s3://bucket/prefix/)")
    p.add_argument("--out", required=True, help="runs root folder; the run folder is created inside it")
    p.add_argument("--config", default=None, help="model config YAML")
    p.add_argument("--variant", choices=["national", "per_audience"], default=None)
    p.add_argument("--draws", type=int, default=None)
    p.add_argument("--tune", type=int, default=None)
    p.add_argument("--chains", type=int, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--holdout-weeks", type=int, default=None, help="last N weeks held out as the test set")
    p.add_argument("--tracking-uri", default=None, help="MLflow tracking URI (default: SQLite in the user data dir)")
    p.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("log", help="log a finished run folder to MLflow (e.g. after the server was down)")
    p.add_argument("run", help="run folder")
    p.add_argument("--tracking-uri", default=None)
    p.set_defaults(func=cmd_log)


def cmd_demo_data(args) -> int:
    from jobs.demo_data import generate_demo_dataset

    audiences = [a.strip() for a in args.audiences.split(",")] if args.audiences else None
    try:
        path = generate_demo_dataset(args.out, weeks=args.weeks, seed=args.seed, brand=args.brand, audiences=audiences)
    except (FileExistsError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(path)
    return 0


def cmd_validate(args) -> int:
    from jobs.dataset import DatasetError, load_dataset

    try:
        ds = load_dataset(args.dataset, target=args.target)
    except DatasetError as e:
        print(str(e), file=sys.stderr)
        return 2
    for w in ds.warnings:
        print(f"warning: {w}", file=sys.stderr)
    weeks = ds.training["date"].nunique()
    aud = f", {len(ds.audiences)} audiences" if ds.audiences else ""
    print(f"{args.dataset}: valid: {weeks} weeks{aud}, {len(ds.media)} media variables, "
          f"{len(ds.controls)} controls, {len(ds.holidays)} holidays"
          + (f"; dropped {', '.join(ds.dropped)}" if ds.dropped else ""))
    return 0


def cmd_train(args) -> int:
    from jobs.config import ConfigError, load_config
    from jobs.dataset import DatasetError
    from jobs.train import TrainingError, train

    try:
        cfg = load_config(args.config, variant=args.variant, draws=args.draws, tune=args.tune,
                          chains=args.chains, seed=args.seed, holdout_weeks=args.holdout_weeks)
        result = train(args.dataset, args.out, cfg, tracking_uri=args.tracking_uri,
                       log_to_mlflow=not args.no_mlflow)
    except (ConfigError, DatasetError, TrainingError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    m = result.metrics
    print(f"train MAPE {m['train']['mape']:.2f}%  R² {m['train']['r2']:.3f}  max R-hat {m['max_rhat']:.3f}  "
          f"min ESS {m['min_ess_bulk']:.0f}  divergences {m['divergences']}  fit {m['fit_seconds']:.1f}s",
          file=sys.stderr, flush=True)
    print(result.run_dir, flush=True)
    return 0


def cmd_log(args) -> int:
    from jobs.tracking import TrackingUnavailable, default_tracking_uri, log_run

    uri = args.tracking_uri or default_tracking_uri()
    try:
        mlflow_id = log_run(args.run, uri)
    except (TrackingUnavailable, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    from pathlib import Path

    from jobs.run_folder import read_manifest, write_json

    manifest = read_manifest(args.run)
    manifest["mlflow"] = {"tracking_uri": uri, "run_id": mlflow_id}
    write_json(Path(args.run) / "manifest.json", manifest)
    print(mlflow_id)
    return 0
