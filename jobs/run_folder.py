"""Writing a run folder atomically (complete or absent) and reading its manifest."""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import subprocess
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

RUN_FILES = ("manifest.json", "config.yaml", "metrics.json", "contributions.parquet", "summary.parquet",
             "response.parquet", "idata.nc")
PARTIAL_PREFIX = ".partial-"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_run_id(fingerprint: str, config_text: str, now: datetime | None = None) -> str:
    """A UTC timestamp plus a short hash, e.g. ``2026-11-23T21-05-00Z-3f9c2a1``."""
    now = now or datetime.now(timezone.utc)
    digest = hashlib.sha1(f"{fingerprint}\n{config_text}\n{uuid.uuid4()}".encode()).hexdigest()[:7]
    return f"{now.strftime('%Y-%m-%dT%H-%M-%SZ')}-{digest}"


def code_version() -> str:
    """The package version, plus the git commit when run from a checkout."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        v = version("artemis-mmm")
    except PackageNotFoundError:
        v = "unknown"
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha = ""
    return f"{v}+{sha}" if sha else v


@contextmanager
def staged_run(runs_root: str | Path, run_id: str) -> Iterator[Path]:
    """A temporary folder to fill; renamed to ``runs_root/run_id`` on success, removed on failure."""
    root = Path(runs_root)
    root.mkdir(parents=True, exist_ok=True)
    final = root / run_id
    if final.exists():
        raise FileExistsError(f"run folder {final} already exists")
    tmp = root / f"{PARTIAL_PREFIX}{run_id}"
    tmp.mkdir()
    try:
        yield tmp
        missing = [f for f in RUN_FILES if not (tmp / f).is_file()]
        if missing:
            raise RuntimeError(f"run folder incomplete, missing {', '.join(missing)}")
        _fsync_dir(tmp)
        os.rename(tmp, final)
        _fsync_dir(root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextmanager
def staged_folder(final: str | Path) -> Iterator[Path]:
    """A temporary sibling of ``final`` to fill; it replaces ``final`` on success and is removed on
    failure, so ``final`` is the old folder or the new one, never half of one."""
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f"{PARTIAL_PREFIX}{final.name}-{uuid.uuid4().hex[:6]}"
    tmp.mkdir()
    try:
        yield tmp
        if final.exists():
            shutil.rmtree(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def json_safe(value):
    """JSON-safe: NaN and infinities become null (in nested dicts and lists too)."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: Path, value: dict) -> None:
    """Write JSON through a temporary file and an atomic replace."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(value, indent=2, default=str, allow_nan=False) + "\n")
    os.replace(tmp, path)


def read_manifest(run_dir: str | Path) -> dict:
    path = Path(run_dir) / "manifest.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"{run_dir} is not a run folder: no manifest.json") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: not valid JSON ({e})") from None
