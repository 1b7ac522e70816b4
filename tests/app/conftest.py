"""A store holding the bundled demo run, and the run's contributions read straight from its Parquet."""

from __future__ import annotations

import pandas as pd
import pytest

from store.paths import BUNDLED_DEMO_RUNS


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory):
    from artemis_panel.startup import ensure_store

    return ensure_store(tmp_path_factory.mktemp("app-store") / "store.duckdb")


@pytest.fixture(scope="session")
def demo_run_id() -> str:
    (folder,) = [p for p in BUNDLED_DEMO_RUNS.iterdir() if p.is_dir()]
    return folder.name


@pytest.fixture(scope="session")
def demo_rows(demo_run_id) -> pd.DataFrame:
    """The demo run's weekly contribution rows, as the run folder has them (the independent reference)."""
    df = pd.read_parquet(BUNDLED_DEMO_RUNS / demo_run_id / "contributions.parquet")
    df["date"] = pd.to_datetime(df["date"]).dt.date
    return df


@pytest.fixture
def state(demo_store):
    from artemis_panel.state import AppState
    from store.reader import StoreReader

    reader = StoreReader(demo_store)
    yield AppState(reader)
    reader.close()
