"""The Spark engine: PySpark in local mode (one SparkSession per process, started on first use)."""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path

import pyarrow as pa

from store.pipeline.landing import LandingFile

SPARK_CONF = {
    "spark.ui.enabled": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "ERROR",
    # Hive partition values stay text, as DuckDB reads them (hive_types_autocast = false).
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    "spark.driver.memory": os.environ.get("ARTEMIS_SPARK_DRIVER_MEMORY", "4g"),
}


# PySpark warns about pandas >= 3 when it converts tables; the engine hands it Arrow tables only.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)


def get_session():
    """The process's SparkSession (an active one is reused, e.g. a test session's)."""
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.master(os.environ.get("ARTEMIS_SPARK_MASTER", "local[*]")).appName("artemis-pipeline")
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


class SparkEngine:
    name = "spark"

    def __init__(self, tmp_dir: Path, session=None):
        self.spark = session or get_session()
        for key in ("spark.sql.session.timeZone", "spark.sql.sources.partitionColumnTypeInference.enabled"):
            self.spark.conf.set(key, SPARK_CONF[key])  # (results depend on these, whoever made the session)

    def quote(self, identifier: str) -> str:
        return "`" + identifier.replace("`", "``") + "`"

    def register_landing(self, view: str, files: list[LandingFile]) -> None:
        from pyspark.sql import functions as F

        frames = []
        for f in files:
            if f.format == "csv":
                df = (self.spark.read.option("header", True).option("escape", '"').option("inferSchema", False)
                      .csv(str(f.path)))
            else:
                df = self.spark.read.parquet(str(f.path))
            frames.append(df.withColumn("_file", F.lit(f.key)))
        df = functools.reduce(lambda a, b: a.unionByName(b, allowMissingColumns=True), frames)
        df.createOrReplaceTempView(view)

    def register_parquet(self, view: str, folder: Path, schema: pa.Schema) -> None:
        if folder.is_dir() and any(folder.rglob("*.parquet")):
            self.spark.read.option("basePath", str(folder)).parquet(str(folder)).createOrReplaceTempView(view)
        else:
            self.register_arrow(view, schema.empty_table())

    def register_arrow(self, view: str, table: pa.Table) -> None:
        self.spark.createDataFrame(table).createOrReplaceTempView(view)

    def execute(self, sql: str) -> None:
        self.spark.sql(sql)

    def fetch(self, sql: str) -> pa.Table:
        return self.spark.sql(sql).toArrow()

    def write_partitioned(self, sql: str, folder: Path, partition_by: list[str]) -> None:
        self.spark.sql(sql).write.mode("overwrite").partitionBy(*partition_by).parquet(str(folder))

    def write_table(self, sql: str, folder: Path) -> None:
        self.spark.sql(sql).write.mode("overwrite").parquet(str(folder))

    def close(self) -> None:
        for view in [t.name for t in self.spark.catalog.listTables() if t.isTemporary]:
            self.spark.catalog.dropTempView(view)
