"""A training run on SageMaker, watched from this machine: stage the dataset and the spec in S3, run one
Processing job with the runner image, then bring the run folder it wrote into the local runs root (and
under ``{s3_prefix}/runs/`` for stores that sync from S3), and log it to MLflow from here."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

from jobs.job_spec import JobSpec

Say = Callable[[str], None]


def train_on_sagemaker(spec: JobSpec, settings: dict, job_id: str, say: Say = print,
                       progress: Callable[[float], None] | None = None,
                       sagemaker_client=None, s3_client=None) -> dict:
    """Run ``spec`` (kind ``train``) as a SageMaker Processing job; returns the local run folder."""
    from jobs.sagemaker_runner import SageMakerError, SageMakerRunner, SageMakerSettings, make_job_name

    s = SageMakerSettings.from_dict(settings)
    runner = SageMakerRunner(s, sagemaker_client=sagemaker_client, s3_client=s3_client)
    name = make_job_name(f"artemis-{job_id}".lower())
    prefix = s.s3_prefix.rstrip("/")
    dataset_s3 = runner.stage_dataset(spec.dataset, key=name)
    output_s3 = f"{prefix}/outputs/{name}"
    remote = dataclasses.replace(spec, out=output_s3, log_to_mlflow=False)

    def update(job: str, d: dict) -> None:
        say(f"SageMaker {job}: {d['status']}" + (f" ({d.get('failure_reason')})" if d.get("failure_reason") else ""))
        if progress is not None and d["status"] == "InProgress":
            progress(0.05)

    try:
        final = runner.run_all([(remote, name, dataset_s3, output_s3)], on_update=update)
    except BaseException:
        try:
            runner.stop(name)
            say(f"SageMaker {name}: stop requested")
        except Exception:  # noqa: BLE001 - it may never have started
            pass
        raise
    d = final[name]
    if d["status"] != "Completed":
        raise SageMakerError(f"SageMaker job {name} ended {d['status']}"
                             + (f": {d.get('failure_reason')}" if d.get("failure_reason") else "")
                             + f". Logs: {d.get('logs')}")
    run_dir, run_id = _fetch_run(runner, output_s3, Path(spec.out), f"{prefix}/runs")
    say(f"run {run_id} copied to {run_dir} and {prefix}/runs/{run_id}/")
    if spec.log_to_mlflow:
        from jobs.train import log_to_tracking

        log_to_tracking(run_dir, spec.tracking_uri, say)
    from jobs.run_folder import read_manifest

    return {"run_dir": str(run_dir), "run_id": run_id, "status": read_manifest(run_dir).get("status"),
            "sagemaker_job": name, "logs": d.get("logs"), "s3": f"{prefix}/runs/{run_id}"}


def _fetch_run(runner, output_s3: str, runs_root: Path, runs_s3: str) -> tuple[Path, str]:
    """Download the run folder the job wrote under ``output_s3`` into ``runs_root`` (complete or not at
    all) and copy it to ``runs_s3``."""
    from jobs.sagemaker_runner import SageMakerError, split_s3

    files = runner.list_files(output_s3)
    manifests = [rel for rel in files if rel.count("/") == 1 and rel.endswith("/manifest.json")]
    if len(manifests) != 1:
        raise SageMakerError(f"expected one run folder in {output_s3}, found {len(manifests)}")
    run_id = manifests[0].split("/")[0]
    run_files = sorted(rel[len(run_id) + 1:] for rel in files if rel.startswith(run_id + "/"))
    final = runs_root / run_id
    if final.exists():
        raise FileExistsError(f"run folder {final} already exists")
    runs_root.mkdir(parents=True, exist_ok=True)
    runner.download_folder(f"{output_s3}/{run_id}", final, run_files)
    src_bucket, src_key = split_s3(f"{output_s3}/{run_id}/")
    dst_bucket, dst_key = split_s3(f"{runs_s3}/{run_id}/")
    for rel in run_files:
        runner._call(f"copying {rel} to {runs_s3}/{run_id}/", runner.s3.copy_object, Bucket=dst_bucket,
                     Key=dst_key + rel, CopySource={"Bucket": src_bucket, "Key": src_key + rel})
    return final, run_id
