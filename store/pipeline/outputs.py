"""Write gold tables to ``{output}/gold/{table}/`` as Delta Lake or Parquet, in a local folder or on S3
(``s3://bucket/prefix``; AWS_ENDPOINT_URL names an S3-compatible server), where ``artemis sync --from
{output}`` finds them. A table whose contents did not change is left alone (no new version, no new file)."""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.parquet as pq

GOLD = "gold"  # the folder store.sources reads gold tables from
PARQUET_FILE = "part-0.parquet"


def _endpoint() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")


def delta_storage_options(extra: dict[str, str] | None = None) -> dict[str, str]:
    opts: dict[str, str] = {}
    endpoint = _endpoint()
    if endpoint:
        opts["AWS_ENDPOINT_URL"] = endpoint
        if endpoint.startswith("http://"):
            opts["AWS_ALLOW_HTTP"] = "true"
    opts["AWS_S3_ALLOW_UNSAFE_RENAME"] = "true"  # one writer per table: the pipeline
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if os.environ.get(key):
            opts.setdefault("AWS_REGION", os.environ[key])
    opts.update(extra or {})
    return opts


def _s3():
    import boto3

    return boto3.client("s3", endpoint_url=_endpoint())


def _split(uri: str) -> tuple[str, str]:
    p = urlparse(uri)
    return p.netloc, p.path.strip("/")


def _same(current: pa.Table | None, data: pa.Table) -> bool:
    if current is None or current.schema.names != data.schema.names or current.num_rows != data.num_rows:
        return False
    try:
        return current.cast(data.schema).combine_chunks().equals(data.combine_chunks())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return False


class GoldWriter:
    """Gold tables of one output location and format."""

    def __init__(self, output: str, fmt: str, storage_options: dict[str, str] | None = None):
        self.output, self.fmt = output.rstrip("/"), fmt
        self.s3 = self.output.startswith("s3://")
        self.storage_options = delta_storage_options(storage_options) if self.s3 else {}

    def uri(self, table: str) -> str:
        return f"{self.output}/{GOLD}/{table}"

    def read(self, table: str) -> pa.Table | None:
        """The table as it is now, or None when absent or in the other format."""
        try:
            if self.fmt == "delta":
                import deltalake

                return deltalake.DeltaTable(self.uri(table), storage_options=self.storage_options or None).to_pyarrow_table()
            if self.s3:
                bucket, key = _split(f"{self.uri(table)}/{PARQUET_FILE}")
                body = _s3().get_object(Bucket=bucket, Key=key)["Body"].read()
                return pq.read_table(io.BytesIO(body))
            path = Path(self.uri(table)) / PARQUET_FILE
            return pq.read_table(path) if path.is_file() else None
        except Exception:  # absent, or not a table of this format: written afresh
            return None

    def write(self, table: str, data: pa.Table) -> bool:
        """Write ``data`` unless the table already holds exactly it; True when written."""
        if _same(self.read(table), data):
            return False
        if self.fmt == "delta":
            import deltalake

            if not self.s3:
                folder = Path(self.uri(table))
                if folder.exists() and not (folder / "_delta_log").is_dir():
                    shutil.rmtree(folder)  # Parquet files of an earlier run: not part of a Delta table
                folder.mkdir(parents=True, exist_ok=True)
            deltalake.write_deltalake(self.uri(table), data, mode="overwrite", schema_mode="overwrite",
                                      storage_options=self.storage_options or None)
            return True
        buf = io.BytesIO()
        pq.write_table(data, buf, compression="zstd")
        if self.s3:
            bucket, prefix = _split(self.uri(table))
            client = _s3()
            old = client.list_objects_v2(Bucket=bucket, Prefix=prefix + "/").get("Contents", [])
            client.put_object(Bucket=bucket, Key=f"{prefix}/{PARQUET_FILE}", Body=buf.getvalue())
            for obj in old:
                if obj["Key"] != f"{prefix}/{PARQUET_FILE}":
                    client.delete_object(Bucket=bucket, Key=obj["Key"])
            return True
        folder = Path(self.uri(table))
        if folder.exists():
            shutil.rmtree(folder)  # a Delta table of an earlier run, or an older file
        folder.mkdir(parents=True)
        tmp = folder / f".{PARQUET_FILE}.tmp"
        tmp.write_bytes(buf.getvalue())
        tmp.rename(folder / PARQUET_FILE)
        return True
