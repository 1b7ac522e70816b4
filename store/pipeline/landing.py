"""Find an entity's landing files (CSV or Parquet), fingerprint them and read their column names."""

from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


@dataclass(frozen=True)
class LandingFile:
    path: Path
    rel: str  # relative to the landing folder, '/'-separated
    sha256: str
    size: int

    @property
    def format(self) -> str:
        return FORMATS[self.path.suffix.lower()]

    @property
    def key(self) -> str:
        """Names the file's rows in bronze (the ``file=`` partition), stable across runs and engines."""
        return "f_" + re.sub(r"[^A-Za-z0-9_.-]", "_", self.rel.replace("/", "__")).replace(".", "_")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def find_files(landing: Path, pattern: str) -> list[LandingFile]:
    """The CSV and Parquet files matching ``pattern`` under ``landing``, sorted by path (hidden files skipped)."""
    out = []
    for p in sorted(landing.glob(pattern)):
        if not p.is_file() or p.name.startswith((".", "_")) or p.suffix.lower() not in FORMATS:
            continue
        out.append(LandingFile(p, p.relative_to(landing).as_posix(), _sha256(p), p.stat().st_size))
    return out


def columns(f: LandingFile) -> list[str]:
    """The file's column names, from the CSV header line or the Parquet footer."""
    if f.format == "parquet":
        return list(pq.read_schema(f.path).names)
    with open(f.path, newline="", encoding="utf-8-sig") as fh:
        return [c.strip() for c in next(csv.reader(fh), [])]
