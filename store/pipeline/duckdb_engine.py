"""The DuckDB engine: one in-process connection, spilling to the pipeline's temp folder."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from store.pipeline.landing import LandingFile

_CSV = "header = true, all_varchar = true, union_by_name = true, filename = true, delim = ',', quote = '\"', escape = '\"'"


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, tmp_dir: Path):
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(":memory:")
        self.con.execute(f"SET temp_directory = {_lit(tmp_dir)}")
        self.con.execute("SET preserve_insertion_order = true")
        self._n = 0

    def quote(self, identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'

    def register_landing(self, view: str, files: list[LandingFile]) -> None:
        parts = []
        for fmt, reader, opts in (("csv", "read_csv", _CSV),
                                  ("parquet", "read_parquet", "union_by_name = true, filename = true")):
            group = [f for f in files if f.format == fmt]
            if not group:
                continue
            paths = ", ".join(_lit(f.path) for f in group)
            case = " ".join(f"WHEN {_lit(f.path)} THEN {_lit(f.key)}" for f in group)
            parts.append(f"SELECT * EXCLUDE (filename), CASE filename {case} END AS _file "
                         f"FROM {reader}([{paths}], {opts})")
        self.con.execute(f"CREATE OR REPLACE TEMPORARY VIEW {view} AS " + " UNION ALL BY NAME ".join(parts))

    def register_parquet(self, view: str, folder: Path, schema: pa.Schema) -> None:
        if folder.is_dir() and any(folder.rglob("*.parquet")):
            self.con.execute(
                f"CREATE OR REPLACE TEMPORARY VIEW {view} AS SELECT * FROM read_parquet("
                f"{_lit(str(folder) + '/**/*.parquet')}, hive_partitioning = true, hive_types_autocast = false, "
                f"union_by_name = true)")
        else:
            self.register_arrow(view, schema.empty_table())

    def register_arrow(self, view: str, table: pa.Table) -> None:
        self._n += 1
        name = f"_arrow_{self._n}"
        self.con.register(name, table)
        self.con.execute(f"CREATE OR REPLACE TEMPORARY VIEW {view} AS SELECT * FROM {name}")

    def execute(self, sql: str) -> None:
        self.con.execute(sql)

    def fetch(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def write_partitioned(self, sql: str, folder: Path, partition_by: list[str]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        cols = ", ".join(partition_by)
        self.con.execute(f"COPY ({sql}) TO {_lit(folder)} (FORMAT parquet, PARTITION_BY ({cols}), "
                         f"OVERWRITE_OR_IGNORE true)")

    def write_table(self, sql: str, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.con.execute(f"COPY ({sql}) TO {_lit(folder / 'part-0.parquet')} (FORMAT parquet)")

    def close(self) -> None:
        self.con.close()
