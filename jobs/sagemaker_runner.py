"""Run jobs as SageMaker Processing jobs (boto3), a few at a time, and bring a CV's folds home.

Each job is the runner image (see the repo's ``Dockerfile``) started with ``python -m jobs.entrypoint``
and SageMaker Processing's layout: the job spec (JSON) and the dataset are inputs, the container's
``/opt/ml/processing/output/`` is uploaded to the job's output S3 URI when it ends.

Where things go under ``s3_prefix``::

    {s3_prefix}/inputs/{key}/data/...        a local dataset folder, staged once (key: the CV id)
    {s3_prefix}/inputs/{job_name}/spec.json  each job's spec
    {s3_prefix}/runs/                        training runs (a run folder per job)
    {s3_prefix}/cv/{cv_id}/fold-NN/          cross-validation folds

API calls go through botocore's standard retry mode (throttling and transient errors retried with
backoff); throttling that outlasts it is retried here with a longer backoff before giving up with a
``SageMakerError`` saying what was throttled.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections import deque
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Callable
from urllib.parse import quote, urlparse

from jobs.job_spec import JobSpec

Say = Callable[[str], None]
Progress = Callable[[float], None]
OnUpdate = Callable[[str, dict], None]

ENTRYPOINT = ["python", "-m", "jobs.entrypoint"]
PROCESSING_ROOT = "/opt/ml/processing"
DATA_PATH = f"{PROCESSING_ROOT}/input/data"
SPEC_PATH = f"{PROCESSING_ROOT}/input/spec"
OUTPUT_PATH = f"{PROCESSING_ROOT}/output"
LOG_GROUP = "/aws/sagemaker/ProcessingJobs"

STATUSES = ("InProgress", "Completed", "Failed", "Stopping", "Stopped")
TERMINAL = ("Completed", "Failed", "Stopped")
NOT_STARTED = "NotStarted"  # run_all: a job never submitted (stopped before its turn)
UNKNOWN = "Unknown"  # run_all: a job that could no longer be described (it may still run on SageMaker)
THROTTLING_CODES = ("ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded")

JOB_NAME_RE = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$")
JOB_NAME_MAX = 63


class SageMakerError(ValueError):
    """Bad SageMaker settings, or a SageMaker / S3 call that failed; the message says which."""


@dataclass
class SageMakerSettings:
    image_uri: str  # the runner image in ECR, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/artemis:0.1.0
    role_arn: str  # the execution role SageMaker runs the job with (reads inputs, writes outputs, logs)
    s3_prefix: str  # s3://bucket/prefix: inputs, runs and CV folds go under it
    instance_type: str = "ml.m5.xlarge"
    instance_count: int = 1
    volume_size_gb: int = 30
    max_runtime_s: int = 14400
    max_concurrent: int = 6  # jobs not yet ended at any time
    region: str | None = None  # default: boto3's (AWS_DEFAULT_REGION, config file), else us-east-1
    endpoint_url: str | None = None  # SageMaker API; default: AWS_ENDPOINT_URL_SAGEMAKER or AWS_ENDPOINT_URL
    tags: dict[str, str] = field(default_factory=dict)
    poll_seconds: float = 15.0
    max_attempts: int = 8  # botocore's attempts per API call (standard retry mode), first try included

    REQUIRED = ("image_uri", "role_arn", "s3_prefix")

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        def bad(name: str, why: str) -> SageMakerError:
            return SageMakerError(f"SageMaker settings: field '{name}' {why}, got {getattr(self, name)!r}")

        for name in self.REQUIRED:
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise bad(name, "must be a non-empty string")
        parsed = urlparse(self.s3_prefix)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise bad("s3_prefix", "must be an S3 URI like s3://bucket/prefix")
        self.s3_prefix = self.s3_prefix.rstrip("/")
        if not self.role_arn.startswith("arn:"):
            raise bad("role_arn", "must be an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
        if not isinstance(self.instance_type, str) or not self.instance_type.startswith("ml."):
            raise bad("instance_type", "must be a SageMaker instance type like ml.m5.xlarge")
        for name, low in (("instance_count", 1), ("volume_size_gb", 1), ("max_runtime_s", 1), ("max_concurrent", 1),
                          ("max_attempts", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise bad(name, f"must be a whole number ≥ {low}")
        if isinstance(self.poll_seconds, bool) or not isinstance(self.poll_seconds, (int, float)) or self.poll_seconds <= 0:
            raise bad("poll_seconds", "must be a number of seconds > 0")
        for name in ("region", "endpoint_url"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise bad(name, "must be a non-empty string or null")
        if not isinstance(self.tags, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                      for k, v in self.tags.items()):
            raise bad("tags", "must be a mapping of strings to strings")
        reserved = sorted(k for k in self.tags if k.startswith("aws:"))
        if reserved:
            raise bad("tags", f"may not use the reserved prefix 'aws:' ({reserved[0]})")

    @classmethod
    def from_dict(cls, values: dict | None) -> "SageMakerSettings":
        values = dict(values or {})
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise SageMakerError(f"SageMaker settings: unknown field '{unknown[0]}' (known: {', '.join(known)})")
        missing = [k for k in cls.REQUIRED if values.get(k) in (None, "")]
        if missing:
            raise SageMakerError(f"SageMaker settings: missing field '{missing[0]}'")
        try:
            return cls(**values)
        except TypeError as e:  # pragma: no cover - every field is known and the required ones are there
            raise SageMakerError(f"SageMaker settings: {e}") from None

    def to_dict(self) -> dict:
        return asdict(self)

    def resolved_region(self) -> str:
        if self.region:
            return self.region
        try:
            import boto3

            region = boto3.session.Session().region_name
        except Exception:  # noqa: BLE001 - an unreadable AWS config file: use the fallbacks below
            region = None
        return region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def check_job_name(name: str) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= JOB_NAME_MAX or not JOB_NAME_RE.match(name):
        raise SageMakerError(
            f"SageMaker job name {name!r} is not valid: 1-{JOB_NAME_MAX} letters, digits and hyphens, "
            f"starting and ending with a letter or digit"
        )
    return name


def make_job_name(base: str, suffix: str = "") -> str:
    """A valid job name from ``base`` (any text) and ``suffix``: other characters become hyphens, and a
    base too long is cut and given a hash of its full text (so different bases stay different)."""
    clean = lambda s: re.sub(r"[^a-zA-Z0-9-]+", "-", s).strip("-")  # noqa: E731
    raw, base, suffix = base, clean(base) or "artemis", clean(suffix)
    room = JOB_NAME_MAX - (len(suffix) + 1 if suffix else 0)
    if len(base) > room:
        digest = hashlib.sha1(raw.encode()).hexdigest()[:8]
        base = base[:room - len(digest) - 1].rstrip("-") + "-" + digest
    return check_job_name(f"{base}-{suffix}" if suffix else base)


def split_s3(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise SageMakerError(f"not an S3 URI: {uri!r} (expected s3://bucket/prefix)")
    return parsed.netloc, parsed.path.lstrip("/")


def log_location(job_name: str, region: str) -> str:
    """Where a job's container output is: CloudWatch log group, stream prefix, console link."""
    # the console's fragment encoding: the group's '/' twice percent-encoded, the filter once, '%' as '$'
    group = quote(quote(LOG_GROUP, safe=""), safe="").replace("%", "$")
    flt = quote(f"?logStreamNameFilter={job_name}", safe="").replace("%", "$")
    url = (f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
           f"#logsV2:log-groups/log-group/{group}{flt}")
    return f"CloudWatch log group {LOG_GROUP}, streams {job_name}/* ({url})"


class SageMakerRunner:
    """Submit, watch and stop SageMaker Processing jobs running ``jobs.entrypoint``.

    ``throttle_retries`` / ``retry_delay_s``: after botocore's own retries give up on throttling, try
    that many more times, waiting ``retry_delay_s`` × 2^k (at most a minute) between tries.
    """

    def __init__(self, settings: SageMakerSettings | dict, sagemaker_client=None, s3_client=None,
                 throttle_retries: int = 4, retry_delay_s: float = 2.0):
        self.settings = settings if isinstance(settings, SageMakerSettings) else SageMakerSettings.from_dict(settings)
        self.region = self.settings.resolved_region()
        self.throttle_retries = throttle_retries
        self.retry_delay_s = retry_delay_s
        self._sm = sagemaker_client
        self._s3 = s3_client

    # --- clients ------------------------------------------------------------------------------

    def _config(self):
        from botocore.config import Config

        # total_max_attempts counts the first try ("max_attempts" there would be retries on top of it)
        return Config(retries={"mode": "standard", "total_max_attempts": self.settings.max_attempts},
                      connect_timeout=10, read_timeout=60)

    @property
    def sagemaker(self):
        if self._sm is None:
            import boto3

            endpoint = (self.settings.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_SAGEMAKER")
                        or os.environ.get("AWS_ENDPOINT_URL"))
            self._sm = boto3.client("sagemaker", region_name=self.region, endpoint_url=endpoint, config=self._config())
        return self._sm

    @property
    def s3(self):
        if self._s3 is None:
            import boto3

            endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            self._s3 = boto3.client("s3", region_name=self.region, endpoint_url=endpoint, config=self._config())
        return self._s3

    def _call(self, what: str, fn, **kwargs):
        """``fn(**kwargs)``, retrying throttling with backoff; other errors become ``SageMakerError``."""
        from botocore.exceptions import BotoCoreError, ClientError

        for attempt in range(self.throttle_retries + 1):
            try:
                return fn(**kwargs)
            except ClientError as e:
                code = e.response.get("Error", {}).get("Code", "")
                message = e.response.get("Error", {}).get("Message", "") or str(e)
                if code not in THROTTLING_CODES:
                    raise SageMakerError(f"{what} failed: {code or 'error'}: {message}") from None
                if attempt == self.throttle_retries:
                    raise SageMakerError(
                        f"{what} was throttled by AWS ({code}: {message}) on every try, "
                        f"{self.throttle_retries + 1} round(s) of up to {self.settings.max_attempts} attempts with "
                        f"backoff; lower max_concurrent, raise poll_seconds or ask AWS for a higher API rate limit"
                    ) from None
            except BotoCoreError as e:
                raise SageMakerError(f"{what} failed: {e}") from None
            time.sleep(min(self.retry_delay_s * 2 ** attempt, 60.0))
        raise AssertionError("unreachable")  # pragma: no cover

    # --- inputs -------------------------------------------------------------------------------

    def stage_dataset(self, dataset: str, key: str) -> str:
        """The dataset's S3 URI: an ``s3://`` dataset as it is (as a folder), a local folder uploaded to
        ``{s3_prefix}/inputs/{key}/data/`` (its files, relative paths kept)."""
        dataset = str(dataset)
        if dataset.startswith("s3://"):
            split_s3(dataset)
            return dataset.rstrip("/") + "/"
        folder = Path(dataset).expanduser()
        if not folder.is_dir():
            raise SageMakerError(f"dataset {dataset} is not a folder (a local dataset folder or s3://bucket/prefix/)")
        uri = f"{self.settings.s3_prefix}/inputs/{key}/data/"
        bucket, prefix = split_s3(uri)
        files = sorted(p for p in folder.rglob("*") if p.is_file())
        if not files:
            raise SageMakerError(f"dataset folder {folder} holds no files")
        for path in files:
            rel = path.relative_to(folder).as_posix()
            self._call(f"uploading {path} to {uri}{rel}", self.s3.upload_file,
                       Filename=str(path), Bucket=bucket, Key=prefix + rel)
        return uri

    # --- one job ------------------------------------------------------------------------------

    def submit(self, spec: JobSpec, job_name: str, dataset_s3: str, output_s3: str) -> str:
        """Upload the spec and create the processing job; returns the job name."""
        check_job_name(job_name)
        split_s3(dataset_s3)
        split_s3(output_s3)
        s = self.settings
        spec_uri = f"{s.s3_prefix}/inputs/{job_name}/spec.json"
        bucket, key = split_s3(spec_uri)
        self._call(f"uploading the job spec to {spec_uri}", self.s3.put_object,
                   Bucket=bucket, Key=key, Body=spec.to_json().encode(), ContentType="application/json")
        tags = {**s.tags, "artemis:kind": spec.kind, "artemis:job": job_name}
        request = {
            "ProcessingJobName": job_name,
            "ProcessingInputs": [
                {"InputName": "data", "S3Input": {
                    "S3Uri": dataset_s3.rstrip("/") + "/", "LocalPath": DATA_PATH, "S3DataType": "S3Prefix",
                    "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}},
                # the object's URI as the prefix: exactly that file, as input/spec/spec.json
                {"InputName": "spec", "S3Input": {
                    "S3Uri": spec_uri, "LocalPath": SPEC_PATH, "S3DataType": "S3Prefix",
                    "S3InputMode": "File", "S3DataDistributionType": "FullyReplicated"}},
            ],
            "ProcessingOutputConfig": {"Outputs": [
                {"OutputName": "output", "S3Output": {
                    "S3Uri": output_s3.rstrip("/"), "LocalPath": OUTPUT_PATH, "S3UploadMode": "EndOfJob"}},
            ]},
            "ProcessingResources": {"ClusterConfig": {
                "InstanceCount": s.instance_count, "InstanceType": s.instance_type, "VolumeSizeInGB": s.volume_size_gb}},
            "StoppingCondition": {"MaxRuntimeInSeconds": s.max_runtime_s},
            "AppSpecification": {"ImageUri": s.image_uri, "ContainerEntrypoint": list(ENTRYPOINT)},
            "RoleArn": s.role_arn,
            "Tags": [{"Key": k, "Value": v} for k, v in tags.items()],
        }
        self._call(f"CreateProcessingJob ({job_name})", self.sagemaker.create_processing_job, **request)
        return job_name

    def describe(self, job_name: str) -> dict:
        """``status``, ``failure_reason``, ``exit_message``, ``logs`` (where to read them), ``output_s3``."""
        d = self._call(f"DescribeProcessingJob ({job_name})", self.sagemaker.describe_processing_job,
                       ProcessingJobName=job_name)
        outputs = (d.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        return {
            "status": d.get("ProcessingJobStatus", UNKNOWN),
            "failure_reason": d.get("FailureReason"),
            "exit_message": d.get("ExitMessage"),
            "logs": log_location(job_name, self.region),
            "output_s3": outputs[0]["S3Output"]["S3Uri"] if outputs and "S3Output" in outputs[0] else None,
        }

    def stop(self, job_name: str) -> str:
        """Ask SageMaker to stop the job; a job that has already ended is left as it is. Its status."""
        try:
            self._call(f"StopProcessingJob ({job_name})", self.sagemaker.stop_processing_job, ProcessingJobName=job_name)
        except SageMakerError:
            status = self.describe(job_name)["status"]  # raises if the job does not exist
            if status in TERMINAL or status == "Stopping":
                return status
            raise
        return self.describe(job_name)["status"]

    # --- many jobs ----------------------------------------------------------------------------

    def run_all(self, jobs: list[tuple[JobSpec, str, str, str]], on_update: OnUpdate | None = None,
                should_stop: Callable[[], bool] | None = None, max_describe_failures: int = 5) -> dict[str, dict]:
        """Run ``(spec, job_name, dataset_s3, output_s3)`` jobs, at most ``max_concurrent`` not yet ended at
        once, polling every ``poll_seconds``; ``on_update(name, description)`` on every status change.

        When ``should_stop()`` turns true (or on Ctrl-C / an error here) the jobs in flight are stopped and
        no more are submitted. Returns each job's last description; a job never submitted has status
        ``NotStarted``, one that could not be submitted ``Failed`` (the reason says why), one that could
        no longer be described ``Unknown``.
        """
        names = [j[1] for j in jobs]
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise SageMakerError(f"job name {dup!r} is used twice")
        for n in names:
            check_job_name(n)
        results = {n: {"status": NOT_STARTED, "failure_reason": None, "exit_message": None,
                       "logs": log_location(n, self.region), "output_s3": j[3]} for n, j in zip(names, jobs)}
        pending = deque(jobs)
        in_flight: dict[str, int] = {}  # job name -> consecutive describe failures
        stopping = False

        def update(name: str, desc: dict) -> None:
            changed = desc["status"] != results[name]["status"]
            results[name] = desc
            if changed and on_update is not None:
                on_update(name, desc)

        def stop_all(reason: str) -> None:
            for name in list(in_flight):
                try:
                    self.stop(name)
                except SageMakerError as e:
                    update(name, {**results[name], "status": UNKNOWN,
                                  "failure_reason": f"{reason}, but stopping it failed: {e}"})
                    in_flight.pop(name)

        try:
            while pending or in_flight:
                if not stopping and should_stop is not None and should_stop():
                    stopping = True
                    pending.clear()
                    stop_all("asked to stop")
                while not stopping and pending and len(in_flight) < self.settings.max_concurrent:
                    spec, name, dataset_s3, output_s3 = pending.popleft()
                    try:
                        self.submit(spec, name, dataset_s3, output_s3)
                    except SageMakerError as e:
                        update(name, {**results[name], "status": "Failed", "failure_reason": f"not submitted: {e}"})
                        continue
                    in_flight[name] = 0
                ended = False
                for name in list(in_flight):
                    try:
                        desc = self.describe(name)
                    except SageMakerError as e:
                        in_flight[name] += 1
                        if in_flight[name] >= max_describe_failures:
                            in_flight.pop(name)
                            update(name, {**results[name], "status": UNKNOWN, "failure_reason":
                                          f"lost track of the job (it may still run on SageMaker): {e}"})
                            ended = True
                        continue
                    in_flight[name] = 0
                    update(name, desc)
                    if desc["status"] in TERMINAL:
                        in_flight.pop(name)
                        ended = True
                if not (pending or in_flight) or (ended and pending and not stopping):
                    continue  # done, or a free slot to fill at once
                self._wait(self.settings.poll_seconds, None if stopping else should_stop)
        except BaseException:
            stop_all("interrupted")
            raise
        return results

    @staticmethod
    def _wait(seconds: float, should_stop: Callable[[], bool] | None) -> None:
        """Sleep ``seconds``, waking early when ``should_stop()`` turns true."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            if should_stop is not None and should_stop():
                return
            time.sleep(min(left, 0.5))

    # --- S3 outputs -----------------------------------------------------------------------------

    def list_files(self, uri: str) -> dict[str, int]:
        """Files under the S3 folder ``uri``: relative path -> size."""
        bucket, prefix = split_s3(uri.rstrip("/") + "/")
        out = {}
        pages = self._call(f"listing {uri}", lambda: list(
            self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)))
        for page in pages:
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(prefix):]
                if rel and not rel.endswith("/"):
                    out[rel] = int(obj["Size"])
        return out

    def download_folder(self, uri: str, dest: Path, files: list[str]) -> Path:
        """Download ``files`` (relative to the S3 folder ``uri``) into ``dest``, complete or not at all."""
        from jobs.run_folder import staged_folder

        dest = Path(dest)
        bucket, prefix = split_s3(uri.rstrip("/") + "/")
        with staged_folder(dest) as tmp:
            for rel in files:
                target = tmp / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                self._call(f"downloading {uri.rstrip('/')}/{rel}", self.s3.download_file,
                           Bucket=bucket, Key=prefix + rel, Filename=str(target))
        return dest


FOLD_FILES = ("metrics.json", "predictions.parquet")


def fold_job_name(cv_id: str, fold_number: int) -> str:
    """``artemis-{cv_id}-fNN``: unique across CVs (the CV id is), at most 63 characters."""
    return make_job_name(f"artemis-{cv_id}", f"f{fold_number:02d}")


def run_folds_on_sagemaker(dataset: str, cfg, folds, cv_dir: Path, settings: dict, say: Say = print,
                           progress: Progress | None = None, sagemaker_client=None, s3_client=None,
                           should_stop: Callable[[], bool] | None = None) -> dict[int, str]:
    """Fit each fold as a SageMaker Processing job and download the folds into ``cv_dir/fold-NN/``.

    Returns ``{fold number: error}`` for the folds that failed, were stopped or never started, or left
    no complete output at ``{s3_prefix}/cv/{cv_id}/fold-NN/``.
    """
    from jobs.cv_fold import fold_dir_name

    cv_dir = Path(cv_dir)
    s = settings if isinstance(settings, SageMakerSettings) else SageMakerSettings.from_dict(settings)
    runner = SageMakerRunner(s, sagemaker_client=sagemaker_client, s3_client=s3_client)
    cv_id = cv_dir.name
    if not str(dataset).startswith("s3://"):
        say(f"staging {dataset} to {s.s3_prefix}/inputs/{cv_id}/data/")
    dataset_s3 = runner.stage_dataset(str(dataset), cv_id)
    out = f"{s.s3_prefix}/cv/{cv_id}"
    jobs, number = [], {}
    for fold in folds:
        name = fold_job_name(cv_id, fold.index + 1)
        spec = JobSpec(kind="fold", dataset=str(dataset), out=out, config=cfg.to_dict(), fold=fold.to_dict(),
                       name=name, log_to_mlflow=False)
        jobs.append((spec, name, dataset_s3, out))
        number[name] = fold.index + 1
    say(f"{len(jobs)} SageMaker Processing jobs ({s.instance_type}), at most {s.max_concurrent} at once; "
        f"folds go to {out}/")
    ended: set[str] = set()
    seen: set[str] = set()

    def on_update(name: str, desc: dict) -> None:
        status = desc["status"]
        reason = desc.get("failure_reason") or desc.get("exit_message")
        say(f"fold {number[name]} ({name}): {status}" + (f": {reason}" if reason and status != "Completed" else ""))
        if name not in seen:
            seen.add(name)
            say(f"fold {number[name]} logs: {desc['logs']}")
        if status in TERMINAL + (UNKNOWN,) and name not in ended:
            ended.add(name)
            if progress is not None:
                progress(len(ended) / len(jobs))

    results = runner.run_all(jobs, on_update=on_update, should_stop=should_stop)
    errors: dict[int, str] = {}
    for fold in folds:
        name = fold_job_name(cv_id, fold.index + 1)
        desc = results[name]
        n = fold.index + 1
        status = desc["status"]
        if status != "Completed":
            if status == NOT_STARTED:
                errors[n] = f"SageMaker job {name} was never started (the CV was stopped)"
            else:
                reason = desc.get("failure_reason") or desc.get("exit_message") or "no reason given"
                errors[n] = f"SageMaker job {name} {status.lower()}: {reason}; logs: {desc['logs']}"
            continue
        uri = f"{out}/{fold_dir_name(fold)}/"
        try:
            files = runner.list_files(uri)
            missing = [f for f in FOLD_FILES if f not in files]
            if missing:
                errors[n] = (f"SageMaker job {name} completed but left no complete fold at {uri} "
                             f"(missing {', '.join(missing)}); logs: {desc['logs']}")
                continue
            runner.download_folder(uri, cv_dir / fold_dir_name(fold), sorted(files))
        except SageMakerError as e:
            errors[n] = f"could not download fold {n} from {uri}: {e}"
    return errors
