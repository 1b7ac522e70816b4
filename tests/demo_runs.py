"""Copies of the bundled demo run under other run ids: several runs of one brand for registry and Compare tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from store.paths import BUNDLED_DEMO_RUNS


def bundled_run() -> Path:
    (src,) = [p for p in BUNDLED_DEMO_RUNS.iterdir() if p.is_dir()]
    return src


def copy_demo_run(runs: Path, run_id: str, created_at: str | None = None, status: str | None = None,
                  draws: int | None = None) -> Path:
    """``runs/run_id``: the bundled run with this id, and optionally another creation time, fit status or
    sampler draws in its config."""
    dst = Path(runs) / run_id
    shutil.copytree(bundled_run(), dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest["run_id"] = run_id
    if created_at:
        manifest["created_at"] = created_at
    if status:
        manifest["status"] = status
    (dst / "manifest.json").write_text(json.dumps(manifest))
    if draws is not None:
        config = yaml.safe_load((dst / "config.yaml").read_text())
        config["sampler"]["draws"] = draws
        (dst / "config.yaml").write_text(yaml.safe_dump(config))
    return dst
