"""The local runner: real worker processes, status persisted for other sessions, the core limit, cancel."""

from __future__ import annotations

import os
import signal
import time

import pytest

from jobs.config import load_config
from jobs.job_spec import JobSpec, SpecError
from jobs.local_runner import LocalRunner
from jobs.run_folder import RUN_FILES, read_manifest


def wait_for(runner: LocalRunner, job_id: str, until, timeout: float = 400.0, seen: list | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = runner.get(job_id)
        if seen is not None and (not seen or seen[-1] != job.status):
            seen.append(job.status)
        if until(job):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {runner.get(job_id).status} after {timeout} s:\n"
                         f"{runner.log_tail(job_id, 40)}")


def train_spec(dataset, runs, **sampler) -> JobSpec:
    cfg = load_config(**({"draws": 30, "tune": 30, "chains": 1, "seed": 1} | sampler))
    return JobSpec(kind="train", dataset=str(dataset), out=str(runs), config=cfg.to_dict(), name="tiny",
                   log_to_mlflow=False)


def test_a_training_job_runs_to_a_complete_run_folder_and_every_session_sees_it(demo_dataset, tmp_path,
                                                                                monkeypatch, capsys):
    monkeypatch.setenv("ARTEMIS_DATA_DIR", str(tmp_path))
    runner = LocalRunner(cores=2)  # the default jobs folder, in the data dir
    runs = tmp_path / "runs"
    job = runner.submit(train_spec(demo_dataset, runs))
    assert job.status == "queued" and job.kind == "train" and job.cores == 1
    seen: list[str] = []
    done = wait_for(runner, job.job_id, lambda j: j.final, seen=seen)
    assert done.status == "succeeded", done.error
    assert "running" in seen
    run_dir = runs / done.result["run_id"]
    assert done.result["run_dir"] == str(run_dir)
    assert all((run_dir / f).is_file() for f in RUN_FILES)
    assert read_manifest(run_dir)["run_id"] == done.result["run_id"]
    assert done.progress == 1.0 and done.elapsed_s > 0
    assert done.result["run_id"] in runner.log_tail(job.job_id)
    # another session (another runner on the same folder) sees the same job, as it ended
    other = LocalRunner(tmp_path / "jobs").list()
    assert [(j.job_id, j.status, j.result.get("run_id")) for j in other] == [(job.job_id, "succeeded", done.result["run_id"])]
    # and so does a terminal
    from artemis_panel.cli import main

    capsys.readouterr()
    assert main(["jobs"]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(job.job_id) and "succeeded" in line and str(run_dir) in line


def test_jobs_wait_for_free_cores_and_cancel_stops_the_worker(demo_dataset, tmp_path):
    runner = LocalRunner(tmp_path / "jobs", cores=1)
    runs = tmp_path / "runs"
    first = runner.submit(train_spec(demo_dataset, runs, draws=2000))
    wait_for(runner, first.job_id, lambda j: j.status == "running", timeout=60)
    second = runner.submit(train_spec(demo_dataset, runs))
    queued = wait_for(runner, second.job_id, lambda j: (j.message or "").startswith("waiting"), timeout=60)
    assert queued.status == "queued" and "1 free core" in queued.message
    time.sleep(1.5)
    assert runner.get(second.job_id).status == "queued"  # still: the one core is taken

    pid = runner.get(first.job_id).pid
    cancelled = runner.cancel(first.job_id)
    assert cancelled.status == "cancelled" and cancelled.final
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # the worker and anything it started are gone
    assert not runs.exists() or not any(runs.iterdir())  # no run folder, no partial one
    # the freed core goes to the queued job
    running = wait_for(runner, second.job_id, lambda j: j.status == "running", timeout=60)
    # a worker that dies without a word (killed, machine trouble) is reported failed, not running forever
    os.killpg(running.pid, signal.SIGKILL)
    failed = wait_for(runner, second.job_id, lambda j: j.final, timeout=30)
    assert failed.status == "failed" and "ended unexpectedly" in failed.error
    assert runner.cancel(second.job_id).status == "failed"  # an ended job is left as it ended


def test_a_bad_spec_is_refused_before_any_job_exists(tmp_path):
    runner = LocalRunner(tmp_path / "jobs")
    with pytest.raises(SpecError, match="kind"):
        runner.submit(JobSpec(kind="deploy", dataset="x", out="y"))
    with pytest.raises(SpecError, match="sampler.draws"):
        runner.submit(JobSpec(kind="train", dataset="x", out="y", config={"sampler": {"draws": 0}}))
    assert runner.list() == []
