"""The runner image's entrypoint, run as the container runs it: ``python -m jobs.entrypoint`` in a child
process, with SageMaker Processing's folder layout under ``ARTEMIS_PROCESSING_ROOT``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from jobs.config import load_config
from jobs.run_folder import RUN_FILES

REPO = Path(__file__).resolve().parents[2]
DATASET_URI = "s3://artemis-data/datasets/artemis-burgers/"


def processing_root(tmp_path: Path, spec: dict | str | None, dataset: Path | None) -> Path:
    """``root/input/spec/spec.json``, ``root/input/data/`` (a copy of ``dataset``), as SageMaker lays them out."""
    root = tmp_path / "processing"
    (root / "input").mkdir(parents=True)
    if spec is not None:
        (root / "input" / "spec").mkdir()
        (root / "input" / "spec" / "spec.json").write_text(spec if isinstance(spec, str) else json.dumps(spec))
    if dataset is not None:
        shutil.copytree(dataset, root / "input" / "data")
    return root


def run_entrypoint(root: Path, tmp_path: Path, timeout: float = 600) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["ARTEMIS_PROCESSING_ROOT"] = str(root)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["MLFLOW_TRACKING_URI"] = (tmp_path / "never-used-mlruns").as_uri()
    env["TQDM_DISABLE"] = "1"
    return subprocess.run([sys.executable, "-m", "jobs.entrypoint"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=timeout)


def train_spec(**changes) -> dict:
    spec = {"kind": "train", "dataset": DATASET_URI, "out": "s3://artemis-out/artemis/runs",
            "config": load_config(draws=30, tune=30, chains=1, seed=1).to_dict(), "name": "burgers-national",
            "log_to_mlflow": False}
    spec.update(changes)
    return spec


def test_a_train_job_writes_one_complete_run_folder_to_the_output(tmp_path, demo_dataset):
    root = processing_root(tmp_path, train_spec(), demo_dataset)

    done = run_entrypoint(root, tmp_path)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    (run_dir,) = list((root / "output").iterdir())  # the run folder, nothing half-written beside it
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(RUN_FILES)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["run_id"] == run_dir.name
    assert manifest["dataset_path"] == DATASET_URI  # the spec's dataset, not the container's copy
    assert str(root) not in (run_dir / "manifest.json").read_text()
    weeks = set(pd.to_datetime(pd.read_csv(demo_dataset / "training.csv")["date"]))
    contributions = pd.read_parquet(run_dir / "contributions.parquet")
    assert set(pd.to_datetime(contributions["date"])) == weeks
    assert not contributions["contribution"].isna().any()
    assert f"run {run_dir.name}" in done.stdout + done.stderr
    assert "done:" in done.stdout
    assert not (tmp_path / "never-used-mlruns").exists()


@pytest.mark.parametrize("case", ["unknown field", "missing dataset input", "missing spec"])
def test_bad_input_exits_2_naming_the_culprit_and_writes_nothing(tmp_path, demo_dataset, case):
    if case == "unknown field":
        root = processing_root(tmp_path, train_spec(drawz=10), demo_dataset)
        culprit = "unknown field 'drawz'"
    elif case == "missing dataset input":
        root = processing_root(tmp_path, train_spec(), None)
        culprit = str(root / "input" / "data")
    else:
        root = processing_root(tmp_path, None, demo_dataset)
        culprit = str(root / "input" / "spec" / "spec.json")

    done = run_entrypoint(root, tmp_path, timeout=300)

    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    assert culprit in done.stderr
    output = root / "output"
    assert not output.exists() or not any(output.iterdir())
