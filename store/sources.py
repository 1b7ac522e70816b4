"""Where runs and gold tables come from: a local folder or an S3 prefix, listed with signatures.

A source holds run folders at its top level (``{root}/{run_id}/manifest.json`` ...), gold
tables under ``{root}/gold/{table}/`` (Parquet files, or a Delta Lake table) and cross-validation
results under ``{root}/cv/{cv_id}/cv.json`` (``artemis cv``'s folders). Every file gets a
signature (S3: ETag and size; local: size and mtime) so a sync transfers only what changed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

GOLD = "gold"
CV = "cv"
CV_FILE = "cv.json"
PARTIAL_PREFIX = ".partial-"


class SourceError(RuntimeError):
    """The source could not be listed or read (after retries); the message names it."""


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to the source root, '/'-separated
    size: int
    signature: str


@dataclass(frozen=True)
class Listing:
    """What a source holds, each item's files by their path inside the item's folder."""
    runs: dict[str, dict[str, SourceFile]]
    gold: dict[str, dict[str, SourceFile]]
    cv: dict[str, dict[str, SourceFile]]  # cv_id -> {"cv.json": ...} (the folds' files are not synced)


def _group(files: list[SourceFile]) -> Listing:
    runs: dict[str, dict[str, SourceFile]] = {}
    gold: dict[str, dict[str, SourceFile]] = {}
    cv: dict[str, dict[str, SourceFile]] = {}
    for f in files:
        parts = f.path.split("/")
        if len(parts) < 2:
            continue
        if parts[0] == GOLD:
            if len(parts) >= 3:
                gold.setdefault(parts[1], {})["/".join(parts[2:])] = f
        elif parts[0] == CV:
            if len(parts) == 3 and parts[2] == CV_FILE and not parts[1].startswith("."):
                cv.setdefault(parts[1], {})[CV_FILE] = f
        elif not parts[0].startswith(".") and len(parts) == 2:
            runs.setdefault(parts[0], {})[parts[1]] = f
    return Listing(runs, gold, cv)


class LocalSource:
    """A folder on this machine."""

    def __init__(self, root: str | Path):
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)

    def list(self) -> Listing:
        if not self.root.is_dir():
            raise SourceError(f"source folder {self.root} does not exist")
        files = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            rel_dir = Path(dirpath).relative_to(self.root)
            dirnames[:] = [d for d in dirnames if not d.startswith(PARTIAL_PREFIX)]
            for name in filenames:
                if name.startswith("."):
                    continue
                p = Path(dirpath) / name
                try:
                    st = p.stat()
                except OSError:
                    continue
                rel = (rel_dir / name).as_posix()
                files.append(SourceFile(rel, st.st_size, f"{st.st_size}:{st.st_mtime_ns}"))
        return _group(files)

    def fetch(self, rel: str, dest: Path) -> Path:
        """The file itself: a local source needs no copy."""
        return self.root / rel

    def describe(self, rel: str) -> str:
        return str(self.root / rel)


class S3Source:
    """An ``s3://bucket/prefix`` reached with boto3 (standard credential chain, retries with backoff)."""

    def __init__(self, uri: str, endpoint_url: str | None = None, max_attempts: int = 5,
                 connect_timeout: float = 5, read_timeout: float = 30):
        import boto3
        from botocore.config import Config

        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise SourceError(f"not an S3 URI: {uri!r} (expected s3://bucket/prefix)")
        self.uri = uri.rstrip("/")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        # total_max_attempts counts the first try (botocore's "max_attempts" would be retries on top of it)
        config = Config(retries={"total_max_attempts": max_attempts, "mode": "standard"},
                        connect_timeout=connect_timeout, read_timeout=read_timeout)
        self.client = boto3.client("s3", endpoint_url=self.endpoint_url, config=config)

    def _key(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def _error(self, what: str, e: Exception) -> SourceError:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return SourceError(f"S3 {what} failed for {self.uri}{where} after retries: {e}")

    def list(self) -> Listing:
        from botocore.exceptions import BotoCoreError, ClientError

        files = []
        base = f"{self.prefix}/" if self.prefix else ""
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base):
                for obj in page.get("Contents", []):
                    rel = obj["Key"][len(base):]
                    if not rel or rel.endswith("/") or any(part.startswith(PARTIAL_PREFIX) for part in rel.split("/")):
                        continue
                    files.append(SourceFile(rel, int(obj["Size"]), f"{obj['Size']}:{obj['ETag'].strip('\"')}"))
        except (BotoCoreError, ClientError) as e:
            raise self._error("listing", e) from None
        return _group(files)

    def fetch(self, rel: str, dest: Path) -> Path:
        from botocore.exceptions import BotoCoreError, ClientError

        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client.download_file(self.bucket, self._key(rel), str(dest))
        except (BotoCoreError, ClientError) as e:
            raise self._error(f"download of {rel}", e) from None
        return dest

    def describe(self, rel: str) -> str:
        return f"s3://{self.bucket}/{self._key(rel)}"


def open_source(uri: str | Path, endpoint_url: str | None = None, **s3_options):
    """``s3_options`` (max_attempts, connect_timeout, read_timeout) apply to S3 only."""
    if str(uri).startswith("s3://"):
        return S3Source(str(uri), endpoint_url=endpoint_url, **s3_options)
    return LocalSource(uri)
