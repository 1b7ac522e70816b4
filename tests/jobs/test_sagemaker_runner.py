"""The SageMaker runner against a real moto server over HTTP.

SageMaker calls go through ``SageMakerProxy``, a small HTTP proxy thread in front of moto that forwards
every request unchanged and can (a) throttle CreateProcessingJob like AWS does, (b) report jobs as
InProgress until the test releases them (moto marks a processing job Completed the moment it is
created), (c) report a job as Failed, and (d) run a hook when a job is created (what the container
would have written to S3). Like SageMaker, it refuses to stop a job that has ended (moto would flip
it to Stopped). S3 goes to moto directly.
"""

from __future__ import annotations

import json
import threading
import uuid

import numpy as np
import pandas as pd
import pytest

from jobs.config import load_config
from jobs.cv_fold import fold_dir_name, read_fold, write_fold
from jobs.folds import Fold
from jobs.job_spec import JobSpec
from jobs.sagemaker_runner import (SageMakerError, SageMakerRunner, SageMakerSettings, fold_job_name,
                                   run_folds_on_sagemaker)
from tests.aws import LocalHTTPProxy

ROLE = "arn:aws:iam::123456789012:role/artemis-sagemaker"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/artemis:0.1.0"
WAIT_S = 120  # how long a test waits for the runner to get somewhere before it fails (never a timing check)


# -------------------------------------------------------------------------------------------- proxy


class SageMakerProxy(LocalHTTPProxy):
    def __init__(self, target: str):
        self.cond = threading.Condition()
        self.operations: list[str] = []  # SageMaker operations seen, in order (throttled ones included)
        self.create_attempts = 0
        self.throttle_creates = 0  # answer the first N CreateProcessingJob calls with ThrottlingException
        self.throttle_always = False
        self.hold_new = False  # report newly created jobs InProgress until released
        self.created: list[str] = []  # jobs moto created, in order
        self.create_requests: dict[str, dict] = {}  # job name -> the CreateProcessingJob request as sent
        self.held: set[str] = set()
        self.seen_running: set[str] = set()  # held jobs the runner has been told are InProgress
        self.ended: set[str] = set()  # released or stopped
        self.max_unreleased = 0  # most jobs created and neither released nor stopped at any one time
        self.status_override: dict[str, dict] = {}  # job name -> fields to report (e.g. Failed + FailureReason)
        self.on_create = None  # hook(job_name, request) run before the create is answered

        super().__init__(target)

    # --- what the test drives
    def unreleased(self) -> list[str]:
        with self.cond:  # (a re-entrant lock: also called inside wait_for)
            return [n for n in self.created if n not in self.ended]

    def release(self, name: str) -> None:
        with self.cond:
            self.held.discard(name)
            self.ended.add(name)
            self.cond.notify_all()

    def wait_for(self, predicate, what: str) -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, timeout=WAIT_S):
                raise AssertionError(f"the runner never got to: {what} (created {self.created}, ended {self.ended})")

    # --- serving
    @staticmethod
    def _reply(h, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/x-amz-json-1.1")
        h.send_header("x-amzn-RequestId", uuid.uuid4().hex)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _report(self, fields: dict, name_key: str = "ProcessingJobName") -> None:
        """Rewrite one job's status fields (a description or a list summary) as the test wants it seen."""
        name = fields.get(name_key)
        if name in self.held and fields.get("ProcessingJobStatus") == "Completed":
            fields["ProcessingJobStatus"] = "InProgress"
            fields.pop("ProcessingEndTime", None)
            self.seen_running.add(name)
        elif name in self.status_override and fields.get("ProcessingJobStatus") == "Completed":
            fields.update(self.status_override[name])

    def _serve(self, h) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        target = h.headers.get("X-Amz-Target", "")
        op = target.split(".", 1)[1] if target.startswith("SageMaker.") else f"{h.command} {h.path}"
        request = json.loads(body) if target and body else {}
        name = request.get("ProcessingJobName")
        with self.cond:
            self.operations.append(op)
            if op == "CreateProcessingJob":
                self.create_attempts += 1
                if self.throttle_always or self.create_attempts <= self.throttle_creates:
                    return self._reply(h, 400, {"__type": "ThrottlingException", "message": "Rate exceeded"})
            if op == "StopProcessingJob" and name in self.created and name not in self.held:
                return self._reply(h, 400, {"__type": "ValidationException",
                                            "message": f"Processing job {name} is not in a stoppable state"})
        status, reason, headers, data = self.forward(h, body)
        if status == 200 and op in ("CreateProcessingJob", "DescribeProcessingJob", "ListProcessingJobs",
                                    "StopProcessingJob"):
            with self.cond:
                if op == "CreateProcessingJob":
                    self.created.append(name)
                    self.create_requests[name] = request
                    if self.hold_new:
                        self.held.add(name)
                    self.max_unreleased = max(self.max_unreleased, len([n for n in self.created if n not in self.ended]))
                elif op == "StopProcessingJob":
                    self.held.discard(name)
                    self.ended.add(name)
                elif op == "DescribeProcessingJob":
                    payload = json.loads(data)
                    self._report(payload)
                    data = json.dumps(payload).encode()
                else:
                    payload = json.loads(data)
                    for summary in payload.get("ProcessingJobSummaries", []):
                        self._report(summary)
                    data = json.dumps(payload).encode()
                self.cond.notify_all()
            if op == "CreateProcessingJob" and self.on_create is not None:
                self.on_create(name, request)
        h.send_response(status, reason)
        for k, v in headers:
            if k.lower() not in self.HOP:
                h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(data)


# ----------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def proxy(moto_endpoint, aws_env, monkeypatch):
    """A proxy in front of moto; SageMaker calls go through it (AWS_ENDPOINT_URL_SAGEMAKER), S3 to moto."""
    p = SageMakerProxy(moto_endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", p.url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_endpoint)
    yield p
    p.close()


@pytest.fixture
def s3(moto_endpoint, aws_env):
    import boto3

    return boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def sm(moto_endpoint, aws_env):
    """SageMaker straight to moto: to read back what was created."""
    import boto3

    return boto3.client("sagemaker", endpoint_url=moto_endpoint, region_name="us-east-1")


@pytest.fixture
def bucket(s3) -> str:
    name = f"sm-{uuid.uuid4().hex[:16]}"
    s3.create_bucket(Bucket=name)
    return name


def settings(bucket: str, **kw) -> dict:
    return {"image_uri": IMAGE, "role_arn": ROLE, "s3_prefix": f"s3://{bucket}/artemis", **kw}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def train_spec(dataset: str = "s3://data-bucket/datasets/burgers/") -> JobSpec:
    return JobSpec(kind="train", dataset=dataset, out="s3://out-bucket/runs",
                   config=load_config(draws=10, tune=10, chains=1).to_dict(), name="burgers", log_to_mlflow=False)


def keys(s3, bucket: str, prefix: str) -> dict[str, bytes]:
    out = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for o in page.get("Contents", []):
            out[o["Key"]] = s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
    return out


# ------------------------------------------------------------------------------------------- submit


def test_submitted_job_runs_the_image_with_spec_data_output_resources_and_tags(proxy, s3, sm, bucket):
    runner = SageMakerRunner(SageMakerSettings.from_dict(settings(
        bucket, instance_type="ml.c5.2xlarge", instance_count=2, volume_size_gb=50, max_runtime_s=7200,
        tags={"team": "mmm", "cost-center": "42"})))
    spec = train_spec()
    name = unique("artemis-train")
    assert runner.submit(spec, name, "s3://data-bucket/datasets/burgers", f"s3://{bucket}/artemis/runs") == name

    d = sm.describe_processing_job(ProcessingJobName=name)
    assert d["AppSpecification"] == {"ImageUri": IMAGE, "ContainerEntrypoint": ["python", "-m", "jobs.entrypoint"]}
    assert d["RoleArn"] == ROLE
    assert d["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200}
    inputs = {i["InputName"]: i["S3Input"] for i in d["ProcessingInputs"]}
    assert set(inputs) == {"data", "spec"}
    assert inputs["data"]["S3Uri"] == "s3://data-bucket/datasets/burgers/"
    assert inputs["data"]["LocalPath"] == "/opt/ml/processing/input/data"
    assert inputs["data"]["S3InputMode"] == "File"
    assert inputs["spec"]["LocalPath"] == "/opt/ml/processing/input/spec"
    # the spec input holds the spec, and it reads back as the same job
    spec_bucket, spec_prefix = inputs["spec"]["S3Uri"][len("s3://"):].split("/", 1)
    assert spec_bucket == bucket and spec_prefix == f"artemis/inputs/{name}/spec.json"
    objects = keys(s3, spec_bucket, spec_prefix)
    assert list(objects) == [f"artemis/inputs/{name}/spec.json"]
    assert JobSpec.from_json(objects[f"artemis/inputs/{name}/spec.json"].decode()) == spec
    (output,) = d["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"] == {"S3Uri": f"s3://{bucket}/artemis/runs", "LocalPath": "/opt/ml/processing/output",
                                  "S3UploadMode": "EndOfJob"}
    tags = {t["Key"]: t["Value"] for t in sm.list_tags(ResourceArn=d["ProcessingJobArn"])["Tags"]}
    assert tags == {"team": "mmm", "cost-center": "42", "artemis:kind": "train", "artemis:job": name}
    # moto keeps no ProcessingResources: check them in the request SageMaker received
    assert proxy.create_requests[name]["ProcessingResources"] == {
        "ClusterConfig": {"InstanceCount": 2, "InstanceType": "ml.c5.2xlarge", "VolumeSizeInGB": 50}}

    desc = runner.describe(name)
    assert desc["status"] == "Completed"
    assert desc["output_s3"] == f"s3://{bucket}/artemis/runs"
    assert "/aws/sagemaker/ProcessingJobs" in desc["logs"] and name in desc["logs"]
    assert "https://us-east-1.console.aws.amazon.com/" in desc["logs"]


@pytest.mark.parametrize("name", ["fold_1", "-fold", "fold-", "x" * 64, "", "fold 1"])
def test_an_invalid_job_name_is_refused_before_anything_is_created(proxy, bucket, name):
    runner = SageMakerRunner(settings(bucket))
    with pytest.raises(SageMakerError, match="job name .* not valid: 1-63 letters, digits and hyphens"):
        runner.submit(train_spec(), name, "s3://data-bucket/d/", f"s3://{bucket}/artemis/runs")
    assert proxy.operations == []


def test_fold_job_names_are_valid_short_and_distinct_across_cvs():
    ids = ["cv-2026-11-24T05-10-00Z-3f9c2a1", "cv-2026-11-24T05-10-00Z-3f9c2a2",
           "cv-" + "2026-11-24T05-10-00Z-" * 4 + "a", "cv-" + "2026-11-24T05-10-00Z-" * 4 + "b", "cv_weird:id/1"]
    names = [fold_job_name(cv, k) for cv in ids for k in (1, 2, 12)]
    assert len(set(names)) == len(names)
    for name in names:
        assert 1 <= len(name) <= 63 and name[0].isalnum() and name[-1].isalnum()
        assert all(c.isalnum() or c == "-" for c in name)
    assert fold_job_name(ids[0], 3) == "artemis-cv-2026-11-24T05-10-00Z-3f9c2a1-f03"


# ---------------------------------------------------------------------------------------- settings


@pytest.mark.parametrize("change, field", [
    ({"image_uri": None}, "image_uri"),
    ({"role_arn": ""}, "role_arn"),
    ({"s3_prefix": None}, "s3_prefix"),
    ({"s3_prefix": "/data/artemis"}, "s3_prefix"),
    ({"s3_prefix": "s3://"}, "s3_prefix"),
    ({"max_concurrent": 0}, "max_concurrent"),
    ({"instance_count": 0}, "instance_count"),
    ({"instance_type": "m5.xlarge"}, "instance_type"),
    ({"volume_size_gb": "30"}, "volume_size_gb"),
    ({"max_runtime_s": -1}, "max_runtime_s"),
    ({"poll_seconds": 0}, "poll_seconds"),
    ({"tags": {"team": 1}}, "tags"),
    ({"instance_typ": "ml.m5.xlarge"}, "instance_typ"),
])
def test_bad_settings_are_refused_naming_the_field(change, field):
    values = {"image_uri": IMAGE, "role_arn": ROLE, "s3_prefix": "s3://bucket/artemis"}
    values.update(change)
    values = {k: v for k, v in values.items() if v is not None}
    with pytest.raises(SageMakerError, match=f"'{field}'"):
        SageMakerSettings.from_dict(values)


def test_settings_defaults_and_round_trip():
    s = SageMakerSettings.from_dict({"image_uri": IMAGE, "role_arn": ROLE, "s3_prefix": "s3://bucket/artemis/"})
    assert (s.instance_type, s.instance_count, s.volume_size_gb, s.max_runtime_s, s.max_concurrent) == (
        "ml.m5.xlarge", 1, 30, 14400, 6)
    assert s.s3_prefix == "s3://bucket/artemis"
    assert SageMakerSettings.from_dict(s.to_dict()) == s


# ----------------------------------------------------------------------------------------- staging


def test_a_local_dataset_folder_is_staged_to_s3_with_the_same_files(proxy, s3, bucket, tmp_path):
    folder = tmp_path / "burgers"
    (folder / "extra").mkdir(parents=True)
    files = {"training.csv": b"date,total_transactions\n2024-01-01,100\n", "taxonomy.csv": b"variable,kind\n",
             "extra/notes.txt": b"\x00\x01binary"}
    for rel, data in files.items():
        (folder / rel).write_bytes(data)
    runner = SageMakerRunner(settings(bucket))

    uri = runner.stage_dataset(str(folder), "cv-2026-11-24T05-10-00Z-3f9c2a1")

    assert uri == f"s3://{bucket}/artemis/inputs/cv-2026-11-24T05-10-00Z-3f9c2a1/data/"
    staged = keys(s3, bucket, "artemis/inputs/cv-2026-11-24T05-10-00Z-3f9c2a1/data/")
    assert {k.rsplit("/data/", 1)[1]: v for k, v in staged.items()} == files
    assert runner.stage_dataset("s3://data-bucket/datasets/burgers", "k") == "s3://data-bucket/datasets/burgers/"
    with pytest.raises(SageMakerError, match="not a folder"):
        runner.stage_dataset(str(tmp_path / "missing"), "k")


# ------------------------------------------------------------------------------------- concurrency


def test_never_more_than_max_concurrent_jobs_run_and_all_end_completed(proxy, bucket):
    proxy.hold_new = True
    runner = SageMakerRunner(settings(bucket, max_concurrent=3, poll_seconds=0.05))
    names = [unique(f"artemis-cap-{k}") for k in range(7)]
    jobs = [(train_spec(), n, "s3://data-bucket/d/", f"s3://{bucket}/artemis/runs") for n in names]
    updates: list[tuple[str, str]] = []
    box: dict = {}

    def run():
        try:
            box["results"] = runner.run_all(jobs, on_update=lambda n, d: updates.append((n, d["status"])))
        except BaseException as e:  # noqa: BLE001
            box["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    for done in range(7):
        target = min(3, 7 - done)
        # once the runner has seen them running (so each job's InProgress -> Completed is observable)
        proxy.wait_for(lambda: (len(running := proxy.unreleased()) == target and set(running) <= proxy.seen_running)
                       or len(running) > 3 or "error" in box, f"{target} jobs running with {done} released")
        assert "error" not in box, box.get("error")
        assert len(proxy.unreleased()) <= 3, f"more than 3 jobs running at once: {proxy.unreleased()}"
        proxy.release(proxy.unreleased()[0])
    thread.join(WAIT_S)
    assert not thread.is_alive() and "error" not in box, box.get("error")

    assert proxy.max_unreleased == 3  # the cap was used, never exceeded
    assert proxy.created == names  # submitted in order, each once
    results = box["results"]
    assert {n: results[n]["status"] for n in names} == {n: "Completed" for n in names}
    for n in names:
        assert [s for m, s in updates if m == n] == ["InProgress", "Completed"]


def test_asked_to_stop_stops_the_jobs_in_flight_and_starts_no_more(proxy, sm, bucket):
    proxy.hold_new = True
    runner = SageMakerRunner(settings(bucket, max_concurrent=2, poll_seconds=0.05))
    names = [unique(f"artemis-stop-{k}") for k in range(4)]
    jobs = [(train_spec(), n, "s3://data-bucket/d/", f"s3://{bucket}/artemis/runs") for n in names]
    stop = threading.Event()
    box: dict = {}

    def run():
        box["results"] = runner.run_all(jobs, should_stop=stop.is_set)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    proxy.wait_for(lambda: len(proxy.created) == 2, "2 jobs created")
    stop.set()
    thread.join(WAIT_S)
    assert not thread.is_alive()

    results = box["results"]
    assert [results[n]["status"] for n in names] == ["Stopped", "Stopped", "NotStarted", "NotStarted"]
    assert proxy.created == names[:2]
    for n in names[:2]:
        assert sm.describe_processing_job(ProcessingJobName=n)["ProcessingJobStatus"] == "Stopped"


# ------------------------------------------------------------------------------------ stop, throttle


def test_stop_stops_a_running_job_and_a_finished_job_is_left_as_it_is(proxy, bucket):
    proxy.hold_new = True
    runner = SageMakerRunner(settings(bucket))
    running, finished = unique("artemis-running"), unique("artemis-finished")
    for name in (running, finished):
        runner.submit(train_spec(), name, "s3://data-bucket/d/", f"s3://{bucket}/artemis/runs")
    proxy.release(finished)
    assert runner.describe(running)["status"] == "InProgress"

    assert runner.stop(running) == "Stopped"
    assert runner.describe(running)["status"] == "Stopped"
    assert runner.stop(finished) == "Completed"
    assert runner.describe(finished)["status"] == "Completed"
    with pytest.raises(SageMakerError, match="no-such-job"):
        runner.stop("no-such-job")


def test_throttled_creates_are_retried_and_the_job_is_created(proxy, sm, bucket):
    proxy.throttle_creates = 2
    runner = SageMakerRunner(settings(bucket))
    name = unique("artemis-throttled")

    runner.submit(train_spec(), name, "s3://data-bucket/d/", f"s3://{bucket}/artemis/runs")

    assert proxy.create_attempts == 3
    assert proxy.created == [name]
    assert sm.describe_processing_job(ProcessingJobName=name)["ProcessingJobStatus"] == "Completed"


def test_persistent_throttling_ends_in_a_clear_error_and_no_job(proxy, sm, bucket):
    proxy.throttle_always = True
    runner = SageMakerRunner(settings(bucket, max_attempts=2), throttle_retries=2, retry_delay_s=0.01)
    name = unique("artemis-throttled")

    with pytest.raises(SageMakerError) as e:
        runner.submit(train_spec(), name, "s3://data-bucket/d/", f"s3://{bucket}/artemis/runs")

    message = str(e.value)
    assert f"CreateProcessingJob ({name}) was throttled" in message and "Rate exceeded" in message
    assert "max_concurrent" in message
    assert proxy.create_attempts == 2 * 3  # botocore's 2 attempts, in each of 3 rounds
    names = [j["ProcessingJobName"] for j in sm.list_processing_jobs(MaxResults=100)["ProcessingJobSummaries"]]
    assert name not in names


# ------------------------------------------------------------------------------------------- folds


def made_up_fold(fold: Fold) -> tuple[dict, pd.DataFrame]:
    """What the container's fold job would write: small metrics and predictions for the fold's weeks."""
    n = fold.test_end - fold.train_start
    dates = pd.date_range("2024-01-01", periods=n, freq="7D")
    rng = np.random.default_rng(fold.index)
    actual = rng.uniform(900, 1100, n)
    metrics = {"fold": fold.index + 1, "test_start": fold.dates[2], "test_end": fold.dates[3],
               "train_weeks": fold.train_weeks, "test_weeks": fold.test_weeks,
               "train": {"mape": 3.0 + fold.index, "r2": 0.9}, "test": {"mape": 5.0 + fold.index, "r2": 0.7,
                                                                        "crps": 21.5, "coverage_94": 1.0}}
    predictions = pd.DataFrame({"fold": fold.index + 1, "date": dates,
                                "split": ["train"] * fold.train_weeks + ["test"] * fold.test_weeks,
                                "actual": actual, "predicted": actual * 1.01,
                                "predicted_lo": actual * 0.9, "predicted_hi": actual * 1.1})
    return metrics, predictions


@pytest.mark.parametrize("fold3", ["fails", "leaves no output"])
def test_folds_run_as_jobs_and_come_home_and_a_bad_fold_is_reported(proxy, s3, bucket, tmp_path, fold3):
    dataset = tmp_path / "data" / "burgers"
    dataset.mkdir(parents=True)
    (dataset / "training.csv").write_text("date,total_transactions\n2024-01-01,100\n")
    (dataset / "taxonomy.csv").write_text("variable,kind\n")
    cv_id = f"cv-2026-11-24T05-10-00Z-{uuid.uuid4().hex[:7]}"
    cv_dir = tmp_path / "cv" / cv_id
    cv_dir.mkdir(parents=True)
    dates = ("2023-01-02", "2023-02-20", "2023-10-02", "2023-10-23")
    folds = [Fold(k, 4 * k, 4 * k + 7, 4 * k + 40, 4 * k + 44, dates) for k in range(3)]
    cfg = load_config(draws=10, tune=10, chains=1)
    written: dict[int, tuple[dict, pd.DataFrame]] = {}
    specs: dict[str, JobSpec] = {}
    scratch = tmp_path / "container"

    def container(name: str, request: dict) -> None:
        """Read the job's spec from its input, and write what the fold job would upload at its end."""
        spec_uri = next(i["S3Input"]["S3Uri"] for i in request["ProcessingInputs"] if i["InputName"] == "spec")
        b, key = spec_uri[len("s3://"):].split("/", 1)
        spec = JobSpec.from_json(s3.get_object(Bucket=b, Key=key)["Body"].read().decode())
        specs[name] = spec
        fold = Fold.from_dict(spec.fold)
        if fold.index == 2:
            if fold3 == "fails":
                proxy.status_override[name] = {"ProcessingJobStatus": "Failed", "ExitMessage": "error: no weeks",
                                               "FailureReason": "AlgorithmError: ClientError: exit code 2"}
            return
        metrics, predictions = made_up_fold(fold)
        written[fold.index + 1] = (metrics, predictions)
        local = write_fold(scratch / name, fold, metrics, predictions)
        out_uri = request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
        ob, oprefix = out_uri[len("s3://"):].split("/", 1)
        for path in local.iterdir():
            s3.put_object(Bucket=ob, Key=f"{oprefix}/{local.name}/{path.name}", Body=path.read_bytes())

    proxy.on_create = container
    said: list[str] = []
    fractions: list[float] = []

    errors = run_folds_on_sagemaker(str(dataset), cfg, folds, cv_dir, settings(bucket, poll_seconds=0.05),
                                    say=said.append, progress=fractions.append)

    # the dataset was staged once, and every fold's job read it with its own spec
    staged = keys(s3, bucket, f"artemis/inputs/{cv_id}/data/")
    assert sorted(k.rsplit("/", 1)[1] for k in staged) == ["taxonomy.csv", "training.csv"]
    assert sorted(specs) == sorted(fold_job_name(cv_id, k) for k in (1, 2, 3))
    for name, spec in specs.items():
        assert spec.kind == "fold" and spec.dataset == str(dataset) and not spec.log_to_mlflow
        assert spec.out == f"s3://{bucket}/artemis/cv/{cv_id}"
        assert spec.model_config() == cfg
        assert Fold.from_dict(spec.fold) == folds[int(name[-2:]) - 1]
        data_uri = next(i["S3Input"]["S3Uri"] for i in proxy.create_requests[name]["ProcessingInputs"]
                        if i["InputName"] == "data")
        assert data_uri == f"s3://{bucket}/artemis/inputs/{cv_id}/data/"

    # folds 1 and 2 came home as the container wrote them; fold 3 did not, and says why
    assert sorted(p.name for p in cv_dir.iterdir()) == ["fold-01", "fold-02"]
    for k in (1, 2):
        metrics, predictions = read_fold(cv_dir / fold_dir_name(folds[k - 1]))
        assert metrics == written[k][0]
        pd.testing.assert_frame_equal(predictions, written[k][1])
    assert list(errors) == [3]
    job3 = fold_job_name(cv_id, 3)
    if fold3 == "fails":
        assert f"SageMaker job {job3} failed: AlgorithmError: ClientError: exit code 2" in errors[3]
        assert "/aws/sagemaker/ProcessingJobs" in errors[3]
        assert any(line.startswith(f"fold 3 ({job3}): Failed: AlgorithmError") for line in said)
    else:
        assert f"s3://{bucket}/artemis/cv/{cv_id}/fold-03/" in errors[3]
        assert "completed but left no complete fold" in errors[3]
    for k in (1, 2, 3):
        assert any(line.startswith(f"fold {k} logs: CloudWatch log group /aws/sagemaker/ProcessingJobs")
                   and fold_job_name(cv_id, k) in line for line in said)
    assert fractions and fractions[-1] == 1.0 and fractions == sorted(fractions)


# ------------------------------------------------------------------------- a training run on SageMaker


@pytest.mark.parametrize("outcome", ["completed", "failed"])
def test_a_sagemaker_training_run_comes_home_to_the_runs_root_and_the_s3_runs(proxy, s3, bucket, tmp_path,
                                                                              trained_run, outcome):
    from jobs.sagemaker_train import train_on_sagemaker

    run_dir = trained_run.run_dir
    dataset = tmp_path / "data" / "burgers"
    dataset.mkdir(parents=True)
    (dataset / "training.csv").write_text("date,total_transactions\n2024-01-01,100\n")
    created: list[str] = []

    def container(name: str, request: dict) -> None:
        """What the runner image uploads at the end of a training job: one run folder."""
        created.append(name)
        if outcome == "failed":
            proxy.status_override[name] = {"ProcessingJobStatus": "Failed", "FailureReason": "AlgorithmError: OOM"}
            return
        out_uri = request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]
        ob, oprefix = out_uri[len("s3://"):].split("/", 1)
        for path in run_dir.iterdir():
            s3.put_object(Bucket=ob, Key=f"{oprefix}/{run_dir.name}/{path.name}", Body=path.read_bytes())

    proxy.on_create = container
    runs = tmp_path / "runs"
    spec = JobSpec(kind="train", dataset=str(dataset), out=str(runs), config=load_config(draws=10).to_dict(),
                   name="burgers", log_to_mlflow=False)
    said: list[str] = []
    if outcome == "failed":
        with pytest.raises(SageMakerError, match="ended Failed: AlgorithmError: OOM"):
            train_on_sagemaker(spec, settings(bucket, poll_seconds=0.05), job_id="20261124T050000Z-train-abc123",
                               say=said.append)
        assert not runs.exists() or not any(runs.iterdir())
        return
    result = train_on_sagemaker(spec, settings(bucket, poll_seconds=0.05), job_id="20261124T050000Z-train-abc123",
                                say=said.append)
    assert created == [result["sagemaker_job"]] and result["sagemaker_job"].startswith("artemis-20261124t050000z")
    local = runs / run_dir.name
    assert result["run_dir"] == str(local) and result["run_id"] == run_dir.name
    assert sorted(p.name for p in local.iterdir()) == sorted(p.name for p in run_dir.iterdir())
    for path in run_dir.iterdir():
        assert (local / path.name).read_bytes() == path.read_bytes()
    copied = keys(s3, bucket, f"artemis/runs/{run_dir.name}/")
    assert {k.rsplit("/", 1)[1] for k in copied} == {p.name for p in run_dir.iterdir()}
    assert any("InProgress" in line or "Completed" in line for line in said)
