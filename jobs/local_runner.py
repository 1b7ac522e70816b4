"""The job registry and the local runner: every job launched from this machine (computed here or on
SageMaker) is a worker process with a folder of its own, so a page reload, a second session or a
restarted server sees the same jobs.

    {jobs_root}/{job_id}/job.json     what to do: the JobSpec, the backend, the cores it needs
    {jobs_root}/{job_id}/status.json  queued | running | succeeded | failed | cancelled, progress 0..1,
                                      times, the result (run folder, CV folder) or the error
    {jobs_root}/{job_id}/log.txt      the worker's output

Local compute is limited to the machine's cores: a worker holds one lock file per core it uses
(``{jobs_root}/.slots/``) while it runs, and waits, queued, until enough are free. The OS releases
the locks when the process ends, however it ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from jobs.job_spec import JobSpec
from jobs.paths import default_jobs_root
from jobs.run_folder import json_safe, write_json

BACKENDS = ("local", "sagemaker")
FINAL = ("succeeded", "failed", "cancelled")
CANCEL_GRACE_S = 10.0


def machine_cores() -> int:
    """Cores local jobs may use together: ``$ARTEMIS_LOCAL_CORES``, else the machine's."""
    env = os.environ.get("ARTEMIS_LOCAL_CORES")
    if env and env.strip().isdigit() and int(env) > 0:
        return int(env)
    return os.cpu_count() or 1


def cores_needed(spec: JobSpec, backend: str, total: int) -> int:
    """Cores a job's worker holds: a local fit's chains, a local CV's folds at once; none to watch SageMaker."""
    if backend == "sagemaker" or (spec.kind == "cv" and (spec.cv or {}).get("backend") == "sagemaker"):
        return 0
    chains = int(spec.config.get("sampler", {}).get("chains", 2))
    if spec.kind == "cv":
        cv = spec.cv or {}
        want = cv.get("cores") or min(int(cv.get("folds", 1)), total)
        return max(1, min(int(want), total))
    return max(1, min(chains, total))


@dataclass
class JobRecord:
    job_id: str
    kind: str
    name: str
    backend: str
    status: str
    progress: float
    created_at: str
    dir: Path
    started_at: str | None = None
    finished_at: str | None = None
    result: dict = field(default_factory=dict)
    error: str | None = None
    message: str | None = None  # e.g. "waiting for 2 cores", "SageMaker: InProgress"
    pid: int | None = None
    cores: int = 0
    spec: dict = field(default_factory=dict)
    user: str | None = None  # who launched it (the signed-in user of a hosted app; None from a terminal)

    @property
    def final(self) -> bool:
        return self.status in FINAL

    @property
    def elapsed_s(self) -> float:
        """Seconds since it started (until it ended); 0 while queued."""
        if not self.started_at:
            return 0.0
        end = _parse(self.finished_at) if self.finished_at else datetime.now(timezone.utc)
        return max((end - _parse(self.started_at)).total_seconds(), 0.0)


def _parse(ts: str) -> datetime:
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def read_status(job_dir: Path) -> dict:
    try:
        return json.loads((job_dir / "status.json").read_text())
    except (OSError, ValueError):
        return {}


def write_status(job_dir: Path, **changes) -> dict:
    """Merge ``changes`` into the job's status.json (atomically replaced)."""
    status = read_status(job_dir)
    status.update(changes)
    write_json(job_dir / "status.json", json_safe(status))
    return status


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks (Linux), to tell it from a later process with the same pid."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int | None, start: str | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if start is not None and _process_start(pid) not in (None, start):
        return False
    try:  # a zombie (our own child, not yet reaped) has ended
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


class LocalRunner:
    """Launch, list and cancel jobs; each is a detached worker process (``python -m jobs.local_worker``)."""

    def __init__(self, root: str | Path | None = None, cores: int | None = None):
        self.root = Path(root or default_jobs_root()).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self.cores = cores or machine_cores()
        self._children: list[subprocess.Popen] = []  # workers started here, until they are reaped

    def submit(self, spec: JobSpec, backend: str = "local", sagemaker: dict | None = None,
               user: str | None = None) -> JobRecord:
        """Write the job's folder and start its worker; it waits, queued, for free cores."""
        spec.check()
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if backend == "sagemaker" and spec.kind != "train":
            raise ValueError("a SageMaker job trains one run; cross-validation on SageMaker is a 'cv' job "
                             "with its folds' backend set to 'sagemaker'")
        if backend == "sagemaker" or (spec.cv or {}).get("backend") == "sagemaker":
            from jobs.sagemaker_runner import SageMakerSettings

            SageMakerSettings.from_dict(sagemaker or (spec.cv or {}).get("sagemaker") or {})
        job_id = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}-{spec.kind}-{uuid.uuid4().hex[:6]}"
        job_dir = self.root / job_id
        job_dir.mkdir(parents=True)
        cores = cores_needed(spec, backend, self.cores)
        job = {"job_id": job_id, "backend": backend, "spec": json.loads(spec.to_json()), "cores": cores,
               "total_cores": self.cores, "created_at": utc_now(), "sagemaker": sagemaker or {}, "user": user}
        write_json(job_dir / "job.json", json_safe(job))
        write_status(job_dir, status="queued", progress=0.0, message=None)
        log = (job_dir / "log.txt").open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("MPLBACKEND", None)
        proc = subprocess.Popen([sys.executable, "-m", "jobs.local_worker", str(job_dir)], stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                                env=env, cwd=str(Path(__file__).resolve().parents[1]))
        log.close()
        write_status(job_dir, pid=proc.pid, pid_start=_process_start(proc.pid))
        self._children.append(proc)  # reaped by _reap
        return self.get(job_id)

    def get(self, job_id: str) -> JobRecord:
        job_dir = self.root / job_id
        try:
            job = json.loads((job_dir / "job.json").read_text())
        except (OSError, ValueError):
            raise KeyError(f"no job {job_id!r} in {self.root}") from None
        st = read_status(job_dir)
        if st.get("status") not in FINAL and st.get("pid") and not _alive(st.get("pid"), st.get("pid_start")):
            st = read_status(job_dir)  # it may have written its end just now
            if st.get("status") not in FINAL:
                st = write_status(job_dir, status="failed", finished_at=utc_now(),
                                  error=f"the worker process ended unexpectedly; see {job_dir / 'log.txt'}")
        spec = job.get("spec", {})
        return JobRecord(
            job_id=job_id, kind=spec.get("kind", "?"), name=spec.get("name") or spec.get("kind", ""),
            backend=job.get("backend", "local"), status=st.get("status", "queued"),
            progress=float(st.get("progress") or 0.0), created_at=job.get("created_at", ""), dir=job_dir,
            started_at=st.get("started_at"), finished_at=st.get("finished_at"), result=st.get("result") or {},
            error=st.get("error"), message=st.get("message"), pid=st.get("pid"), cores=job.get("cores", 0),
            spec=spec, user=job.get("user"),
        )

    def list(self, limit: int | None = 50) -> list[JobRecord]:
        """The jobs, newest first."""
        self._reap()
        out = []
        for d in sorted((p for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True):
            try:
                out.append(self.get(d.name))
            except KeyError:
                continue
            if limit and len(out) >= limit:
                break
        return out

    def cancel(self, job_id: str) -> JobRecord:
        """Stop the job: SIGTERM to its worker's process group (a SageMaker job is stopped there), then
        SIGKILL if it lingers; status ``cancelled``. A job that has ended is left as it is."""
        job = self.get(job_id)
        if job.final:
            return job
        pid = job.pid
        if pid and _alive(pid, read_status(job.dir).get("pid_start")):
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + CANCEL_GRACE_S
            while time.monotonic() < deadline and _alive(pid, None):
                time.sleep(0.1)
            if _alive(pid, None):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            for p in self._children:
                if p.pid == pid:
                    try:
                        p.wait(timeout=5)
                    except subprocess.TimeoutExpired:
                        pass
            self._reap()
        if read_status(job.dir).get("status") not in FINAL:
            write_status(job.dir, status="cancelled", finished_at=utc_now(), message="cancelled")
        return self.get(job_id)

    def _reap(self) -> None:
        """Collect the exit status of workers this process started (no zombies left behind)."""
        self._children = [p for p in self._children if p.poll() is None]

    def log_tail(self, job_id: str, lines: int = 20, max_bytes: int = 64_000) -> str:
        """The last ``lines`` lines of the job's output (terminal progress redraws collapsed)."""
        path = self.root / job_id / "log.txt"
        try:
            with path.open("rb") as f:
                f.seek(0, os.SEEK_END)
                size = f.tell()
                f.seek(max(size - max_bytes, 0))
                text = f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""
        rows = [r.rsplit("\r", 1)[-1] for r in text.splitlines()]
        return "\n".join(rows[-lines:])
