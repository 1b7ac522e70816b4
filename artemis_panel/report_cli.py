"""``artemis report``: a self-contained HTML report of runs in the store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write a self-contained HTML report of a run or a comparison of up to 4")
    p.add_argument("runs", nargs="+", help="run ids in the store (1 to 4)")
    p.add_argument("--out", required=True, help="HTML file to write")
    p.add_argument("--store", default=None, help="store file (default: the user's store)")
    p.add_argument("--group-by", default="channel", help="grouping of the contributions chart (default channel)")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from artemis_panel.report import build_report
    from store.paths import default_store
    from store.reader import StoreMissing, StoreReader

    reader = StoreReader(args.store or default_store())
    try:
        text = build_report(reader, args.runs, group_by=args.group_by)
    except (ValueError, StoreMissing) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        reader.close()
    out = Path(args.out)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    print(out)
    return 0
