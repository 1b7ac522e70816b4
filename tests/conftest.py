"""Session fixtures shared by every test package: demo datasets and one trained run."""

from __future__ import annotations

import os

import pytest

# The moto server and the fake-credentials environment, for every test package that talks to AWS.
from tests.aws import aws_env, moto_endpoint  # noqa: F401

_made_data_dir: str | None = None


def pytest_configure(config):
    # Keep the default MLflow store and any user-data files out of the user's real data dir.
    global _made_data_dir
    import tempfile

    if "ARTEMIS_DATA_DIR" not in os.environ:
        _made_data_dir = tempfile.mkdtemp(prefix="artemis-test-data-")
        os.environ["ARTEMIS_DATA_DIR"] = _made_data_dir


def pytest_unconfigure(config):
    import shutil

    if _made_data_dir:
        shutil.rmtree(_made_data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def demo_dataset(tmp_path_factory):
    """The default demo dataset (156 weeks, 12 media variables) with its ground truth."""
    from jobs.demo_data import generate_demo_dataset

    return generate_demo_dataset(tmp_path_factory.mktemp("data") / "demo")


@pytest.fixture(scope="session")
def tiny_config():
    """Few draws: enough for the checks, cheap to sample once the model is compiled."""
    from jobs.config import load_config

    return load_config(draws=300, tune=300, chains=2, seed=1)


@pytest.fixture(scope="session")
def trained_run(demo_dataset, tiny_config, tmp_path_factory):
    """One national run on the demo dataset (its compiled model is reused by later fits)."""
    from jobs.train import train

    runs = tmp_path_factory.mktemp("runs")
    return train(demo_dataset, runs, tiny_config, log_to_mlflow=False, progress_bar=False, say=lambda m: None)
