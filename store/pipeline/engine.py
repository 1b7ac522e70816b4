"""The small interface both engines implement, and choosing one by name.

The transformations are SQL text in the subset DuckDB and Spark SQL share (``bronze.py``,
``silver.py``, ``gold.py``); an engine only reads files into views, runs that SQL and writes results.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pyarrow as pa

from store.pipeline.landing import LandingFile


class Engine(Protocol):
    name: str

    def quote(self, identifier: str) -> str:
        """The identifier quoted for this dialect."""

    def register_landing(self, view: str, files: list[LandingFile]) -> None:
        """A view over the files' rows (CSV cells as text, columns united by name) plus ``_file``, the file's key."""

    def register_parquet(self, view: str, folder: Path, schema: pa.Schema) -> None:
        """A view over the Parquet files under ``folder`` (hive partitions as text); empty with ``schema`` if none."""

    def register_arrow(self, view: str, table: pa.Table) -> None:
        """A view over a small in-memory table (taxonomy, reference lists)."""

    def execute(self, sql: str) -> None:
        """Run a statement (``CREATE OR REPLACE TEMPORARY VIEW ...``)."""

    def fetch(self, sql: str) -> pa.Table:
        """A query's (small) result."""

    def write_partitioned(self, sql: str, folder: Path, partition_by: list[str]) -> None:
        """A query's rows as Parquet under ``folder``, hive-partitioned (``folder`` is new)."""

    def write_table(self, sql: str, folder: Path) -> None:
        """A query's rows as Parquet files in ``folder`` (``folder`` is new)."""

    def close(self) -> None:
        ...


def open_engine(name: str, tmp_dir: Path) -> Engine:
    """``duckdb`` or ``spark`` (PySpark is imported only here, when chosen)."""
    if name == "duckdb":
        from store.pipeline.duckdb_engine import DuckDBEngine

        return DuckDBEngine(tmp_dir)
    if name == "spark":
        from store.pipeline.spark_engine import SparkEngine

        return SparkEngine(tmp_dir)
    raise ValueError(f"unknown engine {name!r} (expected duckdb or spark)")
