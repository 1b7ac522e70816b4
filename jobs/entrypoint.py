"""The runner image's entrypoint (``python -m jobs.entrypoint``): run one job with SageMaker
Processing's layout.

    /opt/ml/processing/input/spec/spec.json   the JobSpec (kind ``train`` or ``fold``)
    /opt/ml/processing/input/data/            the dataset folder
    /opt/ml/processing/output/                what SageMaker uploads to the job's output S3 URI:
                                              the run folder ``{run_id}/`` or the fold ``fold-NN/``

``ARTEMIS_PROCESSING_ROOT`` replaces ``/opt/ml/processing`` (to run it outside a container).
Progress goes to stdout (CloudWatch) as ``progress NN%`` lines. Exit status: 0 done, 2 bad input
(spec, dataset, folds), 1 anything else.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

DEFAULT_ROOT = "/opt/ml/processing"


def paths(root: str | Path | None = None) -> dict[str, Path]:
    root = Path(root or os.environ.get("ARTEMIS_PROCESSING_ROOT") or DEFAULT_ROOT)
    return {"spec": root / "input" / "spec" / "spec.json", "data": root / "input" / "data", "output": root / "output"}


def main(argv: list[str] | None = None) -> int:
    from jobs.config import ConfigError
    from jobs.dataset import DatasetError
    from jobs.folds import FoldError
    from jobs.job_spec import JobSpec, SpecError, execute
    from jobs.train import TrainingError

    p = paths()

    def say(msg: str) -> None:
        print(msg, flush=True)

    last = [-1.0, 0.0]

    def progress(frac: float) -> None:
        pct = int(frac * 100)
        now = time.monotonic()
        if pct != last[0] and (now - last[1] > 5 or pct == 100):
            last[0], last[1] = pct, now
            say(f"progress {pct}%")

    try:
        spec = JobSpec.read(p["spec"])
        if spec.kind == "cv":
            raise SpecError(f"{p['spec']}: kind 'cv' runs outside the container (it launches a job per fold)")
        if not p["data"].is_dir():
            raise SpecError(f"no dataset at {p['data']} (the job's 'data' input)")
        p["output"].mkdir(parents=True, exist_ok=True)
        say(f"artemis {spec.kind} job {spec.name or ''}: dataset {spec.dataset} -> {spec.out}")
        result = execute(spec, progress=progress, say=say, dataset=str(p["data"]), out=str(p["output"]))
    except (SpecError, ConfigError, DatasetError, FoldError, TrainingError) as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 2
    say(f"done: {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
