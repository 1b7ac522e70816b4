"""The store commands of the ``artemis`` command line: sync (once, or on a schedule)."""

from __future__ import annotations

import argparse
import sys


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="sync run folders and gold tables into the DuckDB store")
    p.add_argument("--from", dest="sources", action="append", default=None, metavar="URI",
                   help="local folder or s3://bucket/prefix (repeatable); default: your runs folder "
                        "and the bundled demo run")
    p.add_argument("--store", default=None, help="store file (default: artemis.duckdb in your data folder)")
    p.add_argument("--endpoint-url", default=None, help="S3-compatible endpoint (else AWS_ENDPOINT_URL)")
    p.add_argument("--every", default=None, metavar="INTERVAL",
                   help="keep running and sync again every INTERVAL (e.g. 600, 15m, 1h); one such scheduler "
                        "per store (a second one refuses to start)")
    p.set_defaults(func=cmd_sync)


def cmd_sync(args) -> int:
    from store.paths import BUNDLED_DEMO_RUNS, default_runs_root, default_store
    from store.sources import SourceError
    from store.sync import init_store, sync

    store = args.store or default_store()
    sources = args.sources
    if not sources:
        runs = default_runs_root()
        runs.mkdir(parents=True, exist_ok=True)
        sources = [str(runs)] + ([str(BUNDLED_DEMO_RUNS)] if BUNDLED_DEMO_RUNS.is_dir() else [])
    if args.every is not None:
        return _scheduled(sources, store, args)
    init_store(store)
    failed = False
    for uri in sources:
        try:
            report = sync(uri, store, endpoint_url=args.endpoint_url,
                          say=lambda m: print(f"warning: {m}", file=sys.stderr))
        except SourceError as e:
            print(f"error: {e}", file=sys.stderr)
            failed = True
            continue
        print(report.line())
        for item, why in report.skipped.items():
            print(f"  skipped {item}: {why}")
    print(f"store: {store}")
    return 1 if failed else 0


def _scheduled(sources: list[str], store, args) -> int:
    import logging

    from store.schedule import ScheduleError, parse_interval, run_schedule

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        every = parse_interval(args.every)
        print(f"syncing {', '.join(sources)} into {store} every {every:g} s (Ctrl-C or SIGTERM stops)", flush=True)
        rounds = run_schedule(sources, store, every, endpoint_url=args.endpoint_url)
    except ScheduleError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"stopped after {rounds} round(s)")
    return 0
