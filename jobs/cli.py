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
    add_model_options(p)
    p.add_argument("--holdout-weeks", type=int, default=None, help="last N weeks held out as the test set")
    p.add_argument("--tracking-uri", default=None, help="MLflow tracking URI (default: SQLite in the user data dir)")
    p.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("cv", help="walk-forward cross-validation: fit each fold, score its test weeks, log to MLflow")
    p.add_argument("dataset", help="dataset folder (local path or s3://bucket/prefix/)")
    p.add_argument("--folds", type=int, default=4, help="number of folds (default 4)")
    p.add_argument("--test-weeks", type=int, default=13, help="test weeks per fold (default 13)")
    p.add_argument("--step-weeks", type=int, default=None, help="weeks between folds (default: the test weeks)")
    p.add_argument("--train-weeks", type=int, default=None, help="training weeks per fold (default: as many as fit)")
    p.add_argument("--backend", choices=["local", "sagemaker"], default="local")
    p.add_argument("--parallel", type=int, default=None, help="local folds at once (default: as the cores allow; 1 = one after another)")
    p.add_argument("--cores", type=int, default=None, help="local core limit (default: all cores)")
    p.add_argument("--out", default=None, help="folder for CV results (default: the user data dir's runs/cv/, which artemis sync reads)")
    add_model_options(p)
    p.add_argument("--tracking-uri", default=None, help="MLflow tracking URI (default: SQLite in the user data dir)")
    p.add_argument("--no-mlflow", action="store_true", help="do not log to MLflow")
    add_sagemaker_options(p)
    p.set_defaults(func=cmd_cv)

    p = sub.add_parser("jobs", help="the jobs launched from this machine (local or SageMaker): list, log, cancel")
    p.add_argument("action", nargs="?", choices=["list", "log", "cancel"], default="list")
    p.add_argument("job_id", nargs="?", default=None)
    p.set_defaults(func=cmd_jobs)

    p = sub.add_parser("log", help="log a finished run folder to MLflow (e.g. after the server was down)")
    p.add_argument("run", help="run folder")
    p.add_argument("--tracking-uri", default=None)
    p.set_defaults(func=cmd_log)

    p = sub.add_parser("review", help="model review checks of a run folder: PASS / REVIEW / FAIL with their figures")
    p.add_argument("run", help="run folder")
    p.set_defaults(func=cmd_review)


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


def add_model_options(p: argparse.ArgumentParser) -> None:
    """The model config file and the overrides ``train`` and ``cv`` share."""
    p.add_argument("--config", default=None, help="model config YAML")
    p.add_argument("--variant", choices=["national", "per_audience"], default=None)
    p.add_argument("--draws", type=int, default=None)
    p.add_argument("--tune", type=int, default=None)
    p.add_argument("--chains", type=int, default=None)
    p.add_argument("--seed", type=int, default=None)


def add_sagemaker_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("SageMaker (--backend sagemaker)")
    g.add_argument("--sagemaker-config", default=None, help="YAML of SageMaker settings (image_uri, role_arn, s3_prefix, ...)")
    g.add_argument("--image-uri", default=None, help="the runner image in ECR (see the Dockerfile)")
    g.add_argument("--role-arn", default=None, help="the SageMaker execution role")
    g.add_argument("--s3-prefix", default=None, help="s3://bucket/prefix for inputs and outputs")
    g.add_argument("--instance-type", default=None, help="default ml.m5.xlarge")
    g.add_argument("--instance-count", type=int, default=None)
    g.add_argument("--max-concurrent", type=int, default=None, help="jobs at once (default 6)")
    g.add_argument("--max-runtime", type=int, default=None, help="seconds per job (default 14400)")
    g.add_argument("--endpoint-url", default=None, help="SageMaker/S3-compatible endpoint (tests, private endpoints)")


def sagemaker_settings(args) -> dict:
    """SageMaker settings from --sagemaker-config, then the command-line flags."""
    values: dict = {}
    if args.sagemaker_config:
        import yaml

        from jobs.config import ConfigError

        try:
            values = yaml.safe_load(open(args.sagemaker_config)) or {}
        except (OSError, yaml.YAMLError) as e:
            raise ConfigError(f"{args.sagemaker_config}: cannot read SageMaker settings ({e})") from None
    flags = {"image_uri": args.image_uri, "role_arn": args.role_arn, "s3_prefix": args.s3_prefix,
             "instance_type": args.instance_type, "instance_count": args.instance_count,
             "max_concurrent": args.max_concurrent, "max_runtime_s": args.max_runtime, "endpoint_url": args.endpoint_url}
    values.update({k: v for k, v in flags.items() if v is not None})
    return values


def cmd_cv(args) -> int:
    from jobs.config import ConfigError, load_config
    from jobs.cv import CVError, CVSettings, run_cv
    from jobs.dataset import DatasetError
    from jobs.folds import FoldError
    from jobs.paths import default_cv_root

    try:
        cfg = load_config(args.config, variant=args.variant, draws=args.draws, tune=args.tune,
                          chains=args.chains, seed=args.seed)
        settings = CVSettings.from_dict({
            "folds": args.folds, "test_weeks": args.test_weeks, "step_weeks": args.step_weeks,
            "train_weeks": args.train_weeks, "backend": args.backend, "parallel": args.parallel,
            "cores": args.cores, "sagemaker": sagemaker_settings(args) if args.backend == "sagemaker" else {},
        })
        out = args.out or default_cv_root()
        result = run_cv(args.dataset, cfg, settings, out, tracking_uri=args.tracking_uri,
                        log_to_mlflow=not args.no_mlflow, say=lambda m: print(m, file=sys.stderr, flush=True))
    except (ConfigError, DatasetError, FoldError, CVError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(result.cv_dir, flush=True)
    return 0 if result.summary["status"] == "completed" else 1


def cmd_jobs(args) -> int:
    from jobs.local_runner import LocalRunner

    runner = LocalRunner()
    if args.action == "list":
        jobs = runner.list()
        if not jobs:
            print(f"no jobs in {runner.root}")
        for j in jobs:
            where = j.result.get("run_dir") or j.result.get("cv_dir") or j.error or j.message or ""
            print(f"{j.job_id}  {j.backend:<9} {j.status:<9} {j.progress * 100:5.1f}%  {j.elapsed_s:7.0f}s  {where}")
        return 0
    if not args.job_id:
        print(f"error: 'artemis jobs {args.action}' needs a job id (see 'artemis jobs list')", file=sys.stderr)
        return 2
    try:
        if args.action == "log":
            print(runner.log_tail(args.job_id, lines=200) if runner.get(args.job_id) else "")
        else:
            job = runner.cancel(args.job_id)
            print(f"{job.job_id}: {job.status}")
    except KeyError as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        return 2
    return 0


def cmd_review(args) -> int:
    """Print the review checks as a table; exit 0 when none FAIL, 1 when any does, 2 for a folder that
    is not a run."""
    import textwrap

    from jobs.review import FAIL, review_folder, worst_status

    try:
        checks = review_folder(args.run)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    width = max(len(c.name) for c in checks)
    print(f"{'STATUS':<7} {'CHECK':<{width}}  FIGURE")
    for c in checks:
        print(f"{c.status:<7} {c.name:<{width}}  {c.figure}")
        for line in textwrap.wrap(c.detail, 100):
            print(f"{'':<7} {'':<{width}}  {line}")
    status = worst_status(checks)
    print(f"overall: {status}")
    return 1 if status == FAIL else 0
