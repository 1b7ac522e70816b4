"""A job's worker process (``python -m jobs.local_worker JOB_DIR``), started by ``LocalRunner.submit``.

It waits for the cores the job needs, runs it (here, or on SageMaker while it watches), and keeps
``status.json`` up to date: progress at most twice a second, then the result or the error. SIGTERM
(cancel) stops the work, and a SageMaker job with it, and leaves status ``cancelled``.
"""

from __future__ import annotations

import fcntl
import json
import signal
import sys
import time
import traceback
from contextlib import ExitStack
from pathlib import Path

from jobs.job_spec import JobSpec, execute
from jobs.local_runner import utc_now, write_status


class Cancelled(BaseException):
    """SIGTERM: the user cancelled the job."""


def acquire_cores(slots_dir: Path, need: int, total: int, stack: ExitStack, on_wait=None, poll_s: float = 0.5) -> list[int]:
    """Hold ``need`` of the ``total`` core lock files until ``stack`` closes (or the process ends)."""
    if need <= 0:
        return []
    need = min(need, total)
    slots_dir.mkdir(parents=True, exist_ok=True)
    waited = False
    while True:
        with open(slots_dir / ".mutex", "a+") as mutex:
            fcntl.flock(mutex, fcntl.LOCK_EX)
            got: list[tuple[int, object]] = []
            for i in range(total):
                f = open(slots_dir / f"core-{i}", "a+")
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    f.close()
                    continue
                got.append((i, f))
                if len(got) == need:
                    break
            if len(got) == need:
                for _, f in got:
                    stack.callback(f.close)
                return [i for i, _ in got]
            for _, f in got:
                f.close()
        if not waited and on_wait is not None:
            on_wait()
            waited = True
        time.sleep(poll_s)


def main(job_dir: str) -> int:
    job_dir = Path(job_dir)
    job = json.loads((job_dir / "job.json").read_text())
    spec = JobSpec.from_json(json.dumps(job["spec"]), str(job_dir / "job.json"))

    def on_term(signum, frame):
        raise Cancelled()

    signal.signal(signal.SIGTERM, on_term)
    last = [0.0]

    def progress(frac: float) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.5 or frac >= 1.0:
            last[0] = now
            write_status(job_dir, progress=round(min(max(frac, 0.0), 1.0), 4))

    remote = job["backend"] == "sagemaker" or (spec.cv or {}).get("backend") == "sagemaker"

    def say(msg: str) -> None:
        print(msg, flush=True)
        if remote:  # the SageMaker jobs' status changes: shown in the job list
            write_status(job_dir, message=msg.splitlines()[0][:200])

    try:
        with ExitStack() as stack:
            need, total = int(job.get("cores", 0)), int(job.get("total_cores", 1))
            cores = acquire_cores(job_dir.parent / ".slots", need, total, stack,
                                  on_wait=lambda: write_status(job_dir, message=f"waiting for {need} free core(s)"))
            _use_cores(spec, len(cores))
            write_status(job_dir, status="running", started_at=utc_now(), message=None)
            print(f"{utc_now()} {spec.kind} job started on {len(cores)} core(s)"
                  + (f" ({job['backend']})" if job["backend"] != "local" else ""), flush=True)
            if job["backend"] == "sagemaker":
                from jobs.sagemaker_train import train_on_sagemaker

                result = train_on_sagemaker(spec, job.get("sagemaker") or {}, job_id=job_dir.name,
                                            say=say, progress=progress)
            else:
                result = execute(spec, progress=progress, say=say)
    except Cancelled:
        write_status(job_dir, status="cancelled", finished_at=utc_now(), message="cancelled")
        print(f"{utc_now()} cancelled", flush=True)
        return 143
    except Exception as e:  # noqa: BLE001 - the job failed; say why in its status and log
        traceback.print_exc()
        write_status(job_dir, status="failed", finished_at=utc_now(), error=f"{type(e).__name__}: {e}"
                     if not isinstance(e, ValueError) else str(e))
        return 1
    failed = result.get("status") == "failed"
    write_status(job_dir, status="failed" if failed else "succeeded", progress=1.0, finished_at=utc_now(),
                 result=result, error=result.get("error") if failed else None)
    print(f"{utc_now()} {'failed' if failed else 'done'}: {result}", flush=True)
    return 1 if failed else 0


def _use_cores(spec: JobSpec, cores: int) -> None:
    """Tell the job how many cores it holds: the sampler's threads, or the CV's core limit."""
    if cores <= 0:
        return
    if spec.kind == "cv" and spec.cv is not None:
        spec.cv["cores"] = cores
    else:
        spec.config.setdefault("sampler", {})["cores"] = cores


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python -m jobs.local_worker JOB_DIR", file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
