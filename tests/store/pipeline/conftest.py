"""Fixtures for the pipeline tests: a copy of the example config over generated landing files, and one
local SparkSession for the whole test session (the JVM is slow to start)."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
import yaml

from store.pipeline.landing_demo import generate_landing

REPO = Path(__file__).resolve().parents[3]
EXAMPLE = REPO / "assets" / "pipeline_example"
WEEKS = 6
ROWS = 36 * 7 * WEEKS + 500  # every variable and audience on every day, some campaigns twice


@pytest.fixture(scope="session")
def landing_files(tmp_path_factory) -> Path:
    """Seeded landing files (CSV), made once; each project copies them."""
    return generate_landing(tmp_path_factory.mktemp("landing") / "landing", rows=ROWS, weeks=WEEKS, seed=7)


def make_project(root: Path, landing: Path, **settings) -> Path:
    """The example config under ``root`` (landing, work, out and dataset beside it), ``settings`` merged
    into pipeline.yaml."""
    shutil.copytree(EXAMPLE, root)
    shutil.copytree(landing, root / "landing")
    pfile = root / "pipeline.yaml"
    data = yaml.safe_load(pfile.read_text())
    data["as_of"] = "2023-03-01"
    data.update(settings)
    pfile.write_text(yaml.safe_dump(data, sort_keys=False))
    return root


@pytest.fixture
def project(tmp_path, landing_files) -> Path:
    return make_project(tmp_path / "project", landing_files)


def snapshot(*folders: Path) -> dict[str, tuple[str, int]]:
    """Every file under the folders: its content hash and modification time."""
    out = {}
    for folder in folders:
        if not folder.exists():
            continue
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                out[str(p)] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
    return out


@pytest.fixture(scope="session")
def spark():
    """One local SparkSession for every Spark test; the engine picks it up as the active session."""
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (java not on PATH)")
    from pyspark.sql import SparkSession

    from store.pipeline.spark_engine import SPARK_CONF

    builder = SparkSession.builder.master("local[2]").appName("artemis-tests")
    for key, value in {**SPARK_CONF, "spark.driver.memory": "1g", "spark.sql.shuffle.partitions": "1",
                       "spark.default.parallelism": "2"}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    yield session
    session.stop()
