"""The ``artemis`` command line: one entry point over the training, store, planning, serving and users commands."""

from __future__ import annotations

import argparse
import sys

from artemis_panel import plan_cli, report_cli, serve_cli, users_cli
from jobs import cli as jobs_cli
from store import cli as store_cli
from store import pipeline_cli


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="artemis", description="Artemis MMM: marketing mix modelling, local and fast.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    jobs_cli.add_commands(sub)
    store_cli.add_commands(sub)
    pipeline_cli.add_commands(sub)
    plan_cli.add_commands(sub)
    report_cli.add_commands(sub)
    serve_cli.add_commands(sub)
    users_cli.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "extra_args", False):  # only `serve` passes further arguments on
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
